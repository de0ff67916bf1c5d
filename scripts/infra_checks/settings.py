"""App settings: what the code reads against the Function App's appSettings in the Bicep and the
Values of local.settings.json.example."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bicep import BicepFile, walk
from .report import Report, table

HOST_SUPPLIED = {"FUNCTIONS_CUSTOMHANDLER_PORT"}
OPTIONAL_SUFFIXES = ("__clientId", "__secondary")
IDENTITY_SUFFIX = "__fullyQualifiedNamespace"
# Suffixes the Functions host itself understands on a trigger's connection.
HOST_CONNECTION_SUFFIXES = (IDENTITY_SUFFIX, "__credential", "__clientId")
PLATFORM_SETTINGS = (
    "AzureWebJobsStorage*",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "WEBSITE_*",
    "AzureWebJobsFeatureFlags",
    "RUST_LOG",
)


@dataclass
class CodeSettings:
    names: dict[str, set[str]] = field(default_factory=dict)  # setting -> where it is read
    connections: set[str] = field(default_factory=set)
    # function folder -> the connections its bindings name
    functions: dict[str, set[str]] = field(default_factory=dict)

    def add(self, name: str, source: str) -> None:
        self.names.setdefault(name, set()).add(source)


def read_code_settings(root: Path, report: Report) -> CodeSettings:
    settings = CodeSettings()
    names_rs = root / "src/config/names.rs"
    if names_rs.is_file():
        for name in re.findall(
            r'^\s*pub\s+const\s+\w+\s*:\s*&(?:\'static\s+)?str\s*=\s*"([^"]+)"\s*;',
            names_rs.read_text(),
            re.MULTILINE,
        ):
            settings.add(name, "names.rs")
    else:
        report.error("src/config/names.rs not found")
    function_files = sorted((root / "functions").glob("*/function.json"))
    if not function_files:
        report.error("no functions/<Name>/function.json found")
    for path in function_files:
        source = f"{path.parent.name}/function.json"
        settings.functions[path.parent.name] = set()
        try:
            document = json.loads(path.read_text())
        except json.JSONDecodeError as failure:
            report.error(f"{source}: not JSON: {failure}")
            continue
        for node in walk(document):
            if isinstance(node, str):
                for name in re.findall(r"%([^%\s]+)%", node):
                    settings.add(name, source)
        for binding in document.get("bindings", []):
            connection = binding.get("connection")
            if isinstance(connection, str) and connection and "%" not in connection:
                settings.connections.add(connection)
                settings.functions[path.parent.name].add(connection)
                settings.add(connection, source)
    for name in list(settings.names):
        if name.endswith(IDENTITY_SUFFIX):
            settings.connections.add(name[: -len(IDENTITY_SUFFIX)])
    return settings


def literal_setting_names(
    bicep: BicepFile, value: Any, report: Report, seen: set[str] | None = None
) -> set[str]:
    """Names of the {name, value} objects in an appSettings expression, following variables."""
    seen = seen if seen is not None else set()
    variables = bicep.section("variables")
    # pycep renders a literal 'X' and a reference to a symbol X alike; a name that is also a
    # variable or parameter is taken to be a reference.
    symbols = set(variables) | set(bicep.section("parameters"))
    found: set[str] = set()
    for node in walk(value):
        if isinstance(node, str) and node in variables and node not in seen:
            seen.add(node)
            found |= literal_setting_names(bicep, variables[node]["value"], report, seen)
        elif isinstance(node, dict) and "name" in node and "value" in node:
            name = node["name"]
            if isinstance(name, str) and "${" not in name and name not in symbols:
                found.add(name)
            else:
                report.error(f"{bicep.path.name}: an app setting name is not a literal string: {name!r}")
    return found


def bicep_app_settings(files: list[BicepFile], report: Report) -> set[str] | None:
    found: set[str] | None = None
    for bicep in files:
        for resource in bicep.section("resources").values():
            config = resource.get("config") or {}
            config = config.get("config", config) if "condition" in config else config
            kind = str(config.get("kind", ""))
            if resource.get("type") == "Microsoft.Web/sites" and "functionapp" in kind:
                settings = ((config.get("properties") or {}).get("siteConfig") or {}).get("appSettings")
                found = (found or set()) | literal_setting_names(bicep, settings, report)
            elif resource.get("type") == "Microsoft.Web/sites/config" and config.get("name") == "appsettings":
                properties = config.get("properties")
                if isinstance(properties, dict):
                    found = (found or set()) | set(properties)
    return found


def example_settings(root: Path, report: Report) -> set[str] | None:
    path = root / "local.settings.json.example"
    if not path.is_file():
        report.error("local.settings.json.example not found")
        return None
    try:
        values = json.loads(path.read_text()).get("Values")
    except json.JSONDecodeError as failure:
        report.error(f"local.settings.json.example: not JSON: {failure}")
        return None
    if not isinstance(values, dict):
        report.error("local.settings.json.example: no Values object")
        return None
    return set(values)


def is_platform(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in PLATFORM_SETTINGS)


@dataclass
class Requirement:
    label: str
    alternatives: tuple[str, ...]
    in_bicep: bool
    in_example: bool
    source: str
    connection: str = ""  # the connection this requirement is, if it is one


def disabled_setting(function: str) -> str:
    return f"AzureWebJobs.{function}.Disabled"


def requirements(code: CodeSettings) -> tuple[list[Requirement], set[str]]:
    """What each target must hold, and every name something reads."""
    required: list[Requirement] = []
    used = set(code.names)
    grouped: set[str] = set()
    for connection in sorted(code.connections):
        forms = (connection, connection + IDENTITY_SUFFIX)
        grouped.update(forms)
        sources = sorted(set().union(*(code.names.get(form, set()) for form in forms)))
        required.append(
            Requirement(f"{connection} (connection)", forms, True, True, ", ".join(sources), connection)
        )
        used.update(connection + suffix for suffix in HOST_CONNECTION_SUFFIXES)
    # The host's switch that turns a function off (AzureWebJobs.<Function>.Disabled).
    used.update(disabled_setting(function) for function in code.functions)
    for name in sorted(code.names):
        if name in grouped or name in HOST_SUPPLIED:
            continue
        optional = name.endswith(OPTIONAL_SUFFIXES)
        required.append(Requirement(name, (name,), not optional, True, ", ".join(sorted(code.names[name]))))
    return required, used


def check_settings(root: Path, files: list[BicepFile], report: Report) -> CodeSettings:
    """Checks the union of every branch's settings; returns what the code reads."""
    report.section("App settings: code vs infra/ Function App vs local.settings.json.example")
    code = read_code_settings(root, report)
    bicep = bicep_app_settings(files, report)
    if bicep is None:
        report.error("no Function App (Microsoft.Web/sites with kind functionapp) with appSettings in infra/")
        bicep = set()
    example = example_settings(root, report)
    required, used = requirements(code)

    def status(requirement: Requirement, present: set[str] | None, needed: bool) -> str:
        if present is None:
            return "n/a"
        hit = [form for form in requirement.alternatives if form in present]
        if not hit:
            return "MISSING" if needed else "-"
        if len(requirement.alternatives) == 1:
            return "yes"
        return " + ".join("identity" if form.endswith(IDENTITY_SUFFIX) else "string" for form in hit)

    rows = []
    for requirement in required:
        in_bicep = status(requirement, bicep, requirement.in_bicep)
        in_example = status(requirement, example, requirement.in_example)
        rows.append([requirement.label, requirement.source, in_bicep, in_example])
        if in_bicep == "MISSING":
            report.error(
                f"{requirement.label} is read by {requirement.source} but not set in the Function App's appSettings"
            )
        if in_example == "MISSING":
            report.error(
                f"{requirement.label} is read by {requirement.source} but not in local.settings.json.example"
            )
    for name in sorted(HOST_SUPPLIED):
        rows.append(
            [
                name,
                "host",
                "absent" if name not in bicep else "SET",
                "absent" if not example or name not in example else "SET",
            ]
        )
        for target, present in (
            ("infra/ appSettings", bicep),
            ("local.settings.json.example", example or set()),
        ):
            if name in present:
                report.error(f"{name} is supplied by the Functions host; remove it from {target}")
    table(rows, ["setting", "read by", "infra/", "example"])
    for target, present in (("infra/ appSettings", bicep), ("local.settings.json.example", example or set())):
        unused = sorted(name for name in present - used - HOST_SUPPLIED if not is_platform(name))
        for name in unused:
            report.error(
                f"{target} sets {name}, which nothing reads (not in names.rs, function.json, or the platform list)"
            )
        platform = sorted(name for name in present if is_platform(name))
        report.note(f"{target}: platform settings allowed: {', '.join(platform) or 'none'}")
    return code
