"""infra/azuredeploy.json against Azure's own ARM schemas (offline copies in tests/data/schemas/arm),
and against Chaperone: the app settings it sets are the ones Chaperone reads, the school config it
writes loads, its outputs build the Teams app package."""

from __future__ import annotations

import copy
import re
import shlex
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot import config as config_module
from bot.config import ENV_SETTINGS, PRODUCTION_SETTINGS, Settings
from bot.manifest import main as manifest_main
from bot.policy.loader import bundled_ids
from tests.infra.arm import ARM, ARM_URL, PARAMETERS, ROOT, TEMPLATE, example, load, registry, schema_url

#: App settings the template sets for the platform, not for Chaperone: who reads each.
PLATFORM_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "App Service's Application Insights agent (a Key Vault reference)",
    "ApplicationInsightsAgent_EXTENSION_VERSION": "App Service: switches the Python auto-instrumentation on",
    "SCM_DO_BUILD_DURING_DEPLOYMENT": "Kudu/Oryx: pip-installs the package when code is deployed",
    "WEBSITES_PORT": "App Service: the port the container listens on (the startup command binds it)",
}
#: Set by App Service itself in every process of an app with a managed identity (read by bot/teams/identity.py).
PLATFORM_PROVIDED = {"IDENTITY_ENDPOINT", "IDENTITY_HEADER"}
#: Never in a production template: secrets in clear, or the switch that turns authentication off.
FORBIDDEN = {
    "MICROSOFT_APP_PASSWORD",
    "CHAPERONE_LOCAL",
    "CHAPERONE_TABLES_CONNECTION_STRING",
    "CHAPERONE_GRAPH_CLIENT_SECRET",
    "CHAPERONE_GRAPH_CERTIFICATE_PATH",
    "CHAPERONE_DATA_DIR",
}

TEMPLATE_JSON = load(TEMPLATE)
RESOURCES = TEMPLATE_JSON["resources"]


def _validate(instance: Any, ref: str) -> list[str]:
    validator = Draft4Validator({"$ref": ref}, registry=registry())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r["type"])
def test_every_resource_validates_against_its_schema(resource: dict[str, Any]) -> None:
    ref = schema_url(resource["type"], resource["apiVersion"])
    assert (ARM / ref[len(ARM_URL) :].split("#")[0]).is_file(), (
        f"no schema copy for {resource['type']} {resource['apiVersion']}"
    )
    if resource["type"] == "Microsoft.BotService/botServices/channels":
        # Known quirk (tests/data/schemas/arm/README.md): the Channel definition cannot validate under
        # draft-04, so the channel's own properties are checked against MsTeamsChannelProperties.
        outer = {**resource, "properties": "[checked below]"}  # an ARM expression stands in for the object
        assert _validate(outer, ref) == []
        assert resource["properties"]["channelName"] == "MsTeamsChannel"
        assert (
            _validate(
                resource["properties"]["properties"], ref.split("#")[0] + "#/definitions/MsTeamsChannelProperties"
            )
            == []
        )
        return
    assert _validate(resource, ref) == []


def test_the_template_validates_against_deployment_template_json() -> None:
    schema = copy.deepcopy(load(ARM / "2019-04-01" / "deploymentTemplate.json"))
    # Each resource is checked against its own type's schema above; here every resource is held to
    # the base every ARM resource shares (the full list refers to hundreds of files not copied).
    schema["definitions"]["resource"] = {"$ref": "#/definitions/resourceBase"}
    errors = [e.message for e in Draft4Validator(schema, registry=registry()).iter_errors(TEMPLATE_JSON)]
    assert errors == []
    assert TEMPLATE_JSON["$schema"] == ARM_URL + "2019-04-01/deploymentTemplate.json#"


def test_the_parameters_file_validates_against_deployment_parameters_json() -> None:
    schema = load(ARM / "2019-04-01" / "deploymentParameters.json")
    params = load(PARAMETERS)
    assert [e.message for e in Draft4Validator(schema, registry=registry()).iter_errors(params)] == []
    declared = TEMPLATE_JSON["parameters"]
    required = {n for n, p in declared.items() if "defaultValue" not in p}
    assert required <= set(params["parameters"]) <= set(declared)


def test_the_resources_a_teams_bot_deployment_needs() -> None:
    by_type = {r["type"]: r for r in RESOURCES}
    site = by_type["Microsoft.Web/sites"]
    conf = site["properties"]["siteConfig"]
    assert site["kind"] == "app,linux" and site["properties"]["httpsOnly"] is True
    assert re.fullmatch(r"PYTHON\|3\.1[1-9]", conf["linuxFxVersion"])
    assert conf["alwaysOn"] is True and conf["ftpsState"] == "Disabled" and conf["minTlsVersion"] == "1.2"
    assert conf["healthCheckPath"] == "/healthz"
    assert site["identity"]["type"] == "UserAssigned"
    assert (
        site["properties"]["keyVaultReferenceIdentity"]
        == "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))]"
    )

    bot = by_type["Microsoft.BotService/botServices"]
    assert bot["kind"] == "azurebot" and bot["location"] == "global"
    assert bot["properties"]["msaAppType"] == "UserAssignedMSI"
    assert {"msaAppMSIResourceId", "msaAppTenantId", "msaAppId"} <= set(bot["properties"])
    assert by_type["Microsoft.BotService/botServices/channels"]["properties"]["channelName"] == "MsTeamsChannel"

    storage = by_type["Microsoft.Storage/storageAccounts"]["properties"]
    assert storage["allowSharedKeyAccess"] is False and storage["minimumTlsVersion"] == "TLS1_2"
    assert "Microsoft.Storage/storageAccounts/tableServices" in by_type
    assert by_type["Microsoft.KeyVault/vaults"]["properties"]["enableRbacAuthorization"] is True
    assert by_type["Microsoft.Insights/components"]["properties"]["WorkspaceResourceId"]
    assert "Microsoft.OperationalInsights/workspaces" in by_type

    roles = [
        r["properties"]["roleDefinitionId"] for r in RESOURCES if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    variables = TEMPLATE_JSON["variables"]
    granted = {variables[re.search(r"variables\('(\w+)'\)", role).group(1)] for role in roles}  # type: ignore[union-attr]
    assert any("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3" in g for g in granted), "Storage Table Data Contributor"
    assert any("4633458b-17de-408a-b874-0445c86b69e6" in g for g in granted), "Key Vault Secrets User"


def test_app_settings_are_what_chaperone_reads_and_everything_production_needs() -> None:
    settings = example().app_settings()
    unknown = set(settings) - set(ENV_SETTINGS) - set(PLATFORM_SETTINGS)
    assert unknown == set(), f"the template sets settings Chaperone does not read: {unknown}"
    missing = set(PRODUCTION_SETTINGS) - set(settings)
    assert missing == set(), f"production needs these and the template does not set them: {missing}"
    assert FORBIDDEN & set(settings) == set()
    for name, value in settings.items():  # secrets only as Key Vault references
        if re.search(r"KEY|SECRET|PASSWORD|CONNECTION_STRING", name, re.I):
            assert value.startswith("@Microsoft.KeyVault("), name


def test_the_settings_start_chaperone_in_azure_mode_with_the_schools_config() -> None:
    t = example()
    s = Settings.from_env(t.app_settings())
    assert not s.local_mode and s.app_type == "UserAssignedMSI" and s.app_id == s.azure_client_id
    assert s.store == "tables" and s.tables_endpoint.startswith("https://") and not s.tables_connection_string
    assert s.meetings == "graph"
    school = s.school_config()
    assert school.school.name == t.values["schoolName"] and school.school.tenant_id == t.values["tenantId"]
    assert school.school.profile == t.values["policyProfile"] and school.school.staff_domains == tuple(
        t.values["staffDomains"]
    )
    assert (s.slt_group_id, s.dsl_group_id, s.admin_group_id) == (
        t.values["sltGroupId"],
        t.values["dslGroupId"],
        t.values["adminGroupId"],
    )


@pytest.mark.parametrize("name", ['St Mary\'s C of E "Juniors"', "Back\\slash Academy", "Ysgol Gymraeg Llundain – Ŵ"])
def test_awkward_school_names_survive_into_the_toml(name: str) -> None:
    values = {k: v["value"] for k, v in load(PARAMETERS)["parameters"].items()}
    from tests.infra.arm import Template

    t = Template(TEMPLATE_JSON, {**values, "schoolName": name})
    assert Settings.from_env(t.app_settings()).school_config().school.name == name


def test_policy_profiles_offered_are_the_bundled_ones() -> None:
    assert TEMPLATE_JSON["parameters"]["policyProfile"]["allowedValues"] == bundled_ids()


def test_every_setting_chaperone_reads_is_declared() -> None:
    """The scan that keeps ENV_SETTINGS the whole contract (the manifest builder's build-time
    names are its own: it runs on the admin's machine, not in the app)."""
    read = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if path.name == "manifest.py":
            continue
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"""(?:\benv|\be|environ)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))
        read |= set(re.findall(r"""environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]""", text))
        read |= set(re.findall(r"""_read\(\s*env\s*,\s*["']([A-Z][A-Z0-9_]+)["']""", text))
    assert read, "the scan found nothing: has the way settings are read changed?"
    assert read - set(ENV_SETTINGS) - PLATFORM_PROVIDED == set()
    with pytest.raises(KeyError):
        config_module._read({}, "CHAPERONE_NOT_DECLARED")


def test_outputs_build_the_teams_app_package(tmp_path: Path) -> None:
    outputs = example().outputs()
    assert outputs["botId"] == outputs["MICROSOFT_APP_ID"]
    assert outputs["messagingEndpoint"] == f"https://{outputs['CHAPERONE_BOT_DOMAIN']}/api/messages"
    argv = shlex.split(outputs["manifestCommand"])
    assert argv[:3] == ["python", "-m", "bot.manifest"]
    out = tmp_path / "chaperone.zip"
    assert manifest_main([*argv[3:], "--out", str(out)]) == 0
    import json

    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["bots"][0]["botId"] == outputs["botId"]
    assert manifest["validDomains"] == [outputs["CHAPERONE_BOT_DOMAIN"]]
    assert manifest["developer"] == {
        "name": outputs["CHAPERONE_PUBLISHER_NAME"],
        "websiteUrl": outputs["CHAPERONE_PUBLISHER_URL"],
        "privacyUrl": outputs["CHAPERONE_PRIVACY_URL"],
        "termsOfUseUrl": outputs["CHAPERONE_TERMS_URL"],
    }


@pytest.mark.parametrize(
    ("resource_type", "path", "bad"),
    [
        ("Microsoft.Web/sites", ("properties", "siteConfig", "ftpsState"), "Sometimes"),
        ("Microsoft.BotService/botServices", ("properties", "msaAppType"), "Anonymous"),
        ("Microsoft.Storage/storageAccounts", ("properties", "allowSharedKeyAccess"), "no"),
        ("Microsoft.KeyVault/vaults", ("properties", "enableRbacAuthorization"), "yes"),
    ],
)
def test_the_schemas_are_really_applied(resource_type: str, path: tuple[str, ...], bad: Any) -> None:
    """A wrong value in the template would be caught (the validation is not vacuous)."""
    [resource] = copy.deepcopy([r for r in RESOURCES if r["type"] == resource_type])
    node = resource
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad
    assert _validate(resource, schema_url(resource_type, resource["apiVersion"])) != []


def test_the_guide_documents_the_deployment() -> None:
    guide = (ROOT / "infra" / "README.md").read_text(encoding="utf-8")
    script = (ROOT / "infra" / "tenant-setup.ps1").read_text(encoding="utf-8")
    from urllib.parse import unquote

    [button] = re.findall(r"\(https://portal\.azure\.com/#create/Microsoft\.Template/uri/([^)\s]+)\)", guide)
    assert unquote(button).startswith("https://raw.githubusercontent.com/") and unquote(button).endswith(
        "/infra/azuredeploy.json"
    )
    for name in example().app_settings():
        assert f"`{name}`" in guide or name in PLATFORM_SETTINGS, f"{name} is not explained in infra/README.md"
    for permission in (
        "GroupMember.Read.All",
        "Calendars.ReadWrite",
        "OnlineMeetings.ReadWrite.All",
        "OnlineMeetingArtifact.Read.All",
    ):
        assert f'"{permission}"' in script and f"`{permission}`" in guide
    for step in (
        "Deploy the template",
        "tenant set-up script",
        "app package",
        "staff team",
        "/setup",
        "consents",
        "/help",
    ):
        assert step in guide


async def test_the_template_settings_build_a_bot_that_demands_authentication(tmp_path: Path) -> None:
    """With the template's settings (UserAssignedMSI) the app builds without a password and refuses
    an activity that carries no Bot Framework token: fail closed."""
    import aiohttp

    from bot.app import create_app
    from bot.meetings.local import LocalMeetings
    from bot.store.tiny import TinyStore
    from tests.support.serve import serve
    from tests.teams import activities as act

    settings = Settings.from_env(example().app_settings())
    store = TinyStore(tmp_path / "data")
    runner, url = await serve(create_app(settings, store=store, meetings=LocalMeetings(store), background=False))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/healthz") as r:
                assert r.status == 200
            async with session.post(
                f"{url}/api/messages", json=act.message("/help", service_url="http://127.0.0.1:9/")
            ) as r:
                assert r.status == 401
    finally:
        await runner.cleanup()
