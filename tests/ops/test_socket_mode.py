"""`requestbot serve` in Socket Mode (SLACK_APP_TOKEN set): the same listeners over a WebSocket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from bot.slack_ids import Callback
from tests.flows.helpers import requests_in, state_for
from tests.harness import CHANNEL, REP, ServedBot
from tests.slack.payloads import slash_command, view_submission
from tests.slack.socket_mode import SocketModeDouble

APP_TOKEN = "xapp-1-A0REQBOT01-1234-socketmodetoken"


@pytest.fixture
def socket(slack) -> Iterator[SocketModeDouble]:
    with SocketModeDouble() as double:
        slack.workspace.socket_mode_url = double.url
        yield double


@pytest.fixture
def socket_bot(tmp_path, slack, db, socket) -> Iterator[ServedBot]:
    process = ServedBot(tmp_path, slack.base_url, db.url,
                        {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": ""})
    process.start()
    yield process
    process.stop()


def test_socket_mode_connects_and_answers_a_command_with_the_same_listeners(
    socket_bot, socket, slack, db
):
    socket.wait_connected()
    [opened] = slack.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN  # the app-level token, only for this call
    assert socket.paths[0].startswith("/link/?ticket=")

    fields = dict(parse_qsl(slash_command("", REP, CHANNEL)[0]))
    ack = socket.wait_for_ack(socket.send("slash_commands", fields))
    assert not ack.get("payload")  # an empty ack: the modal opens instead
    [call] = slack.wait_for("views.open", timeout=30)
    assert call.args["trigger_id"] == fields["trigger_id"]
    view = call.response["view"]
    assert view["callback_id"] == Callback.REQUEST_MODAL

    payload = json.loads(dict(parse_qsl(view_submission(
        view["callback_id"], state_for(view, {"title": "Bulk CSV export"}),
        view["private_metadata"], REP, view=view,
    )[0]))["payload"])
    ack = socket.wait_for_ack(socket.send("interactive", payload))
    assert not ack.get("payload")
    [card] = slack.wait_for("chat.postMessage", timeout=30)
    assert card.args["channel"] == CHANNEL and "Bulk CSV export" in card.args["text"]
    assert [r.title for r in requests_in(db)] == ["Bulk CSV export"]


def test_socket_mode_answers_inline_errors_in_the_ack(socket_bot, socket, slack, db):
    socket.wait_connected()
    fields = dict(parse_qsl(slash_command("", REP, CHANNEL)[0]))
    socket.wait_for_ack(socket.send("slash_commands", fields))
    view = slack.wait_for("views.open", timeout=30)[0].response["view"]
    payload = json.loads(dict(parse_qsl(view_submission(
        view["callback_id"], state_for(view, {"title": "   "}), view["private_metadata"], REP,
        view=view,
    )[0]))["payload"])
    ack = socket.wait_for_ack(socket.send("interactive", payload))
    assert ack["payload"]["response_action"] == "errors"
    assert "title" in ack["payload"]["errors"]
    assert requests_in(db) == []
