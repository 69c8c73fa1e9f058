"""The payload builders and SlackClient, checked by a real Bolt app that verifies signatures
and routes each payload to the listener Slack's real payload would reach."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import jsonschema
import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from tests.slack import payloads
from tests.slack.double import SlackDouble
from tests.slack.payloads import SlackClient
from tests.slack.specs import event_wrapper_schema

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
REP, DECIDER, CHANNEL = "U0REP0001", "U0PM00001", "C0SALES01"


@pytest.fixture
def double() -> Iterator[SlackDouble]:
    with SlackDouble() as running:
        yield running
        assert running.violations == []


@pytest.fixture
def seen() -> dict:
    return {}


@pytest.fixture
def app(double: SlackDouble, seen: dict) -> App:
    app = App(signing_secret=SECRET,
              client=WebClient(token="xoxb-1-payload-test", base_url=double.base_url),
              token_verification_enabled=False,
              process_before_response=True)

    @app.command("/request")
    def command(ack, command, client):
        ack()
        seen["command"] = command
        client.views_open(trigger_id=command["trigger_id"], view={
            "type": "modal", "callback_id": "request_modal", "private_metadata": CHANNEL,
            "title": {"type": "plain_text", "text": "New request"},
            "submit": {"type": "plain_text", "text": "File"},
            "blocks": [{"type": "input", "block_id": "title", "label": {
                "type": "plain_text", "text": "Title"},
                "element": {"type": "plain_text_input", "action_id": "value"}}],
        })

    @app.shortcut("file_feature_request")
    def message_shortcut(ack, shortcut):
        ack()
        seen["shortcut"] = shortcut

    @app.shortcut("new_request")
    def global_shortcut(ack, shortcut):
        ack()
        seen["global"] = shortcut

    @app.action("decide")
    def decide(ack, body, action):
        ack()
        seen["action"] = (body, action)

    @app.view("request_modal")
    def submit(ack, view, body):
        ack(response_action="errors", errors={"title": "Too short"})
        seen["view"] = view

    @app.view_closed("request_modal")
    def closed(ack, view):
        ack()
        seen["closed"] = view

    @app.event("app_mention")
    def mention(event, request):
        seen["mention"] = (event, request.headers.get("x-slack-retry-num"))

    @app.event("reaction_added")
    def reaction(event):
        seen["reaction"] = event

    @app.event("app_home_opened")
    def home(event):
        seen["home"] = event

    @app.event("message")
    def message(event):
        seen["message"] = event

    return app


@pytest.fixture
def slack(app: App) -> Iterator[SlackClient]:
    transport = httpx.WSGITransport(app=SlackRequestHandler(app))
    client = SlackClient("http://bot.test", SECRET, transport=transport)
    yield client
    client.close()


def test_slash_command_is_form_encoded_like_slacks(slack: SlackClient, double, seen) -> None:
    body, content_type = payloads.slash_command("Bulk export", REP, CHANNEL, "T0TEAM001")
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert content_type == "application/x-www-form-urlencoded"
    assert {"token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
            "command", "text", "api_app_id", "is_enterprise_install", "response_url",
            "trigger_id"} <= fields.keys()

    assert slack.command("Bulk export", REP, CHANNEL).status_code == 200
    assert seen["command"]["text"] == "Bulk export" and seen["command"]["user_id"] == REP
    [opened] = double.wait_for("views.open")
    assert opened.args["trigger_id"] == seen["command"]["trigger_id"]


def test_view_submission_of_the_opened_modal(slack: SlackClient, double, seen) -> None:
    slack.command("", REP, CHANNEL)
    view = double.wait_for("views.open")[0].response["view"]
    state = {"title": {"value": payloads.text_state("CSV")}}
    response = slack.submit_view("request_modal", state, REP, private_metadata=CHANNEL, view=view)

    assert response.json() == {"response_action": "errors", "errors": {"title": "Too short"}}
    assert seen["view"]["id"] == view["id"] and seen["view"]["hash"] == view["hash"]
    assert seen["view"]["state"]["values"]["title"]["value"]["value"] == "CSV"
    assert seen["view"]["private_metadata"] == CHANNEL
    assert slack.close_view("request_modal", REP, view=view).status_code == 200
    assert seen["closed"]["id"] == view["id"]


def test_message_and_global_shortcuts(slack: SlackClient, seen) -> None:
    message = {"ts": "1699999999.000100", "user": REP, "text": "Acme needs CSV export"}
    assert slack.shortcut("file_feature_request", REP, message=message,
                          channel_id=CHANNEL).status_code == 200
    assert slack.shortcut("new_request", REP).status_code == 200
    shortcut = seen["shortcut"]
    assert shortcut["type"] == "message_action" and shortcut["channel"]["id"] == CHANNEL
    assert shortcut["message"]["text"] == message["text"] and shortcut["message_ts"] == message["ts"]
    assert seen["global"]["type"] == "shortcut" and seen["global"]["trigger_id"]


def test_button_click_on_a_posted_card(slack: SlackClient, double, seen) -> None:
    client = WebClient(token="xoxb-1", base_url=double.base_url)
    card = client.chat_postMessage(channel=CHANNEL, text="Request #7", blocks=[
        {"type": "actions", "block_id": "card_7", "elements": [{
            "type": "button", "action_id": "decide", "value": "7",
            "text": {"type": "plain_text", "text": "Decide"}}]}])["message"]
    assert slack.action("decide", DECIDER, value="7", channel_id=CHANNEL,
                        message=card).status_code == 200
    body, action = seen["action"]
    assert (action["block_id"], action["value"], action["type"]) == ("card_7", "7", "button")
    assert body["container"] == {"type": "message", "message_ts": card["ts"],
                                 "channel_id": CHANNEL, "is_ephemeral": False}
    assert body["user"]["id"] == DECIDER and body["response_url"]


def test_events_conform_to_slacks_event_wrapper(slack: SlackClient, seen) -> None:
    mention = payloads.app_mention_event(CHANNEL, REP, "<@U0BOT0001> hi", "1699999999.000100")
    body, content_type = payloads.event_callback(mention, "T0TEAM001")
    jsonschema.validate(json.loads(body), event_wrapper_schema())
    assert content_type == "application/json"

    assert slack.event(mention, retry_num=1).status_code == 200
    assert seen["mention"] == (mention, ["1"])
    slack.event(payloads.reaction_added_event(DECIDER, "feature", CHANNEL, "1.000100", REP))
    slack.event(payloads.app_home_opened_event(DECIDER))
    slack.event(payloads.message_event(CHANNEL, REP, "4 customers", thread_ts="1.000100"))
    assert seen["reaction"]["item"] == {"type": "message", "channel": CHANNEL, "ts": "1.000100"}
    assert seen["home"]["tab"] == "home"
    assert seen["message"]["thread_ts"] == "1.000100"


def test_url_verification_is_answered(slack: SlackClient) -> None:
    response = slack.post(*payloads.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"))
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"}


def test_unsigned_wrongly_signed_and_stale_requests_are_refused(slack: SlackClient, seen) -> None:
    body, content_type = payloads.slash_command("x", REP, CHANNEL)
    assert slack.post(body, content_type, sign=False).status_code == 401
    stale = int(time.time()) - 10 * 60
    assert slack.post(body, content_type, timestamp=stale).status_code == 401
    forged = SlackClient(slack.url.removesuffix("/slack/events"), "wrong-secret",
                         transport=slack.http._transport)
    assert forged.post(body, content_type).status_code == 401
    assert "command" not in seen
