"""scripts/check-infra.py on the Service Bus path: the function that is switched off without Service
Bus, and the namespace, subscription, endpoint and roles where it is deployed, on copies of the real
infra/ broken on purpose."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import check_infra
from test_check_infra import edit

FUNCTION_APP = "infra/modules/functionapp.bicep"
RESOURCES = "infra/resources.bicep"


def test_real_infra_switches_off_what_it_does_not_deploy(real_repo: Path) -> None:
    result = check_infra(real_repo)
    assert result.returncode == 0, result.stdout
    rows = result.stdout.split("== App settings per branch")[1]
    assert "FC1  " in rows and "FactorySimulator, TwinUpdatesServiceBus  TwinsServiceBusConnection" in rows
    assert "FC1 enableServiceBus=true" in rows
    assert "3 branches deploy a subscription; TwinUpdatesServiceBus read it" in result.stdout


def test_service_bus_function_left_on_without_a_connection(real_repo: Path) -> None:
    edit(real_repo / FUNCTION_APP, "value: enableServiceBus ? 'false' : 'true'", "value: 'false'")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert (
        "FC1: TwinsServiceBusConnection (connection) is read by TwinUpdatesServiceBus/function.json, names.rs "
        "but not set" in result.stdout
    )
    assert "FC1 enableServiceBus=true: TwinsServiceBusConnection" not in result.stdout


def test_switched_off_function_still_needs_its_names(real_repo: Path) -> None:
    # The topic name only with Service Bus on: the host could not index the switched-off function.
    edit(
        real_repo / FUNCTION_APP,
        "var serviceBusSettings = concat([\n  {\n    name: 'TWINS_SERVICEBUS_TOPIC_NAME'\n"
        "    value: serviceBusTopicName\n  }\n",
        "var serviceBusSettings = concat(enableServiceBus ? [\n  {\n    name: 'TWINS_SERVICEBUS_TOPIC_NAME'\n"
        "    value: serviceBusTopicName\n  }\n] : [], [\n",
    )
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "FC1: TWINS_SERVICEBUS_TOPIC_NAME is read by TwinUpdatesServiceBus/function.json" in result.stdout
    assert "FC1 enableServiceBus=true: TWINS_SERVICEBUS_TOPIC_NAME" not in result.stdout


def test_switch_for_a_function_that_does_not_exist(real_repo: Path) -> None:
    edit(real_repo / FUNCTION_APP, "name: 'AzureWebJobs.FactorySimulator.Disabled'", "name: 'AzureWebJobs.FactorySim.Disabled'")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "infra/ appSettings sets AzureWebJobs.FactorySim.Disabled, which nothing reads" in result.stdout


def test_subscription_settings(real_repo: Path) -> None:
    edit(real_repo / RESOURCES, "  holdSeconds: 45\n  maxDeliveryCount: 100\n", "  holdSeconds: 60\n  maxDeliveryCount: 10\n")
    edit(real_repo / "infra/modules/servicebus.bicep", "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: false")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "FC1 enableServiceBus=true: subscription maxDeliveryCount is 10; raise it above 10" in result.stdout
    assert "FC1 enableServiceBus=true: the subscription does not dead-letter expired messages" in result.stdout
    assert "FC1 enableServiceBus=true: BRIDGE_SERVICEBUS_HOLD is '60'; it must be whole seconds under the lock (60 s)" in result.stdout


def test_batch_wait_over_half_the_lock(real_repo: Path) -> None:
    host = json.loads((real_repo / "host.json").read_text())
    host["extensions"]["serviceBus"]["maxBatchWaitTime"] = "00:00:45"
    (real_repo / "host.json").write_text(json.dumps(host))
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "host.json serviceBus.maxBatchWaitTime (45 s) is over half the lock (60 s)" in result.stdout


def test_endpoint_and_roles(real_repo: Path) -> None:
    edit(real_repo / "infra/modules/digitaltwins-servicebus.bicep", "authenticationType: 'IdentityBased'", "authenticationType: 'KeyBased'")
    edit(real_repo / "infra/modules/servicebus.bicep", "    name: 'Standard'\n    tier: 'Standard'", "    name: 'Basic'\n    tier: 'Basic'")
    edit(
        real_repo / RESOURCES,
        "module bridgeReadsSubscription './modules/servicebus-role.bicep' = if (enableServiceBus) {",
        "module bridgeReadsSubscription './modules/servicebus-role.bicep' = if (!enableServiceBus) {",
    )
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "the ADT ServiceBus endpoint must be IdentityBased with an sb:// endpointUri" in result.stdout
    assert "Service Bus namespace tier 'Basic' has no topics" in result.stdout
    assert "EP1 enableServiceBus=true: the app gets no Azure Service Bus Data Receiver role" in result.stdout
