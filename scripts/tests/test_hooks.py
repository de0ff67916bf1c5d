"""The azd hooks (scripts/adt-routes.sh, scripts/eventgrid-subscription.sh) against stub `azd` and
`curl` commands: what they request, with which body, and how they retry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import SCRIPTS, run

ROUTE_ENV = {
    "ADT_HOST_NAME": "dt-abc.api.weu.digitaltwins.azure.net",
    "ADT_EVENTHUB_ENDPOINT_NAME": "twins-hub",
    "ADT_ROUTE_NAME": "to-bridge-hub",
    "ADT_ROUTE_FILTER": "type = 'Microsoft.DigitalTwins.Twin.Update' OR type = 'microsoft.iot.telemetry'",
    "AZURE_TENANT_ID": "tenant-1",
}

GRID_ENV = {
    "ENABLE_EVENT_GRID": "true",
    "EVENTGRID_TOPIC_ID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/evgt-abc",
    "AZURE_FUNCTION_APP_ID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/func-abc",
    "DEADLETTER_STORAGE_ID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stabc",
    "DEADLETTER_CONTAINER_NAME": "eventgrid-deadletter",
    "EVENTGRID_INPUT_SCHEMA": "CloudEventSchemaV1_0",
}


def hook(script: str, stub_bin: Path, tmp_path: Path, env: dict[str, str]) -> tuple[int, str, list[str]]:
    log = tmp_path / "calls.log"
    full_env = {
        "PATH": f"{stub_bin}{os.pathsep}{os.environ['PATH']}",
        "STUB_LOG": str(log),
        "AZURE_PUT_DELAY": "0",
        **env,
    }
    result = run(["bash", str(SCRIPTS / script)], env=full_env)
    calls = log.read_text().splitlines() if log.exists() else []
    return result.returncode, result.stdout, calls


def body(tmp_path: Path, number: int) -> dict:
    return json.loads((tmp_path / f"calls.log.body.{number}").read_text())


def test_route_is_put_with_the_filter(stub_bin: Path, tmp_path: Path) -> None:
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, ROUTE_ENV)
    assert code == 0, output
    assert calls[0] == (
        "azd auth token --scope https://digitaltwins.azure.net/.default --output json --tenant-id tenant-1"
    )
    curls = [call for call in calls if call.startswith("curl ")]
    assert len(curls) == 1
    assert "--request PUT" in curls[0]
    assert curls[0].endswith(
        "https://dt-abc.api.weu.digitaltwins.azure.net/eventroutes/to-bridge-hub?api-version=2023-10-31"
    )
    assert "stub-token" not in curls[0], "the token must not be on the command line"
    assert "Authorization: Bearer stub-token" in (tmp_path / "calls.log.headers").read_text()
    assert body(tmp_path, 1) == {"endpointName": "twins-hub", "filter": ROUTE_ENV["ADT_ROUTE_FILTER"]}


def test_event_grid_route_when_enabled(stub_bin: Path, tmp_path: Path) -> None:
    env = {
        **ROUTE_ENV,
        "ENABLE_EVENT_GRID": "true",
        "ADT_EVENTGRID_ENDPOINT_NAME": "twins-grid",
        "ADT_EVENTGRID_ROUTE_NAME": "to-bridge-grid",
    }
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code == 0, output
    curls = [call for call in calls if call.startswith("curl ")]
    assert [call.rsplit("/", 1)[1] for call in curls] == [
        "to-bridge-hub?api-version=2023-10-31",
        "to-bridge-grid?api-version=2023-10-31",
    ]
    assert body(tmp_path, 2)["endpointName"] == "twins-grid"


def test_service_bus_route_when_enabled(stub_bin: Path, tmp_path: Path) -> None:
    env = {
        **ROUTE_ENV,
        "ENABLE_SERVICE_BUS": "true",
        "ADT_SERVICEBUS_ENDPOINT_NAME": "twins-topic",
        "ADT_SERVICEBUS_ROUTE_NAME": "to-bridge-topic",
    }
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code == 0, output
    curls = [call for call in calls if call.startswith("curl ")]
    assert [call.rsplit("/", 1)[1] for call in curls] == [
        "to-bridge-hub?api-version=2023-10-31",
        "to-bridge-topic?api-version=2023-10-31",
    ]
    assert body(tmp_path, 2) == {"endpointName": "twins-topic", "filter": ROUTE_ENV["ADT_ROUTE_FILTER"]}


def test_service_bus_route_needs_its_outputs(stub_bin: Path, tmp_path: Path) -> None:
    env = {**ROUTE_ENV, "ENABLE_SERVICE_BUS": "true"}
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code != 0
    assert "missing ADT_SERVICEBUS_ENDPOINT_NAME" in output
    assert len([call for call in calls if call.startswith("curl ")]) == 1  # the Event Hub route only


def test_route_retries_until_the_role_applies(stub_bin: Path, tmp_path: Path) -> None:
    env = {**ROUTE_ENV, "STUB_CURL_CODES": "403 403 204"}
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code == 0, output
    assert output.count("HTTP 403") == 2
    assert len([call for call in calls if call.startswith("curl ")]) == 3


def test_route_gives_up(stub_bin: Path, tmp_path: Path) -> None:
    env = {**ROUTE_ENV, "STUB_CURL_CODES": "400", "AZURE_PUT_ATTEMPTS": "2"}
    code, output, _ = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code != 0
    assert "HTTP 400 (attempt 2 of 2)" in output


def test_route_needs_the_bicep_outputs(stub_bin: Path, tmp_path: Path) -> None:
    env = {key: value for key, value in ROUTE_ENV.items() if key != "ADT_HOST_NAME"}
    code, output, calls = hook("adt-routes.sh", stub_bin, tmp_path, env)
    assert code != 0
    assert "missing ADT_HOST_NAME" in output
    assert calls == []


def test_event_grid_subscription_off_by_default(stub_bin: Path, tmp_path: Path) -> None:
    code, output, calls = hook("eventgrid-subscription.sh", stub_bin, tmp_path, {})
    assert code == 0, output
    assert "Event Grid path is off" in output
    assert calls == []


def test_event_grid_subscription(stub_bin: Path, tmp_path: Path) -> None:
    code, output, calls = hook("eventgrid-subscription.sh", stub_bin, tmp_path, GRID_ENV)
    assert code == 0, output
    assert calls[0] == "azd auth token --scope https://management.azure.com/.default --output json"
    assert calls[1].endswith(
        GRID_ENV["EVENTGRID_TOPIC_ID"]
        + "/providers/Microsoft.EventGrid/eventSubscriptions/twins-to-bridge?api-version=2022-06-15"
    )
    properties = body(tmp_path, 1)["properties"]
    assert properties["destination"] == {
        "endpointType": "AzureFunction",
        "properties": {
            "resourceId": GRID_ENV["AZURE_FUNCTION_APP_ID"] + "/functions/TwinUpdatesEventGrid",
            "maxEventsPerBatch": 1,
        },
    }
    assert properties["eventDeliverySchema"] == "CloudEventSchemaV1_0"
    assert properties["deadLetterDestination"]["properties"] == {
        "resourceId": GRID_ENV["DEADLETTER_STORAGE_ID"],
        "blobContainerName": "eventgrid-deadletter",
    }


@pytest.mark.parametrize(
    "script", ["adt-routes.sh", "eventgrid-subscription.sh", "package.sh", "check-package.sh"]
)
def test_scripts_are_executable(script: str) -> None:
    assert os.access(SCRIPTS / script, os.X_OK)
