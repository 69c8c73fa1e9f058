"""Reading Slack's request bodies (bot/intake.py): as urllib and Bolt read them, where
Bolt reads them right."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body as bolt_parse_body

from bot.intake import parse_body, percent_decoded
from tests.harness import CHANNEL, REP
from tests.slack.payloads import (
    block_actions,
    event_callback,
    message_event,
    slash_command,
    text_state,
    view_submission,
)

PIECES = ["%", "%%", "%2", "%4Z", "%zz", "%3D", "%25", "%2B", "%0A", "%0d", "%C3%A9", "%e2%82%ac",
          "%F0%9F%98%80", "%FF", "%80", "+", "=", "&", "\n", "\r", " ", "_", "é", "a", "Z", "0"]


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=12))
def test_a_form_value_is_decoded_as_urllib_decodes_it(pieces):
    value = "".join(pieces)
    assert percent_decoded(value) == unquote_plus(value)


def test_every_byte_escaped_either_case_is_decoded_as_urllib_decodes_it():
    for byte in range(256):
        value = f"a%{byte:02X}b%{byte:02x}+c"
        assert percent_decoded(value) == unquote_plus(value)


def test_a_whole_modal_submitted_reads_back_as_the_json_it_was():
    view = {"blocks": [{"type": "input", "label": {"text": f"Label {i} é <&> \"q\" = 100%\n"}}
                       for i in range(40)]}
    assert percent_decoded(urlencode({"payload": json.dumps(view)})[len("payload="):]) \
        == json.dumps(view)


@pytest.mark.parametrize("made", [
    lambda: slash_command("Bulk CSV export for Acme, 3 customers, $120k ARR", REP, CHANNEL),
    lambda: slash_command("", REP, CHANNEL),
    lambda: slash_command("a=b&c=d 100% + 50%", REP, CHANNEL),
    lambda: block_actions("blocker_answer_deal_blocker", "7:deal_blocker", REP, channel_id=CHANNEL,
                          message={"ts": "1.2", "blocks": [{
                              "type": "actions", "block_id": "follow_up_7", "elements": [{
                                  "type": "button", "action_id": "blocker_answer_deal_blocker",
                                  "value": "7:deal_blocker"}]}]}),
    lambda: view_submission("request_modal", {"title": {"title": text_state("Dark mode & more")}},
                            "{}", REP),
    lambda: event_callback(message_event(CHANNEL, REP, "3 customers <@U1> & co", thread_ts="1.2")),
])
def test_slack_bodies_read_as_bolt_reads_them(made):
    body, content_type = made()
    assert parse_body(body, content_type) == bolt_parse_body(body, content_type)


def test_a_command_whose_text_says_payload_keeps_its_fields():
    """Bolt takes any form with "payload" in it for an interactive payload, and reads the
    command as empty."""
    body, content_type = slash_command("Signed webhook payload for Acme", REP, CHANNEL)
    assert bolt_parse_body(body, content_type) == {}
    read = parse_body(body, content_type)
    assert read["command"] == "/request" and read["text"] == "Signed webhook payload for Acme"
