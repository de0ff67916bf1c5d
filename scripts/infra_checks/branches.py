"""App settings per branch: infra/main.bicep rendered under each plan, and under each plan with every
other choice parameter (a bool, or one with @allowed values) set to each of its other values in
turn. Each rendering must set every setting the code reads.

One exception, the rule for functions a branch does not use: a function switched off in that branch
(`AzureWebJobs.<Function>.Disabled` = true) needs no connection. Its %SETTING% names still must be
set: the host resolves them when it indexes the function, disabled or not, and fails the function's
indexing (it shows as in error) when one is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from .hosting import PLAN_PARAMETER, find_function_app, root_scope
from .render import Scope, read_source
from .report import Report, table
from .settings import CodeSettings, disabled_setting, requirements


def branches(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, parameters) for each plan, then each plan with one other choice changed."""
    main = read_source((root / "infra/main.bicep").resolve())
    defaults = Scope(main, {})
    plan = main.declarations.get(PLAN_PARAMETER)
    plans = [value for value in (plan.allowed if plan else None) or [] if isinstance(value, str)]
    choices = []
    for declaration in main.of_kind("param"):
        if declaration.name == PLAN_PARAMETER:
            continue
        values = declaration.allowed or ([True, False] if declaration.type == "bool" else None)
        if values:
            choices.append((declaration.name, [v for v in values if v != defaults.parameter(declaration.name)]))
    for plan_value in plans:
        yield plan_value, {PLAN_PARAMETER: plan_value}
        for name, values in choices:
            for value in values:
                shown = str(value).lower() if isinstance(value, bool) else value
                yield f"{plan_value} {name}={shown}", {PLAN_PARAMETER: plan_value, name: value}


def is_on(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("true", "1")


def check_branches(root: Path, code: CodeSettings, report: Report) -> None:
    report.section("App settings per branch: each plan, then each other choice one at a time")
    if not (root / "infra/main.bicep").is_file():
        report.error("infra/main.bicep not found")
        return
    required, _ = requirements(code)
    rows, count, baseline = [], 0, None
    for label, params in branches(root):
        app = find_function_app(root_scope(root, params), label, report)
        if app is None:
            continue
        count += 1
        disabled = sorted(f for f in code.functions if is_on(app.settings.get(disabled_setting(f))))
        enabled_connections = set().union(*(c for f, c in code.functions.items() if f not in disabled))
        waived = []
        for requirement in required:
            if not requirement.in_bicep or any(form in app.settings for form in requirement.alternatives):
                continue
            if requirement.connection and requirement.connection not in enabled_connections and any(
                requirement.connection in code.functions[f] for f in disabled
            ):
                waived.append(requirement.connection)
                continue
            report.error(f"{label}: {requirement.label} is read by {requirement.source} but not set")
        row = [label, str(len(app.settings)), ", ".join(disabled) or "-", ", ".join(waived) or "-"]
        if PLAN_PARAMETER in params and len(params) == 1:
            baseline = row
        if len(params) == 1 or row[1:] != baseline[1:]:
            rows.append(row)
    if rows:
        table(rows, ["branch", "settings", "functions off", "connections not needed"])
    report.note(f"{count} branches rendered; rows shown: each plan, and the branches that differ from it")
