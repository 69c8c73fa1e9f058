"""Driving the bot the way a person in Slack does: open a modal, fill it in, submit it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from models import Customer, Request, RequestCustomer
from tests.harness import TEAM_ID
from tests.slack.double import Call
from tests.slack.payloads import date_state, number_state, select_state, text_state

STATE_OF = {
    "plain_text_input": text_state,
    "number_input": lambda v: number_state(v, decimal=False),
    "static_select": select_state,
    "datepicker": date_state,
}


def state_for(view: dict[str, Any], values: dict[str, str | None]) -> dict[str, Any]:
    """Modal state as Slack reports it: every input of `view`, filled from `values`."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        state[block["block_id"]] = {element["action_id"]: STATE_OF[element["type"]](value)}
    unknown = set(values) - set(state)
    assert not unknown, f"the modal has no inputs {unknown}"
    return state


def initial_values(view: dict[str, Any]) -> dict[str, Any]:
    """What a modal shows before the user types: each input's initial value."""
    shown: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = (element.get("initial_value") or element.get("initial_date")
                 or (element.get("initial_option") or {}).get("value"))
        shown[block["block_id"]] = value
    return shown


def labels_of(view: dict[str, Any]) -> dict[str, str]:
    return {b["block_id"]: b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}


def opened_view(slack, count: int = 1) -> dict[str, Any]:
    call = slack.wait_for("views.open", count=count)[count - 1]
    return call.response["view"]


def submit(bot, view: dict[str, Any], user: str, values: dict[str, str | None]):
    return bot.submit_view(
        view["callback_id"], state_for(view, values), user,
        private_metadata=view.get("private_metadata", ""), view=view,
    )


def requests_in(db) -> list[Request]:
    with db.sessions() as session:
        return list(session.scalars(select(Request).order_by(Request.id)))


def posted(slack, purpose_text: str | None = None, **match: Any) -> list[Call]:
    calls = slack.calls_to("chat.postMessage")
    return [
        c for c in calls
        if all(c.args.get(k) == v for k, v in match.items())
        and (purpose_text is None or purpose_text in c.args.get("text", ""))
    ]


def all_text(call: Call) -> str:
    """Everything a message shows: its text and its blocks, as Slack would render them."""
    return call.args.get("text", "") + json.dumps(call.args.get("blocks", []))


def button(call: Call, label: str) -> dict[str, Any]:
    for block in call.args.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return element
    raise AssertionError(f"no {label!r} button in {call.args.get('blocks')}")


__all__ = ["TEAM_ID"]


def customer_names(db) -> list[str]:
    """The customers linked to requests, in the order they were linked."""
    with db.sessions() as session:
        return list(session.scalars(
            select(Customer.name).join(RequestCustomer, RequestCustomer.customer_id == Customer.id)
            .order_by(RequestCustomer.id)))
