"""azure.yaml: the `bridge` service deploys the package scripts/package.sh builds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from .report import Report

PACKAGE_ZIP = "dist/app.zip"


def check_azure_yaml(root: Path, report: Report) -> None:
    report.section("azure.yaml")
    path = root / "azure.yaml"
    if not path.is_file():
        report.error("azure.yaml not found")
        return
    document = yaml.safe_load(path.read_text()) or {}
    service = (document.get("services") or {}).get("bridge")
    if not service:
        report.error("azure.yaml: no services.bridge")
        return
    expected = {"host": "function", "language": "custom", "dist": PACKAGE_ZIP}
    for key, value in expected.items():
        if service.get(key) != value:
            report.error(f"azure.yaml: services.bridge.{key} is {service.get(key)!r}, expected {value!r}")
    check_resource_name(root, service.get("resourceName"), report)
    hooks = list((document.get("hooks") or {}).items()) + list((service.get("hooks") or {}).items())
    for event, hook in hooks:
        for step in hook if isinstance(hook, list) else [hook]:
            run = str(step.get("run", "")).split()[0] if step.get("run") else ""
            script = root / run
            if not run or not script.is_file():
                report.error(f"azure.yaml: hook {event} runs {run!r}, which does not exist")
            elif not os.access(script, os.X_OK):
                report.error(f"azure.yaml: hook {event} script {run} is not executable")
            else:
                report.note(f"hook {event}: {run}")


def check_resource_name(root: Path, resource_name: object, report: Report) -> None:
    """A `resourceName` of ${VARIABLE} must be an output of infra/main.bicep, which azd stores."""
    if resource_name is None:
        return
    variables = re.findall(r"\$\{(\w+)\}", str(resource_name))
    main = root / "infra/main.bicep"
    outputs = set(re.findall(r"^output\s+(\w+)\s", main.read_text(), re.MULTILINE)) if main.is_file() else set()
    for variable in variables:
        if variable not in outputs:
            report.error(
                f"azure.yaml: services.bridge.resourceName uses ${{{variable}}}, which infra/main.bicep does not output"
            )
        else:
            report.note(f"services.bridge.resourceName: ${{{variable}}} (an output of infra/main.bicep)")
