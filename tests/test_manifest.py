"""The Slack app manifest is valid and asks for exactly what the bot uses.

The schemas are Slack's own (tests/schemas/README.md); nothing is fetched over the network.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "schemas"
ONLINE_SCHEMAS = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

# Scopes each Web API method the bot calls needs (Slack's method docs). A tuple lists
# alternatives: any one of them is enough.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "views.open": (),
    "views.update": (),
    "views.publish": (),
    "conversations.open": ("im:write",),
    "conversations.info": ("channels:read",),
    "users.info": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "reactions.add": ("reactions:write",),
}

# Scopes each subscribed event needs before Slack delivers it.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_mention": ("app_mentions:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "reaction_added": ("reactions:read",),
    "app_uninstalled": (),
    "tokens_revoked": (),
}

# Scopes the bot needs for something other than one method or event above.
OTHER_SCOPES = {
    "commands": "the /request slash command and the message shortcut",
    "groups:read": "conversations.info on private channels",
}


def load_json(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(manifest: dict) -> Draft7Validator:
    version = manifest["_metadata"]["major_version"]
    schema = load_json(f"manifest.schema.{version}.0.0.json")
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


def bot_scopes(manifest: dict) -> set[str]:
    return set(manifest["oauth_config"]["scopes"]["bot"])


def test_validator_matches_the_schema_draft(validator: Draft7Validator) -> None:
    assert validator.META_SCHEMA["$schema"] == validator.schema["$schema"]
    assert isinstance(validator, Draft7Validator)


def test_manifest_is_valid_against_slacks_schema(manifest: dict, validator) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
    assert errors == []


def test_index_schema_picks_the_version_the_manifest_names(manifest: dict) -> None:
    """The index routes by `_metadata.major_version`; serve its online `$ref`s locally."""
    index = load_json("manifest.schema.json")
    registry = Registry().with_resources(
        (ONLINE_SCHEMAS + name, Resource.from_contents(load_json(name)))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    )
    assert manifest["_metadata"]["major_version"] == 1
    Draft7Validator(index, registry=registry, format_checker=FormatChecker()).validate(manifest)

    broken = copy.deepcopy(manifest)
    broken["features"]["shortcuts"][0]["type"] = "channel"
    with pytest.raises(ValidationError):
        Draft7Validator(index, registry=registry).validate(broken)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("features", "shortcuts", 0, "type"), "channel"),
        (("features", "slash_commands", 0, "command"), "request"),
        (("settings", "interactivity", "request_url"), "YOUR-HOST/slack/events"),
        (("display_information", "name"), "r" * 36),
        (("features", "bot_user", "always_on"), True),
    ],
    ids=["shortcut-type", "command-without-slash", "url-without-scheme", "long-name", "unknown"],
)
def test_schema_rejects_an_invalid_manifest(manifest: dict, validator, path, value) -> None:
    broken = copy.deepcopy(manifest)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        validator.validate(broken)


def test_request_slash_command(manifest: dict) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/request"
    assert command["url"].endswith("/slack/events")
    assert command["should_escape"] is False
    assert command["description"] and command["usage_hint"]


def test_file_feature_request_message_shortcut(manifest: dict) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    shortcut = shortcuts["file_feature_request"]
    assert shortcut["type"] == "message"
    assert shortcut["name"] == "File as feature request"


def test_bot_events(manifest: dict) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == sorted(EVENT_SCOPES)


@pytest.mark.parametrize("event", sorted(EVENT_SCOPES))
def test_scopes_for_each_event(manifest: dict, event: str) -> None:
    needed = EVENT_SCOPES[event]
    assert not needed or bot_scopes(manifest) & set(needed), f"{event} needs one of {needed}"


@pytest.mark.parametrize("method", sorted(METHOD_SCOPES))
def test_scopes_for_each_web_api_method(manifest: dict, method: str) -> None:
    needed = METHOD_SCOPES[method]
    assert not needed or bot_scopes(manifest) & set(needed), f"{method} needs one of {needed}"


def test_no_scope_without_a_reason(manifest: dict) -> None:
    justified = set(OTHER_SCOPES)
    for scopes in (*METHOD_SCOPES.values(), *EVENT_SCOPES.values()):
        justified.update(scopes)
    assert bot_scopes(manifest) - justified == set()
    assert "commands" in bot_scopes(manifest)
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_interactivity_and_app_home(manifest: dict) -> None:
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert app_home.get("messages_tab_read_only_enabled", False) is False
    assert manifest["features"]["bot_user"]["always_online"] is True


def test_every_request_url_is_the_bolt_events_route(manifest: dict) -> None:
    urls = [
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://YOUR-HOST/slack/oauth_redirect"]


def test_http_mode_settings(manifest: dict) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
