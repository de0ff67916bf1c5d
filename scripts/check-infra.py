#!/usr/bin/env python3
"""Check infra/ against the code, without Azure and without the Bicep CLI.

What it checks (each section prints a table or a list; the run ends non-zero on any error):

1. Parse: every .bicep file under infra/ parses with two independent parsers, pycep-parser
   (a Lark grammar) and tree-sitter-bicep.
2. Wiring: every `module` points at an existing file, passes only parameters that file declares
   and every parameter it declares without a default; every `<module>.outputs.<name>` exists;
   every loadTextContent() file exists.
3. Hosting plans: infra/main.bicep is rendered (its expressions evaluated offline by
   infra_checks/render.py, module by module) once per value of `hostingPlan`, which must offer FC1
   (the default, also in main.parameters.json), EP1 and Y1. Each rendering deploys exactly one
   Function App on a plan of the matching sku and tier; plan and app names differ per plan. FC1:
   none of the app settings Flex Consumption refuses (FUNCTIONS_WORKER_RUNTIME,
   FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENT*, ...), a
   functionAppConfig with runtime custom 1.0, instance memory 512/2048/4096 MB, 40 to 1000
   instances, and a deployment storage URL built from a blob container deployed in that branch and
   reached by identity. EP1/Y1: FUNCTIONS_WORKER_RUNTIME=custom, FUNCTIONS_EXTENSION_VERSION=~4, no
   functionAppConfig. FC1 and EP1 use identity-based host storage, and identity-based host storage
   comes with Storage Blob Data Owner for the app.
4. Settings: the settings the code reads are
     - every string constant in src/config/names.rs,
     - every %NAME% in functions/*/function.json,
     - every "connection": "X" in functions/*/function.json.
   A connection X is satisfied by X or X__fullyQualifiedNamespace. Names ending in __clientId or
   __secondary are optional alternatives: required in local.settings.json.example only.
   FUNCTIONS_CUSTOMHANDLER_PORT is supplied by the host and must appear in neither.
   Each required setting must be in the Function App's appSettings (found in the parsed Bicep,
   not by text search) and in local.settings.json.example `Values`; neither may hold a setting
   nothing reads, apart from the platform's own and AzureWebJobs.<Function>.Disabled.
5. Settings per branch: the same requirement for each rendering: each plan, and each plan with
   every other bool or @allowed parameter of main.bicep set to each other value in turn. A function
   switched off in a branch (AzureWebJobs.<Function>.Disabled=true) needs no connection there; its
   %NAME% settings are still required, because the host resolves them when it indexes the function.
6. KQL: infra/kql/*.kql hold one command per line, blank-line separated, using only the verbs a
   Data Explorer database script accepts; every ingestion mapping is valid JSON and maps exactly
   the columns of its table; every (table, mapping) pair the Bicep names exists.
7. azure.yaml: the `bridge` service deploys the package scripts/package.sh builds, and every
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
    from infra_checks.branches import check_branches
    from infra_checks.hosting import check_hosting
    from infra_checks.kql import check_kql
    from infra_checks.report import Report
    from infra_checks.servicebus import check_service_bus
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
    check_hosting(root, report)
    code = check_settings(root, files, report)
    check_branches(root, code, report)
    check_service_bus(root, report)
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
