"""KQL: the Data Explorer database scripts in infra/kql and the tables the Bicep ingests into."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .bicep import BicepFile, walk
from .report import Report, table

KQL_SCRIPT_VERBS = (".create-or-alter", ".create-merge", ".create", ".alter-merge", ".alter", ".add")


def kql_string(text: str) -> tuple[str, str]:
    """Decode a leading single-quoted KQL string literal; return (value, rest)."""
    if not text.startswith("'"):
        raise ValueError("expected a single-quoted string")
    value, index = [], 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            value.append({"n": "\n", "t": "\t"}.get(text[index + 1], text[index + 1]))
            index += 2
        elif char == "'":
            return "".join(value), text[index + 1 :]
        else:
            value.append(char)
            index += 1
    raise ValueError("unterminated string")


def parse_kql(path: Path, report: Report) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    tables: dict[str, list[str]] = {}
    mappings: dict[tuple[str, str], list[str]] = {}
    name = path.name
    for number, command in enumerate(path.read_text().split("\n\n"), start=1):
        command = command.strip()
        if not command:
            continue
        if "\n" in command:
            report.error(f"{name}: command {number} spans several lines; keep one command per line")
        if not command.startswith(KQL_SCRIPT_VERBS):
            report.error(
                f"{name}: command {number} does not start with a database-script verb: {command[:40]}"
            )
            continue
        created = re.match(r"\.create(?:-merge|-or-alter)?\s+table\s+(\w+)\s*\((.*)\)\s*$", command)
        mapped = re.match(r"\.create(?:-or-alter)?\s+table\s+(\w+)\s+ingestion\s+json\s+mapping\s+", command)
        if created:
            columns = [column.split(":")[0].strip() for column in created.group(2).split(",")]
            tables[created.group(1)] = [re.sub(r"^\['(.*)'\]$", r"\1", column) for column in columns]
        elif mapped:
            try:
                mapping_name, rest = kql_string(command[mapped.end() :])
                body, rest = kql_string(rest.strip())
                entries = json.loads(body)
                mappings[(mapped.group(1), mapping_name)] = [
                    entry.get("column") or entry.get("Column") for entry in entries
                ]
            except (ValueError, json.JSONDecodeError) as failure:
                report.error(f"{name}: command {number}: mapping is not a valid string of JSON: {failure}")
    return tables, mappings


def check_kql(root: Path, files: list[BicepFile], report: Report) -> None:
    report.section("KQL scripts (infra/kql) and the Data Explorer data connection")
    tables: dict[str, list[str]] = {}
    mappings: dict[tuple[str, str], list[str]] = {}
    kql_files = sorted((root / "infra/kql").glob("*.kql"))
    if not kql_files:
        report.note("no infra/kql/*.kql")
    for path in kql_files:
        more_tables, more_mappings = parse_kql(path, report)
        tables.update(more_tables)
        mappings.update(more_mappings)
    rows = []
    for (table_name, mapping), columns in sorted(mappings.items()):
        schema = tables.get(table_name)
        if schema is None:
            report.error(f"mapping {mapping} targets table {table_name}, which no script creates")
            continue
        for column in sorted(set(columns) - set(schema)):
            report.error(f"mapping {mapping} fills {column}, which table {table_name} lacks")
        for column in sorted(set(schema) - set(columns)):
            report.error(f"table {table_name} column {column} is not filled by mapping {mapping}")
        rows.append([table_name, mapping, str(len(schema)), str(len(columns))])
    if rows:
        table(rows, ["table", "mapping", "columns", "mapped"])
    for bicep in files:
        kinds = [resource.get("type") for resource in bicep.section("resources").values()]
        if "Microsoft.Kusto/clusters/databases/dataConnections" not in kinds:
            continue
        for node in walk(bicep.tree):
            if (
                isinstance(node, dict)
                and isinstance(node.get("table"), str)
                and isinstance(node.get("mapping"), str)
            ):
                pair = (node["table"], node["mapping"])
                if pair not in mappings:
                    report.error(
                        f"{bicep.path.name}: data connection target {pair[0]}/{pair[1]} is not in infra/kql"
                    )
                else:
                    report.note(f"{bicep.path.name}: data connection target {pair[0]}/{pair[1]} exists")
