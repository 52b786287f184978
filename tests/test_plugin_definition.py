"""The Meltano definitions of the extractor stay in sync with the tap's config schema.

Checked: the Hub-style definition (plugins/extractors/tap-batchimport--batchimport.yml),
the project's meltano.yml and .env.example, against ``TapBatchImport.config_jsonschema``.
When a setting is added to the tap, run ``python scripts/plugin_definition.py``.
"""

from __future__ import annotations

import importlib.util
import re
import typing as t
from pathlib import Path

import pytest
import yaml

from emulator.scenarios import demo_dataset, demo_tap_config
from emulator.server import VendorEmulator
from tap_batchimport.tap import VENDOR_TYPES, TapBatchImport

ROOT = Path(__file__).resolve().parent.parent
HUB_FILE = ROOT / "plugins" / "extractors" / "tap-batchimport--batchimport.yml"
SECRET_NAME = re.compile(r"(secret|key|token|password)$")
CONTRACT_SETTINGS = {
    "fullstory_api_key",
    "fullstory_api_url",
    "fullstory_user_import_job_ids",
    "fullstory_event_import_job_ids",
    "fullstory_include_schema",
    "druid_api_url",
    "druid_auth_url",
    "druid_client_id",
    "druid_client_secret",
    "druid_bulk_ids",
    "druid_page_size",
    "druid_failed_only",
    "sailpoint_api_url",
    "sailpoint_api_version",
    "sailpoint_client_id",
    "sailpoint_client_secret",
    "sailpoint_import_job_ids",
    "job_wait_timeout_seconds",
    "request_timeout_seconds",
    "retry_max_attempts",
    "retry_max_wait_seconds",
    "max_response_mb",
}


def load_yaml(path: Path) -> dict[str, t.Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tap_properties() -> dict[str, dict[str, t.Any]]:
    return TapBatchImport.config_jsonschema["properties"]


def expected_kind(schema: dict[str, t.Any]) -> str:
    if schema.get("enum"):
        return "options"
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    non_null = [name for name in types if name != "null"]
    assert len(non_null) == 1, schema
    return {"number": "decimal"}.get(non_null[0], non_null[0])


@pytest.fixture(scope="module")
def hub() -> dict[str, t.Any]:
    return load_yaml(HUB_FILE)


@pytest.fixture(scope="module")
def meltano_yml() -> dict[str, t.Any]:
    return load_yaml(ROOT / "meltano.yml")


@pytest.fixture(scope="module")
def extractor(meltano_yml: dict[str, t.Any]) -> dict[str, t.Any]:
    (plugin,) = [p for p in meltano_yml["plugins"]["extractors"] if p["name"] == "tap-batchimport"]
    return plugin


def test_the_tap_has_every_setting_of_the_contract() -> None:
    assert set(tap_properties()) >= CONTRACT_SETTINGS


@pytest.mark.parametrize("where", ["hub", "meltano.yml"])
def test_settings_match_the_tap_schema(
    where: str, hub: dict[str, t.Any], extractor: dict[str, t.Any]
) -> None:
    definition = hub if where == "hub" else extractor
    declared = {s["name"]: s for s in definition["settings"]}
    assert len(declared) == len(definition["settings"]), "a setting is declared twice"
    about = TapBatchImport._get_about_info().settings["properties"]
    assert set(declared) == set(about), "run: python scripts/plugin_definition.py"
    for name, schema in tap_properties().items():
        setting = declared[name]
        assert setting["kind"] == expected_kind(schema), name
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), name
        assert setting.get("label"), name
        assert setting.get("description"), name
        if setting["kind"] == "options":
            assert [o["value"] for o in setting["options"]] == schema["enum"], name
    # No credential goes unmasked: every secret-looking name is sensitive in the tap too.
    for name in tap_properties():
        if SECRET_NAME.search(name) and not name.endswith("_ids"):
            assert declared[name].get("sensitive") is True, name


@pytest.mark.parametrize("where", ["hub", "meltano.yml"])
def test_capabilities_and_setting_groups_match_the_tap(
    where: str, hub: dict[str, t.Any], extractor: dict[str, t.Any]
) -> None:
    definition = hub if where == "hub" else extractor
    assert definition["capabilities"] == [str(c) for c in TapBatchImport.capabilities]
    groups = [list(vendor.credential_keys) for vendor in VENDOR_TYPES]
    assert definition["settings_group_validation"] == groups
    names = {s["name"] for s in definition["settings"]}
    assert {name for group in groups for name in group} <= names


def test_hub_definition_has_what_the_hub_needs(hub: dict[str, t.Any]) -> None:
    for key in ("name", "namespace", "pip_url", "executable", "label", "description"):
        assert isinstance(hub[key], str) and hub[key], key
    for key in ("repo", "docs"):
        assert hub[key].startswith("https://"), key
    assert hub["name"] == "tap-batchimport"
    assert hub["namespace"] == "tap_batchimport"
    assert hub["executable"] == "tap-batchimport"
    assert HUB_FILE.stem == f"{hub['name']}--{hub['variant']}"
    assert hub["keywords"] and "meltano_sdk" in hub["keywords"]


def test_generated_files_are_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "plugin_definition", ROOT / "scripts/plugin_definition.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "run: python scripts/plugin_definition.py"


def test_meltano_yml_never_needs_meltano_hub(meltano_yml: dict[str, t.Any]) -> None:
    assert meltano_yml["send_anonymous_usage_stats"] is False
    assert meltano_yml["requires_meltano"]
    plugins = [p for kind in meltano_yml["plugins"].values() for p in kind]
    assert {p["name"] for p in plugins} >= {"tap-batchimport", "target-duckdb", "target-jsonl"}
    custom = {p["name"] for p in plugins if "inherit_from" not in p}
    for plugin in plugins:
        # A custom definition: Meltano installs and runs it without asking the Hub.
        assert "variant" not in plugin, plugin["name"]
        if "inherit_from" in plugin:
            # A shard (docs/shards.md) inherits a custom definition of this file, not the Hub's.
            assert plugin["inherit_from"] in custom, plugin["name"]
            continue
        for key in ("namespace", "pip_url", "executable"):
            assert plugin.get(key), (plugin["name"], key)
    (extractor,) = [p for p in meltano_yml["plugins"]["extractors"] if "inherit_from" not in p]
    assert extractor["pip_url"] == "-e ."
    assert extractor["namespace"] == "tap_batchimport"
    (duckdb,) = [p for p in meltano_yml["plugins"]["loaders"] if p["name"] == "target-duckdb"]
    # target-duckdb 0.8.0 with duckdb 2.x loses the first row of every stream.
    assert re.search(r"(^|\s)duckdb==1\.", duckdb["pip_url"]), duckdb["pip_url"]
    # ... and loses the first row of every batch of an all-text table without these columns.
    assert duckdb["config"]["add_metadata_columns"] is True


def test_meltano_yml_environments(meltano_yml: dict[str, t.Any]) -> None:
    environments = {e["name"]: e for e in meltano_yml["environments"]}
    assert set(environments) >= {"dev", "prod", "demo"}
    assert meltano_yml["default_environment"] == "dev"
    # dev and prod carry no credential: those come from the environment / .env.
    for name in ("dev", "prod"):
        text = yaml.safe_dump(environments[name])
        assert not re.search(r"(api_key|client_secret|client_id)\b", text), name


def test_demo_environment_matches_the_emulator_demo(meltano_yml: dict[str, t.Any]) -> None:
    (demo,) = [e for e in meltano_yml["environments"] if e["name"] == "demo"]
    (tap,) = [p for p in demo["config"]["plugins"]["extractors"] if p["name"] == "tap-batchimport"]
    with VendorEmulator(demo_dataset()) as emulator:
        base = emulator.base_url
        wanted = demo_tap_config(emulator)
    urls = {k for k in wanted if k.endswith("_url")}
    assert {k: v for k, v in tap["config"].items() if k not in urls} == {
        k: v for k, v in wanted.items() if k not in urls
    }
    for key in urls:
        # Same path on the emulator; scripts/demo.py replaces host and port.
        assert tap["config"][key].removeprefix("http://127.0.0.1:8765") == wanted[key].removeprefix(
            base
        )


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s*TAP_BATCHIMPORT_([A-Z0-9_]+)=", text, flags=re.MULTILINE))
    about = TapBatchImport._get_about_info().settings["properties"]
    assert {name.upper() for name in about} == listed
