"""scripts/check-infra.py on the small fixture repository, on broken copies of it, and on the real
infra/ checked against the real src/config/names.rs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, check_infra


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def edit_example(root: Path, change) -> None:
    path = root / "local.settings.json.example"
    document = json.loads(path.read_text())
    change(document["Values"])
    path.write_text(json.dumps(document, indent=2))


def bicep_setting(name: str) -> str:
    return f"  {{\n    name: '{name}'\n    value: 'x'\n  }}\n"


def test_fixture_passes(fixture_repo: Path) -> None:
    result = check_infra(fixture_repo)
    assert result.returncode == 0, result.stdout
    assert "all checks passed" in result.stdout
    assert "TwinsEventHubConnection (connection)" in result.stdout


def test_real_infra_satisfies_names_rs(real_repo: Path) -> None:
    result = check_infra(real_repo)
    assert result.returncode == 0, result.stdout
    for name in (
        "ADT_INSTANCE_URL",
        "SIMULATOR_SEED",
        "BRIDGE_DEADLETTER_EVENTHUB_NAME",
        "TsiEventHubConnection (connection)",
    ):
        assert name in result.stdout


@pytest.mark.skipif(
    not ((REPO / "functions").is_dir() and (REPO / "local.settings.json.example").is_file()),
    reason="functions/ and local.settings.json.example are not in the repository yet",
)
def test_repository_as_it_is() -> None:
    result = check_infra(REPO)
    assert result.returncode == 0, result.stdout


def test_setting_missing_from_bicep(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "name: 'TSI_EVENTHUB_NAME'", "name: 'WEBSITE_TIME_ZONE'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert (
        "TSI_EVENTHUB_NAME is read by names.rs but not set in the Function App's appSettings" in result.stdout
    )


def test_function_json_setting_missing_from_example(fixture_repo: Path) -> None:
    edit_example(fixture_repo, lambda values: values.pop("SIMULATOR_SCHEDULE"))
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert (
        "SIMULATOR_SCHEDULE is read by FactorySimulator/function.json but not in local.settings.json.example"
        in result.stdout
    )


def test_connection_needs_one_form(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/main.bicep",
        "name: 'TwinsEventHubConnection__fullyQualifiedNamespace'",
        "name: 'WEBSITE_TIME_ZONE'",
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "TwinsEventHubConnection (connection) is read by" in result.stdout


def test_connection_string_form_satisfies_a_connection(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/main.bicep",
        "name: 'TwinsEventHubConnection__fullyQualifiedNamespace'",
        "name: 'TwinsEventHubConnection'",
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 0, result.stdout


def test_optional_alternatives_belong_in_the_example(fixture_repo: Path) -> None:
    edit_example(fixture_repo, lambda values: values.pop("TsiEventHubConnection__secondary"))
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert (
        "TsiEventHubConnection__secondary is read by names.rs but not in local.settings.json.example"
        in result.stdout
    )


def test_unused_settings_are_reported(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/main.bicep",
        "var appSettings = [\n",
        "var appSettings = [\n" + bicep_setting("OLD_SETTING"),
    )
    edit_example(fixture_repo, lambda values: values.update(FORGOTTEN="1"))
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "infra/ appSettings sets OLD_SETTING, which nothing reads" in result.stdout
    assert "local.settings.json.example sets FORGOTTEN, which nothing reads" in result.stdout


def test_platform_settings_are_allowed(fixture_repo: Path) -> None:
    # In the settings of the plans other than Flex Consumption, which refuses WEBSITE_RUN_FROM_PACKAGE.
    edit(
        fixture_repo / "infra/main.bicep",
        "var runtimeSettings = [\n",
        "var runtimeSettings = [\n"
        + bicep_setting("WEBSITE_RUN_FROM_PACKAGE")
        + bicep_setting("AzureWebJobsFeatureFlags"),
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 0, result.stdout


def test_host_port_must_not_be_set(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/main.bicep",
        "var appSettings = [\n",
        "var appSettings = [\n" + bicep_setting("FUNCTIONS_CUSTOMHANDLER_PORT"),
    )
    edit_example(fixture_repo, lambda values: values.update(FUNCTIONS_CUSTOMHANDLER_PORT="7071"))
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert (
        "FUNCTIONS_CUSTOMHANDLER_PORT is supplied by the Functions host; remove it from infra/ appSettings"
        in result.stdout
    )
    assert "remove it from local.settings.json.example" in result.stdout


def test_settings_in_a_ternary_branch_count(fixture_repo: Path) -> None:
    # Both branches of `useIdentity ? [...] : [...]` are collected, so neither is "unused".
    result = check_infra(fixture_repo)
    assert "AzureWebJobsStorage, AzureWebJobsStorage__accountName" in result.stdout


def test_syntax_error_fails_both_parsers(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/modules/store.bicep",
        "output table string = tableName",
        "output table string = ",
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "store.bicep: pycep-parser:" in result.stdout
    assert "store.bicep: tree-sitter-bicep:" in result.stdout


def test_module_parameters_and_outputs(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "    tableName: 'Things'\n", "    tablename: 'Things'\n")
    edit(fixture_repo / "infra/main.bicep", "store.outputs.table", "store.outputs.tables")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "module store: passes tablename, which store.bicep does not declare" in result.stdout
    assert "module store: does not pass required parameter tableName" in result.stdout
    assert "store.outputs.tables is not an output of store.bicep" in result.stdout


def test_missing_loaded_file(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/modules/store.bicep", "../kql/things.kql", "../kql/thing.kql")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "loadTextContent('../kql/thing.kql') not found" in result.stdout


def test_kql_mapping_must_match_its_table(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/kql/things.kql", '{"column":"at","Properties":{"Path":"$.at"}},', "")
    edit(fixture_repo / "infra/modules/store.bicep", "mapping: 'ThingsMapping'", "mapping: 'OtherMapping'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "table Things column at is not filled by mapping ThingsMapping" in result.stdout
    assert "data connection target Things/OtherMapping is not in infra/kql" in result.stdout


def test_kql_only_database_script_verbs(fixture_repo: Path) -> None:
    with (fixture_repo / "infra/kql/things.kql").open("a") as kql:
        kql.write("\n.drop table Things\n")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "does not start with a database-script verb: .drop table Things" in result.stdout


def test_azure_yaml_must_deploy_the_zip(fixture_repo: Path) -> None:
    edit(fixture_repo / "azure.yaml", "dist: dist/app.zip", "dist: dist/app")
    (fixture_repo / "scripts/hook.sh").chmod(0o644)
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "services.bridge.dist is 'dist/app', expected 'dist/app.zip'" in result.stdout
    assert "script scripts/hook.sh is not executable" in result.stdout


def test_missing_function_folder_and_example(fixture_repo: Path) -> None:
    (fixture_repo / "local.settings.json.example").unlink()
    for path in (fixture_repo / "functions").rglob("function.json"):
        path.unlink()
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "no functions/<Name>/function.json found" in result.stdout
    assert "local.settings.json.example not found" in result.stdout


def test_azure_yaml_resource_name_is_an_output(real_repo: Path) -> None:
    result = check_infra(real_repo)
    assert "services.bridge.resourceName: ${AZURE_FUNCTION_APP_NAME}" in result.stdout
    edit(real_repo / "azure.yaml", "${AZURE_FUNCTION_APP_NAME}", "${FUNCTION_APP_NAME}")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "resourceName uses ${FUNCTION_APP_NAME}, which infra/main.bicep does not output" in result.stdout
