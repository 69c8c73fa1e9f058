"""Malformed requests to POST /slack/events: every one answered 2xx/4xx, never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.flows.helpers import requests_in
from tests.harness import CHANNEL, REP, TEAM_ID
from tests.slack.payloads import event_callback, slash_command
from tests.slack.signing import FORM, JSON


def payload(value) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(value)}), FORM


TEAM = {"id": TEAM_ID}
USER = {"id": REP, "team_id": TEAM_ID}

MALFORMED: list[tuple[str, str]] = [
    ("", FORM), ("", JSON), ("hello", FORM), ("hello", JSON), ("hello", "text/plain"),
    ('{"type": "event_callback", "event": {"type": "mess', JSON),  # truncated
    ("[1, 2, 3]", JSON), ("42", JSON), ('"event_callback"', JSON), ("null", JSON),
    ('{"type": "url_verification"}', JSON),
    ('{"type": "event_callback"}', JSON),
    ('{"type": "event_callback", "event": null}', JSON),
    ('{"type": "event_callback", "event": {}}', JSON),
    ('{"type": "event_callback", "event": "message"}', JSON),
    (json.dumps({"type": "event_callback", "team_id": TEAM_ID, "event_id": "Ev1",
                 "event": {"type": "message", "channel": CHANNEL, "thread_ts": 5,
                           "text": ["not", "text"], "user": {"id": REP}}}), JSON),
    (json.dumps({"type": "event_callback", "team_id": TEAM_ID,
                 "event": {"type": "reaction_added", "item": "nope"}}), JSON),
    (json.dumps({"type": "event_callback", "team_id": TEAM_ID,
                 "event": {"type": "app_mention", "text": None, "channel": None}}), JSON),
    (json.dumps({"type": "event_callback", "team_id": TEAM_ID,
                 "event": {"type": "app_home_opened", "user": None}}), JSON),
    (json.dumps({"type": "event_callback", "team_id": TEAM_ID,
                 "event": {"type": "app_uninstalled"}}) + "}", JSON),
    ("payload=", FORM), ("payload=not-json", FORM), ("payload=%7B%22type", FORM),
    payload(None), payload([]), payload("block_actions"), payload({}),
    payload({"type": "block_actions"}),
    payload({"type": "block_actions", "team": TEAM, "user": USER, "actions": []}),
    payload({"type": "block_actions", "team": TEAM, "user": USER, "actions": [{}]}),
    payload({"type": "block_actions", "team": TEAM, "user": USER,
             "actions": [{"action_id": "decide", "value": "99999999999999999999999"}]}),
    payload({"type": "block_actions", "team": TEAM, "user": USER,
             "actions": [{"action_id": "answer_follow_up", "value": {"x": 1}}]}),
    payload({"type": "block_actions", "team": TEAM, "user": USER,
             "actions": [{"action_id": "edit_request", "value": "-1"}]}),
    payload({"type": "block_actions", "team": TEAM, "user": USER,
             "actions": [{"action_id": "blocker_answer_1", "value": "x:y:z"}]}),
    payload({"type": "view_submission", "team": TEAM, "user": USER}),
    payload({"type": "view_submission", "team": TEAM, "user": USER, "view": None}),
    payload({"type": "view_submission", "team": TEAM, "user": USER,
             "view": {"id": "V1", "callback_id": "request_modal"}}),
    payload({"type": "view_submission", "team": TEAM, "user": USER,
             "view": {"id": "V2", "callback_id": "request_modal", "private_metadata": "{",
                      "state": {"values": {"title": "Bulk export"}}}}),
    payload({"type": "view_submission", "team": TEAM, "user": USER,
             "view": {"id": "V3", "callback_id": "request_modal",
                      "state": {"values": {"title": {"title": {"value": ["x"]}},
                                           "customer_count": {"customer_count": {"value": 1e309}},
                                           "blocker": {"blocker": {"selected_option": "x"}}}}}}),
    payload({"type": "view_submission", "team": TEAM, "user": USER,
             "view": {"id": "V4", "callback_id": "follow_up_modal", "private_metadata": "[]",
                      "state": {"values": []}}}),
    payload({"type": "view_submission", "team": TEAM, "user": USER,
             "view": {"id": "V5", "callback_id": "decision_preview",
                      "private_metadata": '{"request_id": "x"}', "state": None}}),
    payload({"type": "view_closed", "team": TEAM, "user": USER}),
    payload({"type": "message_action", "team": TEAM, "user": USER,
             "callback_id": "file_feature_request"}),
    payload({"type": "message_action", "team": TEAM, "user": USER,
             "callback_id": "file_feature_request", "trigger_id": "1.2.3",
             "message": {"text": None}, "channel": None}),
    payload({"type": "shortcut", "team": TEAM, "user": USER}),
    payload({"type": "block_suggestion", "team": TEAM, "user": USER, "action_id": "x"}),
    ("command=%2Frequest", FORM),
    ("command=%2Frequest&text=delete+99&team_id=" + TEAM_ID, FORM),
    ("command=%2Frequest&text=%00%FF&team_id=" + TEAM_ID + "&user_id=" + REP, FORM),
    (urlencode({"command": "/request", "team_id": TEAM_ID, "user_id": REP,
                "text": "x" * 5000, "trigger_id": "1.2.3"}), FORM),
    ("a=" + "&a=".join(["1"] * 2000), FORM),
    (slash_command("", REP, CHANNEL)[0], JSON),  # right body, wrong type
    (event_callback({"type": "message"})[0], FORM),
]


def test_every_malformed_request_is_answered_without_a_500(bot, slack, db):
    for body, content_type in MALFORMED:
        signed = bot.post(body, content_type)
        unsigned = bot.post(body, content_type, sign=False)
        assert signed.status_code < 500, (body[:120], signed.status_code, signed.text)
        assert unsigned.status_code == 401, body[:120]
    raw = b"\xff\xfe\x00garbage"
    from tests.slack.signing import sign

    for content_type in (FORM, JSON, "application/octet-stream"):
        headers = sign(raw, bot.signing_secret, content_type=content_type)
        response = bot.http.post(f"{bot.url}/slack/events", content=raw, headers=headers)
        assert response.status_code < 500
    bot.wait_idle()
    assert requests_in(db) == []


def test_wrong_methods_and_paths_are_refused(bot):
    events = f"{bot.url}/slack/events"
    assert bot.http.get(events).status_code == 405
    assert bot.http.put(events, content=b"{}").status_code == 405
    assert bot.http.post(f"{bot.url}/slack/nothing", content=b"{}").status_code == 404


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                               max_size=4),
    max_leaves=12,
)
KINDS = ["block_actions", "view_submission", "view_closed", "message_action", "shortcut",
         "event_callback", "block_suggestion", None]


@pytest.fixture(scope="module")
def shared_bot(tmp_path_factory, migrated_database):
    """One bot for every generated example (hypothesis runs many per test)."""
    from tests.harness import BotHarness, Clock, make_settings
    from tests.slack.double import SlackDouble

    with SlackDouble() as slack:
        harness = BotHarness(make_settings(slack.base_url, migrated_database.url),
                             migrated_database, slack, Clock())
        harness.start()
        yield harness
        harness.stop()
    from tests.conftest import empty_all_tables

    empty_all_tables(migrated_database)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(kind=st.sampled_from(KINDS), fields=st.dictionaries(
    st.sampled_from(["actions", "view", "event", "team", "user", "callback_id", "message",
                     "trigger_id", "channel", "state", "container"]), json_values, max_size=6))
def test_generated_payloads_are_never_answered_with_a_500(shared_bot, kind, fields):
    body = {"type": kind, "team": {"id": TEAM_ID}, "user": {"id": REP}, **fields}
    if kind == "event_callback":
        response = shared_bot.post(json.dumps({**body, "team_id": TEAM_ID}), JSON)
    else:
        response = shared_bot.post(*payload(body))
    assert response.status_code < 500, (body, response.text)
