"""Hosting plans: infra/main.bicep rendered once per plan (FC1, EP1, Y1), and each rendering held to
what its plan needs. Flex Consumption (FC1) most of all: it refuses the runtime and content settings
the other plans need, takes the runtime from `functionAppConfig` and deploys from a blob container."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .render import Declaration, Scope, Unknown, read_source
from .report import Report, table

PLAN_PARAMETER = "hostingPlan"
DEFAULT_PLAN = "FC1"
PLAN_SKUS = {"FC1": "FlexConsumption", "EP1": "ElasticPremium", "Y1": "Dynamic"}
# App settings a Flex Consumption app refuses or ignores (the platform moved them into
# functionAppConfig or dropped them).
FLEX_REFUSED = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENT*",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
)
FLEX_RUNTIME = {"name": "custom", "version": "1.0"}
FLEX_MEMORY_MB = (512, 2048, 4096)
FLEX_IDENTITY_AUTH = ("SystemAssignedIdentity", "UserAssignedIdentity")
CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers"
# Built-in role that lets the app's identity use host storage and read its deployment container.
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
IDENTITY_HOST_STORAGE = ("AzureWebJobsStorage__accountName", "AzureWebJobsStorage__blobServiceUri")


@dataclass
class FunctionApp:
    """The Function App one rendering deploys, with what the checks read from it."""

    scope: Scope
    symbol: str
    body: dict[str, Any]
    settings: dict[str, Any]  # app setting name -> value (an Unknown where Azure fills it in)

    @property
    def properties(self) -> dict[str, Any]:
        properties = self.body.get("properties")
        return properties if isinstance(properties, dict) else {}


def resource_type(declaration: Declaration) -> str:
    return declaration.type.split("@")[0]


def deployed_resources(root: Scope, kind: str) -> Iterator[tuple[Scope, Declaration]]:
    for scope, declaration in root.resources():
        if resource_type(declaration) == kind and scope.deployed(declaration.name) is not False:
            yield scope, declaration


def find_function_app(root: Scope, branch: str, report: Report) -> FunctionApp | None:
    """The one Function App the rendering deploys, and its app settings as a name -> value map."""
    found = []
    for scope, declaration in deployed_resources(root, "Microsoft.Web/sites"):
        body = scope.body(declaration.name)
        if isinstance(body, dict) and "functionapp" in str(body.get("kind", "")):
            if scope.deployed(declaration.name) is not True:
                report.error(f"{branch}: whether {scope.label}.{declaration.name} is deployed cannot be told offline")
            found.append((scope, declaration, body))
    if len(found) != 1:
        report.error(f"{branch}: {len(found)} Function Apps deployed, expected exactly one")
        return None
    scope, declaration, body = found[0]
    app = FunctionApp(scope, declaration.name, body, {})
    listed = ((app.properties.get("siteConfig") or {}) if isinstance(app.properties.get("siteConfig"), dict) else {}).get(
        "appSettings"
    )
    if not isinstance(listed, list):
        report.error(f"{branch}: {scope.label}.{declaration.name} appSettings cannot be evaluated offline: {listed}")
        return app
    for entry in listed:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            report.error(f"{branch}: an app setting name is not known offline: {entry}")
            continue
        app.settings[name] = entry.get("value")
    return app


def root_scope(root: Path, params: dict[str, Any]) -> Scope | None:
    main = root / "infra/main.bicep"
    return Scope(read_source(main.resolve()), params) if main.is_file() else None


def plan_choices(root: Path, report: Report) -> list[str]:
    """The plans main.bicep offers; checks the default here and in main.parameters.json."""
    main = root / "infra/main.bicep"
    if not main.is_file():
        report.error("infra/main.bicep not found")
        return []
    declaration = read_source(main.resolve()).declarations.get(PLAN_PARAMETER)
    if declaration is None or declaration.kind != "param":
        report.error(f"infra/main.bicep has no parameter {PLAN_PARAMETER}")
        return []
    plans = [plan for plan in declaration.allowed or [] if isinstance(plan, str)]
    for plan in PLAN_SKUS:
        if plan not in plans:
            report.error(f"infra/main.bicep: {PLAN_PARAMETER} does not offer {plan}")
    default = Scope(read_source(main.resolve()), {}).parameter(PLAN_PARAMETER)
    if default != DEFAULT_PLAN:
        report.error(f"infra/main.bicep: {PLAN_PARAMETER} defaults to {default!r}, expected {DEFAULT_PLAN!r}")
    parameters = root / "infra/main.parameters.json"
    if parameters.is_file():
        value = (json.loads(parameters.read_text()).get("parameters", {}).get(PLAN_PARAMETER) or {}).get("value")
        fallback = re.fullmatch(r"\$\{\w+=(\w+)\}", value) if isinstance(value, str) else None
        if value is not None and (fallback.group(1) if fallback else value) != DEFAULT_PLAN:
            report.error(f"infra/main.parameters.json: {PLAN_PARAMETER} is {value!r}, expected the default {DEFAULT_PLAN}")
    return [plan for plan in plans if plan in PLAN_SKUS]


def shown(value: Any) -> str:
    """A rendered value for a table: what only Azure knows becomes `*`."""
    if not isinstance(value, Unknown):
        return str(value)
    text = value.text
    while True:
        shorter = re.sub(r"<[^<>]*>", "*", text)
        if shorter == text:
            return shorter
        text = shorter


def is_flex_refused(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in FLEX_REFUSED)


def check_plan(root: Scope, plan: str, app: FunctionApp, report: Report) -> list[str]:
    """Holds one rendering to its plan; returns the table row."""
    farm_refs = app.properties.get("serverFarmId")
    farm_refs = farm_refs.refs if isinstance(farm_refs, Unknown) else frozenset()
    farms = [d for s, d in deployed_resources(app.scope, "Microsoft.Web/serverfarms") if s is app.scope and d.name in farm_refs]
    sku: Any = None
    plan_name: Any = None
    if len(farms) != 1:
        report.error(f"{plan}: the Function App's serverFarmId names no plan deployed beside it")
    else:
        farm = app.scope.body(farms[0].name)
        sku = farm.get("sku") if isinstance(farm, dict) else None
        plan_name = farm.get("name") if isinstance(farm, dict) else None
        expected = {"name": plan, "tier": PLAN_SKUS[plan]}
        if not isinstance(sku, dict) or {k: sku.get(k) for k in expected} != expected:
            report.error(f"{plan}: plan sku is {sku}, expected {expected}")
    names = set(app.settings)
    config = app.properties.get("functionAppConfig")
    if plan == "FC1":
        for name in sorted(filter(is_flex_refused, names)):
            report.error(f"FC1: app setting {name} is refused by Flex Consumption (set it only on EP1/Y1)")
        check_flex_config(app, config, report)
    else:
        if config is not None:
            report.error(f"{plan}: functionAppConfig is set ({config}); only Flex Consumption takes it")
        for name, value in (("FUNCTIONS_WORKER_RUNTIME", "custom"), ("FUNCTIONS_EXTENSION_VERSION", "~4")):
            if app.settings.get(name) != value:
                report.error(f"{plan}: app setting {name} is {app.settings.get(name)!r}, expected {value!r}")
    identity = [name for name in IDENTITY_HOST_STORAGE if name in names]
    if plan in ("FC1", "EP1"):
        if not identity or "AzureWebJobsStorage" in names:
            report.error(f"{plan}: host storage must be identity-based (AzureWebJobsStorage__accountName), not a key")
    if identity and not app_has_role(root, app, BLOB_DATA_OWNER):
        report.error(f"{plan}: host storage is identity-based but the app gets no Storage Blob Data Owner role")
    storage = "identity" if identity else ("key" if "AzureWebJobsStorage" in names else "MISSING")
    tier = sku.get("tier") if isinstance(sku, dict) else sku
    return [plan, shown(tier), shown(plan_name), shown(app.body.get("name")), storage, str(len(names))]


def check_flex_config(app: FunctionApp, config: Any, report: Report) -> None:
    if not isinstance(config, dict):
        report.error(f"FC1: the site has no functionAppConfig ({config})")
        return
    if config.get("runtime") != FLEX_RUNTIME:
        report.error(f"FC1: functionAppConfig.runtime is {config.get('runtime')}, expected {FLEX_RUNTIME}")
    storage = (config.get("deployment") or {}).get("storage") if isinstance(config.get("deployment"), dict) else None
    if not isinstance(storage, dict) or storage.get("type") != "blobContainer":
        report.error(f"FC1: functionAppConfig.deployment.storage is not a blobContainer: {storage}")
    else:
        authentication = (storage.get("authentication") or {}).get("type")
        if authentication not in FLEX_IDENTITY_AUTH:
            report.error(f"FC1: the deployment container is reached with {authentication!r}, not an identity")
        if not deploys_container(app.scope, storage.get("value")):
            report.error(
                f"FC1: functionAppConfig.deployment.storage.value ({storage.get('value')}) names no blob "
                "container deployed in this branch"
            )
    scale = config.get("scaleAndConcurrency")
    scale = scale if isinstance(scale, dict) else {}
    memory, instances = scale.get("instanceMemoryMB"), scale.get("maximumInstanceCount")
    if memory not in FLEX_MEMORY_MB:
        report.error(f"FC1: scaleAndConcurrency.instanceMemoryMB is {memory}, expected one of {FLEX_MEMORY_MB}")
    if not isinstance(instances, int) or not 40 <= instances <= 1000:
        report.error(f"FC1: scaleAndConcurrency.maximumInstanceCount is {instances}, expected 40 to 1000")


def deploys_container(scope: Scope, value: Any) -> bool:
    """Whether a deployment storage URL is built from a container this rendering deploys."""
    for declaration in scope.source.of_kind("resource"):
        if resource_type(declaration) != CONTAINER_TYPE or scope.deployed(declaration.name) is not True:
            continue
        if isinstance(value, Unknown) and declaration.name in value.refs:
            return True
        name = scope.member_name(declaration.name)
        if not isinstance(name, str):
            continue
        url = value.text if isinstance(value, Unknown) else value
        # A known container name ends the URL, after the account's blob endpoint.
        if isinstance(url, str) and url.rstrip("/").endswith(("/" + name, ">" + name)):
            return True
    return False


def app_has_role(root: Scope, app: FunctionApp, role: str) -> bool:
    """Whether a deployed role assignment gives `role` to the app's identity."""
    owners = {app.symbol, app.scope.symbol} - {""}
    for scope, declaration in deployed_resources(root, "Microsoft.Authorization/roleAssignments"):
        if scope.deployed(declaration.name) is not True:
            continue
        bodies = scope.body(declaration.name)
        for body in bodies if isinstance(bodies, list) else [bodies]:
            properties = body.get("properties") if isinstance(body, dict) else None
            if not isinstance(properties, dict):
                continue
            definition, principal = properties.get("roleDefinitionId"), properties.get("principalId")
            if role in str(definition) and isinstance(principal, Unknown) and principal.refs & owners:
                return True
    return False


def check_hosting(root: Path, report: Report) -> None:
    report.section("Hosting plans: infra/main.bicep rendered per plan")
    plans = plan_choices(root, report)
    rows, plan_names, app_names = [], {}, {}
    errors_before = len(report.errors)
    for plan in plans:
        scope = root_scope(root, {PLAN_PARAMETER: plan})
        app = find_function_app(scope, plan, report) if scope else None
        if app is None:
            continue
        rows.append(check_plan(scope, plan, app, report))
        plan_names[plan], app_names[plan] = rows[-1][2], rows[-1][3]
    for what, names in (("plan", plan_names), ("Function App", app_names)):
        if len(set(names.values())) != len(names):
            report.error(
                f"the {what} has the same name, or names that cannot be told apart offline, under several "
                f"plans ({names}): a switch would ask ARM to convert it in place"
            )
    if rows:
        table(rows, ["plan", "sku tier", "plan name", "app name", "host storage", "app settings"])
    if "FC1" in plan_names and len(report.errors) == errors_before:
        report.note("FC1: no refused setting, runtime custom 1.0, deployment from a blob container by identity")
