#!/usr/bin/env python3
"""Check infra/ against the code, without Azure and without the Bicep CLI.

What it checks (each section prints a table or a list; the run ends non-zero on any error):

1. Parse: every .bicep file under infra/ parses with two independent parsers, pycep-parser
   (a Lark grammar) and tree-sitter-bicep.
2. Wiring: every `module` points at an existing file, passes only parameters that file declares
   and every parameter it declares without a default; every `<module>.outputs.<name>` exists;
   every loadTextContent() file exists.
3. Settings: the settings the code reads are
     - every string constant in src/config/names.rs,
     - every %NAME% in functions/*/function.json,
     - every "connection": "X" in functions/*/function.json.
   A connection X is satisfied by X or X__fullyQualifiedNamespace. Names ending in __clientId or
   __secondary are optional alternatives: required in local.settings.json.example only.
   FUNCTIONS_CUSTOMHANDLER_PORT is supplied by the host and must appear in neither.
   Each required setting must be in the Function App's appSettings (found in the parsed Bicep,
   not by text search) and in local.settings.json.example `Values`; neither may hold a setting
   nothing reads, apart from the platform's own.
4. KQL: infra/kql/*.kql hold one command per line, blank-line separated, using only the verbs a
   Data Explorer database script accepts; every ingestion mapping is valid JSON and maps exactly
   the columns of its table; every (table, mapping) pair the Bicep names exists.
5. azure.yaml: the `bridge` service deploys the package scripts/package.sh builds, and every
   hook script exists and is executable.

The checks live in scripts/infra_checks/, one module per section.
Usage: scripts/check-infra.py [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from infra_checks.azd import check_azure_yaml
    from infra_checks.bicep import check_wiring, parse_bicep
    from infra_checks.kql import check_kql
    from infra_checks.report import Report
    from infra_checks.settings import check_settings
except ImportError as missing:  # pragma: no cover - exercised by hand
    sys.exit(f"check-infra: {missing}. Install: pip install -r scripts/requirements-ci.txt")


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: the parent of scripts/)",
    )
    root = arguments.parse_args().root.resolve()
    report = Report()
    files = parse_bicep(root, report)
    check_wiring(files, report)
    check_settings(root, files, report)
    check_kql(root, files, report)
    check_azure_yaml(root, report)
    print()
    if report.errors:
        print(f"check-infra: {len(report.errors)} problem(s)")
        return 1
    print("check-infra: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
