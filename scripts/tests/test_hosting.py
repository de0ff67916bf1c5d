"""scripts/check-infra.py's hosting-plan and per-branch checks: infra/main.bicep rendered under FC1,
EP1 and Y1 (and under each other choice), on the fixture and on copies of the real infra/ broken on
purpose."""

from __future__ import annotations

from pathlib import Path

from conftest import check_infra
from test_check_infra import bicep_setting, edit

FUNCTION_APP = "infra/modules/functionapp.bicep"


def test_real_infra_renders_every_plan(real_repo: Path) -> None:
    result = check_infra(real_repo)
    assert result.returncode == 0, result.stdout
    hosting = result.stdout.split("== Hosting plans")[1].split("==")[0]
    for row in ("FC1   FlexConsumption", "EP1   ElasticPremium", "Y1    Dynamic"):
        assert row in hosting
    assert "FC1: no refused setting, runtime custom 1.0" in hosting
    assert "branches rendered" in result.stdout


def test_flex_refused_setting_in_the_real_fc1_branch(real_repo: Path) -> None:
    # The FC1 entry of the host storage settings gains a setting Flex Consumption refuses.
    edit(
        real_repo / FUNCTION_APP,
        "  FC1: [\n    {\n      name: 'AzureWebJobsStorage__accountName'",
        "  FC1: [\n    {\n      name: 'WEBSITE_RUN_FROM_PACKAGE'\n      value: '1'\n    }\n"
        "    {\n      name: 'AzureWebJobsStorage__accountName'",
    )
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "FC1: app setting WEBSITE_RUN_FROM_PACKAGE is refused by Flex Consumption" in result.stdout
    assert "EP1: app setting WEBSITE_RUN_FROM_PACKAGE" not in result.stdout


def test_runtime_settings_on_every_plan_fail_fc1_only(real_repo: Path) -> None:
    edit(real_repo / FUNCTION_APP, "concat(commonSettings, flex ? [] : runtimeSettings,", "concat(commonSettings, runtimeSettings,")
    result = check_infra(real_repo)
    assert result.returncode == 1
    for name in ("FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME"):
        assert f"FC1: app setting {name} is refused by Flex Consumption" in result.stdout
    assert "EP1: app setting" not in result.stdout and "Y1: app setting" not in result.stdout


def test_runtime_settings_missing_on_ep1(real_repo: Path) -> None:
    edit(real_repo / FUNCTION_APP, "flex ? [] : runtimeSettings", "hostingPlan == 'Y1' ? runtimeSettings : []")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "EP1: app setting FUNCTIONS_WORKER_RUNTIME is None, expected 'custom'" in result.stdout
    assert "Y1: app setting FUNCTIONS_WORKER_RUNTIME" not in result.stdout


def test_content_share_setting_on_fc1_fixture(fixture_repo: Path) -> None:
    edit(
        fixture_repo / "infra/main.bicep",
        "var appSettings = [\n",
        "var appSettings = [\n" + bicep_setting("WEBSITE_CONTENTSHARE"),
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: app setting WEBSITE_CONTENTSHARE is refused by Flex Consumption" in result.stdout


def test_flex_runtime_must_be_custom(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "name: 'custom'\n        version: '1.0'", "name: 'custom'\n        version: '2.0'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: functionAppConfig.runtime is {'name': 'custom', 'version': '2.0'}" in result.stdout


def test_flex_needs_its_deployment_container(fixture_repo: Path) -> None:
    # The container exists only under EP1, where nothing reads it.
    edit(fixture_repo / "infra/main.bicep", "containers@2023-05-01' = if (flex)", "containers@2023-05-01' = if (!flex)")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "names no blob container deployed in this branch" in result.stdout


def test_flex_deployment_by_key_and_wrong_memory(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "type: 'SystemAssignedIdentity'", "type: 'StorageAccountConnectionString'")
    edit(fixture_repo / "infra/main.bicep", "instanceMemoryMB: 512", "instanceMemoryMB: 1024")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: the deployment container is reached with 'StorageAccountConnectionString'" in result.stdout
    assert "FC1: scaleAndConcurrency.instanceMemoryMB is 1024" in result.stdout


def test_flex_without_function_app_config(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "functionAppConfig: flex ? {", "functionAppConfig: !flex ? {")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: the site has no functionAppConfig (None)" in result.stdout
    assert "EP1: functionAppConfig is set" in result.stdout


def test_plan_sku_must_match_the_parameter(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "tier: 'FlexConsumption'", "tier: 'Dynamic'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: plan sku is {'name': 'FC1', 'tier': 'Dynamic'}" in result.stdout


def test_one_plan_name_for_every_plan(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "name: 'plan-${toLower(hostingPlan)}-fixture'", "name: 'plan-fixture'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "the plan has the same name, or names that cannot be told apart offline" in result.stdout


def test_default_plan_is_flex(fixture_repo: Path, real_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "param hostingPlan string = 'FC1'", "param hostingPlan string = 'EP1'")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "hostingPlan defaults to 'EP1', expected 'FC1'" in result.stdout
    edit(real_repo / "infra/main.parameters.json", "${FUNCTIONS_PLAN=FC1}", "${FUNCTIONS_PLAN=EP1}")
    result = check_infra(real_repo)
    assert result.returncode == 1
    assert "main.parameters.json: hostingPlan is '${FUNCTIONS_PLAN=EP1}', expected the default FC1" in result.stdout


def test_every_plan_offered(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "  'EP1'\n  'Y1'\n])", "  'EP1'\n])")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "hostingPlan does not offer Y1" in result.stdout


def test_identity_host_storage_needs_the_blob_role(fixture_repo: Path) -> None:
    edit(fixture_repo / "infra/main.bicep", "= if (hostingPlan != 'Y1') {", "= if (hostingPlan == 'EP1') {")
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: host storage is identity-based but the app gets no Storage Blob Data Owner role" in result.stdout
    assert "EP1: host storage is identity-based but" not in result.stdout


def test_setting_in_one_branch_only(fixture_repo: Path) -> None:
    # Every branch together still sets TSI_EVENTHUB_NAME, so only the per-branch check sees the gap.
    edit(
        fixture_repo / "infra/main.bicep",
        "  {\n    name: 'TSI_EVENTHUB_NAME'\n    value: 'records'\n  }\n",
        "",
    )
    edit(
        fixture_repo / "infra/main.bicep",
        "var runtimeSettings = [\n",
        "var runtimeSettings = [\n" + bicep_setting("TSI_EVENTHUB_NAME"),
    )
    result = check_infra(fixture_repo)
    assert result.returncode == 1
    assert "FC1: TSI_EVENTHUB_NAME is read by names.rs but not set" in result.stdout
    assert "EP1: TSI_EVENTHUB_NAME" not in result.stdout
    assert "is read by names.rs but not set in the Function App's appSettings" not in result.stdout


def test_real_branches_cover_each_choice(real_repo: Path) -> None:
    # Under simulatorMode=eventhub only, the handler's settings are left out.
    edit(
        real_repo / FUNCTION_APP,
        "appSettings: concat(platformSettings, bridgeSettings,",
        "appSettings: concat(platformSettings, simulatorMode == 'eventhub' ? [] : bridgeSettings,",
    )
    result = check_infra(real_repo)
    assert result.returncode == 1
    for plan in ("FC1", "EP1", "Y1"):
        assert f"{plan} simulatorMode=eventhub: SIMULATOR_SEED is read by names.rs but not set" in result.stdout
    assert "FC1: SIMULATOR_SEED" not in result.stdout
    assert "simulatorMode=adt: SIMULATOR_SEED" not in result.stdout
