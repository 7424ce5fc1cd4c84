"""infra/ (Bicep) and azure.yaml, checked by parsing: every file with a real Bicep parser, each
module call against the module it calls, and the resources and parameters docs/hosting-azure.md
promises, against the Settings and commands of the app they deploy. No `azd up` runs here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.auth import parse_api_keys
from app.cli import COMMANDS
from app.config import ENVIRONMENT, ServerSettings, Settings
from app.errors import ConfigError
from app.main import create_app
from tests.deploy.bicep import (
    INFRA,
    bicep_files,
    body,
    condition,
    conditional,
    decorator,
    key,
    keys,
    module_file,
    parse,
    resources_of_type,
)
from tests.test_deployment import ROOT

MAIN = INFRA / "main.bicep"
POSTGRES = INFRA / "core/database/postgresql-flexible.bicep"
APP = INFRA / "app/pgask.bicep"
FLEXIBLE = "Microsoft.DBforPostgreSQL/flexibleServers"


def _main() -> dict[str, Any]:
    return parse(MAIN)


def _postgres() -> dict[str, Any]:
    return parse(POSTGRES)


def _variable(tree: dict[str, Any], name: str) -> Any:
    return tree["variables"][name]["value"]


def _azure_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "azure.yaml").read_text())
    return loaded


def _parameters_json() -> dict[str, Any]:
    parameters: dict[str, Any] = json.loads((INFRA / "main.parameters.json").read_text())[
        "parameters"
    ]
    return parameters


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path} declares nothing"


def test_every_module_call_matches_the_module_it_calls() -> None:
    """What `bicep build` would refuse: a module path that is not there, a parameter the module
    does not declare, or one it requires (no default) left out."""
    calls = 0
    for path in bicep_files():
        for name, module in parse(path).get("modules", {}).items():
            target = module_file(module, path)
            assert target.is_file(), f"{path}: module {name} -> {target} is missing"
            declared = parse(target)["parameters"]
            passed = keys(body(module)["params"])
            assert passed <= set(declared), f"{name}: unknown {passed - set(declared)}"
            required = {p for p, spec in declared.items() if spec["default"] is None}
            assert required <= passed, f"{name} leaves out {required - passed}"
            calls += 1
    assert calls >= 7


def test_postgres_18_flexible_server_with_pgvector_allow_listed() -> None:
    tree = _postgres()
    (server,) = (
        r for r in resources_of_type(tree, FLEXIBLE).values() if not condition(r)
    )  # the primary; the replica is conditional
    # 2025-08-01 is the first GA API version whose `version` enum has '18' (checked in the
    # ARM schema; docs/hosting-azure.md).
    assert server["api_version"] == "2025-08-01"
    properties = body(server)["properties"]
    assert properties["version"] == "postgresVersion"
    assert _variable(tree, "postgresVersion") == "18"
    (extensions,) = (
        body(r)
        for r in resources_of_type(tree, f"{FLEXIBLE}/configurations").values()
        if body(r)["name"] == "azure.extensions"
    )
    assert "VECTOR" in extensions["properties"]["value"].upper().split(",")
    assert extensions["properties"]["source"] == "user-override"
    (database,) = resources_of_type(tree, f"{FLEXIBLE}/databases").values()
    assert body(database)["name"] == "databaseName"


def test_size_tier_storage_backup_and_ha_are_parameters() -> None:
    tree = _postgres()
    parameters = tree["parameters"]
    server = body(tree["resources"]["server"])
    assert server["sku"] == {"name": "skuName", "tier": "skuTier"}
    assert set(decorator(parameters["skuTier"], "allowed")) == {
        "Burstable",
        "GeneralPurpose",
        "MemoryOptimized",
    }
    properties = server["properties"]
    assert properties["storage"]["storageSizeGB"] == "storageSizeGB"
    assert 32 in decorator(parameters["storageSizeGB"], "allowed")
    assert properties["backup"]["backupRetentionDays"] == "backupRetentionDays"
    assert decorator(parameters["backupRetentionDays"], "min_value") == 7
    assert decorator(parameters["backupRetentionDays"], "max_value") == 35
    geo = conditional(properties["backup"]["geoRedundantBackup"])
    assert (geo["condition"], geo["true_value"]) == ("geoRedundantBackup", "Enabled")
    ha = conditional(properties["highAvailability"]["mode"])
    assert (ha["condition"], ha["true_value"], ha["false_value"]) == (
        "zoneRedundantHa",
        "ZoneRedundant",
        "Disabled",
    )
    assert parameters["zoneRedundantHa"]["default"] is False  # optional, off by default


def test_read_replica_is_optional_and_streams_from_the_primary() -> None:
    tree = _postgres()
    replica = tree["resources"]["replica"]
    assert replica["type"] == FLEXIBLE
    assert condition(replica) == "readReplica"
    properties = body(replica)["properties"]
    assert properties["createMode"] == "Replica"
    assert properties["sourceServerResourceId"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "server", "operand_2": "id"},
        }
    }
    assert tree["parameters"]["readReplica"]["default"] is False
    assert "replicaHost" in tree["outputs"]


def test_main_passes_each_postgres_choice_through_as_its_own_parameter() -> None:
    main = _main()
    params = body(main["modules"]["postgres"])["params"]
    for module_parameter, main_parameter in {
        "skuName": "postgresSkuName",
        "skuTier": "postgresSkuTier",
        "storageSizeGB": "postgresStorageSizeGB",
        "zoneRedundantHa": "postgresZoneRedundantHa",
        "backupRetentionDays": "postgresBackupRetentionDays",
        "geoRedundantBackup": "postgresGeoRedundantBackup",
        "readReplica": "postgresReadReplica",
        "replicaLocation": "postgresReplicaLocation",
        "location": "location",
    }.items():
        assert params[module_parameter] == main_parameter
        assert main_parameter in main["parameters"]
    location = main["parameters"]["location"]
    assert decorator(location, "metadata") == {"azd": {"type": "location"}}  # azd asks for it
    assert main["globals"]["scope"]["value"] == "subscription"


def test_the_replica_is_wired_into_database_read_urls() -> None:
    main = _main()
    assert _variable(main, "databaseReadUrls").startswith("postgresql://${credentials}@${")
    assert "postgres.outputs.replicaHost" in _variable(main, "databaseReadUrls")
    secrets = conditional(_variable(main, "replicaSecrets"))
    assert secrets["condition"] == "postgresReadReplica"
    assert secrets["true_value"] == {"'database-read-urls'": "databaseReadUrls"}
    env = conditional(_variable(main, "readUrlsEnv"))
    assert env["condition"] == "postgresReadReplica"
    assert env["true_value"] == [{"name": "DATABASE_READ_URLS", "secretRef": "database-read-urls"}]
    vault = conditional(_variable(main, "replicaVaultSecrets"))["true_value"]
    assert vault == {"'database-read-urls'": "${keyVault.outputs.uri}secrets/database-read-urls"}


def test_database_urls_are_valid_settings() -> None:
    """The URLs main.bicep writes to Key Vault, with sample values in its interpolations,
    load as DATABASE_URL and DATABASE_READ_URLS."""
    main = _main()
    samples = {
        "credentials": "pgaskadmin:s3cret",
        "postgres.outputs.host": "psql-x.postgres.database.azure.com",
        "postgres.outputs.replicaHost": "psql-x-replica.postgres.database.azure.com",
        "databaseName": "pgask",
    }

    def fill(template: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: samples[m.group(1)], template)

    url, read_url = fill(_variable(main, "databaseUrl")), fill(_variable(main, "databaseReadUrls"))
    settings = Settings(_env_file=None, database_url=url, database_read_urls=read_url)
    assert settings.replicas.urls == (read_url,)
    assert url.endswith("/pgask?sslmode=require")  # Flexible Server refuses plain connections


def test_database_url_comes_from_key_vault_through_the_apps_identity() -> None:
    main, app = _main(), parse(APP)
    assert "'database-url'" in _variable(main, "baseSecrets")
    assert _variable(main, "baseVaultSecrets")["'database-url'"] == (
        "${keyVault.outputs.uri}secrets/database-url"
    )
    (database_url,) = (e for e in _variable(main, "baseApiEnv") if e["name"] == "DATABASE_URL")
    assert database_url == {"name": "DATABASE_URL", "secretRef": "database-url"}
    secrets = body(app["resources"]["app"])["properties"]["configuration"]["secrets"]
    # A Key Vault reference read with the user-assigned identity: no value in the app.
    assert set(secrets["config"]) == {"name", "keyVaultUrl", "identity"}
    assert secrets["config"]["identity"] == "identityId"
    vault = parse(INFRA / "core/security/keyvault.bicep")
    assert body(vault["resources"]["vault"])["properties"]["enableRbacAuthorization"] is True
    role = body(vault["resources"]["readerRole"])["properties"]
    assert role["principalId"] == "readerPrincipalId"
    assert "4633458b-17de-408a-b874-0445c86b69e6" in str(vault["variables"])  # Secrets User


def test_every_environment_variable_set_in_bicep_is_a_setting() -> None:
    fields = set(ENVIRONMENT)
    main = _main()
    names = {
        entry["name"]
        for variable in ("baseApiEnv", "workerEnv")
        for entry in _variable(main, variable)
    }
    names |= {e["name"] for e in conditional(_variable(main, "readUrlsEnv"))["true_value"]}
    assert names <= fields, names - fields
    assert {"DATABASE_URL", "DATABASE_READ_URLS", "PGASK_API_KEYS"} <= names
    values = {e["name"]: e["value"] for e in _variable(main, "baseApiEnv") if "value" in e}
    values.pop("PGASK_INGEST_WORKER")  # a conditional, checked below
    Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})


def test_api_serves_on_its_port_with_probes_on_healthz_and_readyz() -> None:
    main, app = _main(), parse(APP)
    api = body(main["modules"]["api"])["params"]
    port = api["targetPort"]
    env = {e["name"]: e.get("value") for e in _variable(main, "baseApiEnv")}
    assert str(port) == env["PGASK_PORT"] == str(ServerSettings.model_fields["port"].default)
    assert env["PGASK_HOST"] == "0.0.0.0"
    probes = {p["type"]: p["httpGet"] for p in _variable(app, "probes")}
    assert probes["Liveness"]["path"] == "/healthz"
    assert probes["Readiness"]["path"] == "/readyz"
    assert probes["Startup"]["path"] == "/healthz"
    assert {p["port"] for p in probes.values()} == {"targetPort"}
    container = body(app["resources"]["app"])["properties"]["template"]["containers"][0]
    assert conditional(container["probes"])["true_value"] == "probes"
    assert app["parameters"]["targetPort"]["default"] == port
    assert {"/healthz", "/readyz"} <= set(create_app(Settings(_env_file=None)).openapi()["paths"])


def test_the_public_api_requires_a_key_of_the_length_pgask_accepts() -> None:
    main = _main()
    minimum = decorator(main["parameters"]["pgaskAdminKey"], "min_length")
    assert decorator(main["parameters"]["pgaskAdminKey"], "secure") is True
    assert _variable(main, "baseSecrets")["'pgask-api-keys'"] == "admin:${pgaskAdminKey}"
    parse_api_keys("admin:" + "k" * minimum)
    with pytest.raises(ConfigError):
        parse_api_keys("admin:" + "k" * (minimum - 1))


def test_optional_worker_app_runs_pgask_worker() -> None:
    main = _main()
    worker = main["modules"]["worker"]
    assert condition(worker) == "deployWorker"
    assert main["parameters"]["deployWorker"]["default"] is False
    params = body(worker)["params"]
    command = params["command"]
    assert (
        command[0] == "pgask"
        and command[1] in COMMANDS
        and COMMANDS[command[1]].__name__ == "worker"
    )
    assert params["http"] is False  # no ingress, so no HTTP probes either
    assert params["image"] == body(main["modules"]["api"])["params"]["image"] == "apiImage"
    env = {e["name"]: e["value"] for e in _variable(main, "workerEnv") if "value" in e}
    assert env["PGASK_AUTO_MIGRATE"] == "0"  # only the API migrates
    ingest = next(e for e in _variable(main, "baseApiEnv") if e["name"] == "PGASK_INGEST_WORKER")
    assert conditional(ingest["value"])["condition"] == "deployWorker"


def test_image_is_a_parameter_or_the_one_azd_builds() -> None:
    main = _main()
    assert main["parameters"]["pgaskImage"]["default"] == ""
    image = conditional(_variable(main, "apiImage"))
    assert image["condition"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "pgaskImage"}}
    }
    assert (image["true_value"], image["false_value"]) == ("existingApiImage", "pgaskImage")
    # Without one: the image azd deployed last (apiExists), else a placeholder until it does.
    built = conditional(_variable(main, "existingApiImage"))
    assert built["condition"] == "apiExists" == key(condition(main["resources"]["existingApi"]))
    assert built["false_value"] == "placeholderImage"
    registry = parse(INFRA / "core/host/container-registry.bicep")
    properties = body(registry["resources"]["registry"])["properties"]
    assert properties["adminUserEnabled"] is False  # pulled with the managed identity
    assert "7f951dda-4ed3-4680-a7ca-43fe172d538d" in str(registry["variables"])  # AcrPull


def test_outputs_include_the_apps_url() -> None:
    main, app = _main(), parse(APP)
    assert main["outputs"]["PGASK_URL"]["value"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {
                "operand_1": "api",
                "operand_2": {
                    "operator": {
                        "type": "property_accessor",
                        "operands": {"operand_1": "outputs", "operand_2": "uri"},
                    }
                },
            },
        }
    }
    assert "https://" in json.dumps(app["outputs"]["uri"]["value"])
    # azd needs these to push the image and find the app
    assert {
        "AZURE_CONTAINER_REGISTRY_ENDPOINT",
        "AZURE_CONTAINER_ENVIRONMENT_NAME",
        "AZURE_KEY_VAULT_NAME",
        "AZURE_RESOURCE_GROUP",
    } <= set(main["outputs"])


def test_parameters_file_names_real_parameters_and_every_required_one() -> None:
    main = _main()
    declared = main["parameters"]
    given = _parameters_json()
    assert set(given) <= set(declared), set(given) - set(declared)
    required = {name for name, spec in declared.items() if spec["default"] is None}
    assert required <= set(given), required - set(given)
    # The generated password is read back from the secret main.bicep stores it in.
    reader = given["postgresAdminPassword"]["value"]
    match = re.fullmatch(r"\$\(secretOrRandomPassword \$\{AZURE_KEY_VAULT_NAME\} (\w+)\)", reader)
    assert match and f"{match.group(1)}" in keys(_variable(main, "baseSecrets"))
    assert "AZURE_KEY_VAULT_NAME" in main["outputs"]


def test_azure_yaml_deploys_the_dockerfile_as_the_api_app() -> None:
    azure = _azure_yaml()
    assert azure["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (ROOT / azure["infra"]["path"] / f"{azure['infra']['module']}.bicep") == MAIN
    (name, service), *others = azure["services"].items()
    assert not others
    assert service["host"] == "containerapp"
    assert (ROOT / service["project"] / service["docker"]["path"]).resolve() == ROOT / "Dockerfile"
    # azd finds the app by its azd-service-name tag, which main.bicep gives the api module.
    assert body(_main()["modules"]["api"])["params"]["azdServiceName"] == name
    assert _parameters_json()["apiExists"]["value"].startswith(
        f"${{SERVICE_{name.upper()}_RESOURCE_EXISTS"
    )


def test_postdeploy_hook_is_valid_shell_using_real_outputs() -> None:
    hook = _azure_yaml()["services"]["api"]["hooks"]["postdeploy"]["posix"]
    script = ROOT / hook["run"]
    subprocess.run(["sh", "-n", str(script)], check=True)
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script.read_text()))
    outputs = set(_main()["outputs"])
    # Set by azd itself after it deploys the api service:
    assert used - outputs == {"SERVICE_API_IMAGE_NAME"}
