"""The Service Bus path, in the renderings that deploy it: a Standard or Premium namespace, a
subscription whose lock outlasts the handler's hold (BRIDGE_SERVICEBUS_HOLD) and twice host.json's
maxBatchWaitTime, a raised MaxDeliveryCount, dead-lettering on expiry, ADT's identity-based endpoint
on the topic and the receiver role on the subscription for the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .branches import branches
from .hosting import app_has_role, deployed_resources, find_function_app, root_scope
from .render import ResourceRef, Scope, Unknown
from .report import Report

SUBSCRIPTION_TYPE = "Microsoft.ServiceBus/namespaces/topics/subscriptions"
NAMESPACE_TYPE = "Microsoft.ServiceBus/namespaces"
ENDPOINT_TYPE = "Microsoft.DigitalTwins/digitalTwinsInstances/endpoints"
SERVICE_BUS_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
HOLD_SETTING = "BRIDGE_SERVICEBUS_HOLD"
DEFAULT_DELIVERY_COUNT = 10


def seconds(duration: Any) -> float | None:
    """Seconds of an ISO 8601 duration (PT1M, PT30S) or a TimeSpan (00:00:30); None if neither."""
    if not isinstance(duration, str):
        return None
    iso = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", duration)
    if iso and any(iso.groups()):
        hours, minutes, secs = (float(part or 0) for part in iso.groups())
        return hours * 3600 + minutes * 60 + secs
    span = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", duration)
    if span:
        return int(span.group(1)) * 3600 + int(span.group(2)) * 60 + float(span.group(3))
    return None


def uses_service_bus_trigger(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "functions").glob("*/function.json")):
        try:
            bindings = json.loads(path.read_text()).get("bindings", [])
        except json.JSONDecodeError:
            continue
        if any(binding.get("type") == "serviceBusTrigger" for binding in bindings):
            found.append(path.parent.name)
    return found


def host_batch_wait(root: Path) -> float | None:
    try:
        host = json.loads((root / "host.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    wait = ((host.get("extensions") or {}).get("serviceBus") or {}).get("maxBatchWaitTime", "00:00:30")
    return seconds(wait)


def check_service_bus(root: Path, report: Report) -> None:
    report.section("Service Bus path: the renderings that deploy it")
    functions = uses_service_bus_trigger(root)
    if not functions or not (root / "infra/main.bicep").is_file():
        report.note("no serviceBusTrigger function" if not functions else "no infra/main.bicep")
        return
    checked = 0
    for label, params in branches(root):
        scope = root_scope(root, params)
        subscriptions = [(s, d) for s, d in deployed_resources(scope, SUBSCRIPTION_TYPE) if s.deployed(d.name) is True]
        if not subscriptions:
            continue
        checked += 1
        for sub_scope, declaration in subscriptions:
            check_subscription(root, scope, label, sub_scope, declaration.name, report)
    if not checked:
        report.error(f"{', '.join(functions)} use a serviceBusTrigger, but no branch deploys a topic subscription")
    else:
        report.note(f"{checked} branches deploy a subscription; {', '.join(functions)} read it")


def check_subscription(root: Path, scope: Scope, label: str, sub_scope: Scope, symbol: str, report: Report) -> None:
    properties = (sub_scope.body(symbol) or {}).get("properties") or {}
    lock = seconds(properties.get("lockDuration", "PT1M"))
    if lock is None or lock > 300:
        report.error(f"{label}: subscription lockDuration {properties.get('lockDuration')!r} is not a duration up to PT5M")
        lock = lock or 60.0
    deliveries = properties.get("maxDeliveryCount", DEFAULT_DELIVERY_COUNT)
    if not isinstance(deliveries, int) or deliveries <= DEFAULT_DELIVERY_COUNT:
        report.error(f"{label}: subscription maxDeliveryCount is {deliveries}; raise it above {DEFAULT_DELIVERY_COUNT}")
    if properties.get("deadLetteringOnMessageExpiration") is not True:
        report.error(f"{label}: the subscription does not dead-letter expired messages")
    for ns_scope, namespace in deployed_resources(scope, NAMESPACE_TYPE):
        tier = ((ns_scope.body(namespace.name) or {}).get("sku") or {}).get("tier")
        if tier not in ("Standard", "Premium"):
            report.error(f"{label}: Service Bus namespace tier {tier!r} has no topics; use Standard")
    wait = host_batch_wait(root)
    if wait is not None and wait > lock / 2:
        report.error(f"{label}: host.json serviceBus.maxBatchWaitTime ({wait:g} s) is over half the lock ({lock:g} s)")
    app = find_function_app(scope, label, report)
    if app is None:
        return
    hold = app.settings.get(HOLD_SETTING)
    if not (isinstance(hold, str) and hold.isdigit() and int(hold) < lock):
        report.error(f"{label}: {HOLD_SETTING} is {hold!r}; it must be whole seconds under the lock ({lock:g} s)")
    if not app_has_role(scope, app, SERVICE_BUS_DATA_RECEIVER):
        report.error(f"{label}: the app gets no Azure Service Bus Data Receiver role")
    endpoints = []
    for end_scope, endpoint in deployed_resources(scope, ENDPOINT_TYPE):
        body = (end_scope.body(endpoint.name) or {}).get("properties") or {}
        if body.get("endpointType") == "ServiceBus":
            endpoints.append(body)
    if not endpoints:
        report.error(f"{label}: no ADT endpoint of type ServiceBus")
    parent = (sub_scope.body(symbol) or {}).get("parent")
    topic = sub_scope.member_name(parent.symbol) if isinstance(parent, ResourceRef) else None
    for body in endpoints:
        uri = body.get("endpointUri")
        uri = uri.text if isinstance(uri, Unknown) else str(uri)
        if body.get("authenticationType") != "IdentityBased" or not uri.startswith("sb://"):
            report.error(f"{label}: the ADT ServiceBus endpoint must be IdentityBased with an sb:// endpointUri")
        if isinstance(topic, str) and body.get("entityPath") != topic:
            report.error(f"{label}: the ADT endpoint's entityPath {body.get('entityPath')!r} is not the topic {topic!r}")
