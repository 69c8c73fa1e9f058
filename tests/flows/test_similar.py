"""A rep re-filing something already on file is offered the existing request, in the thread
and in the modal as they type the title; `Add to #N` merges their ask into it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.services.facts import request_facts
from bot.slack_ids import Action, Field
from models import Activity, Decision, RequestStatus
from tests.flows.helpers import all_text, button, opened_view, requests_in, state_for, submit
from tests.harness import CHANNEL, OTHER_REP, REP


def file(bot, slack, user: str, values: dict) -> None:
    count = len(slack.calls_to("views.open")) + 1
    bot.command("", user, CHANNEL)
    submit(bot, opened_view(slack, count), user, values)
    bot.wait_idle()


def add_button(call, label: str) -> dict:
    """An `Add to #N` button: each sits beside its match (a section's accessory)."""
    for block in call.args.get("blocks", []):
        accessory = block.get("accessory") or {}
        if accessory.get("text", {}).get("text") == label:
            return accessory
    raise AssertionError(f"no {label!r} button")


def suggestions(slack) -> list:
    return [c for c in slack.calls_to("chat.postMessage") if "Looks like" in c.args["text"]]


def test_a_paraphrase_is_offered_in_the_new_requests_thread_and_added(bot, slack, db):
    file(bot, slack, REP, {"title": "Bulk CSV export", "customers": "Acme",
                           "revenue": "$120k"})
    file(bot, slack, REP, {"title": "Dark mode", "customers": "Globex"})
    assert suggestions(slack) == []  # nothing similar on file for either
    file(bot, slack, OTHER_REP, {"title": "Download data as a spreadsheet",
                                 "customers": "Initech", "revenue": "$40k"})
    first, _, new = requests_in(db)
    [offer] = suggestions(slack)
    assert offer.args["thread_ts"] == new.thread_ts
    assert offer.args["text"].startswith(f"Looks like #{first.id} Bulk CSV export (1 customer, "
                                         "$120,000). Add your customer to it?")
    add = add_button(offer, f"Add to #{first.id}")
    assert button(offer, "It's different")
    assert f"#{new.id}" not in all_text(offer).split("Looks like")[1][:20]

    message = offer.response["message"]
    bot.action(add["action_id"], OTHER_REP, value=add["value"], channel_id=CHANNEL,
               message=message)
    bot.wait_idle()
    merged = requests_in(db)[2]
    assert merged.status == RequestStatus.MERGED and merged.duplicate_of_id == first.id
    [spent] = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == message["ts"]]
    assert f"Added to #{first.id}" in spent.args["text"]
    with db.sessions() as session:
        facts = request_facts(session, requests_in(db)[0])
        assert facts.customers == ["Acme", "Initech"] and facts.customer_count == 2
    card_update = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == first.card_ts]
    assert "Initech" in all_text(card_update[-1])
    note = [c for c in slack.calls_to("chat.postMessage")
            if c.args.get("thread_ts") == first.thread_ts and "merged" in c.args["text"]]
    assert note and f"#{merged.id}" in note[0].args["text"]


def test_only_the_filer_or_a_decider_can_answer_the_offer(bot, slack, db):
    file(bot, slack, REP, {"title": "Bulk CSV export"})
    file(bot, slack, OTHER_REP, {"title": "Export everything to CSV"})
    [offer] = suggestions(slack)
    message = offer.response["message"]
    add = add_button(offer, "Add to #1")
    bot.action(add["action_id"], REP, value=add["value"], channel_id=CHANNEL, message=message)
    bot.wait_idle()
    assert requests_in(db)[1].status == RequestStatus.NEW
    [refusal] = slack.calls_to("chat.postEphemeral")
    assert "Only the rep who filed it" in refusal.args["text"]

    bot.action(Action.NOT_A_DUPLICATE, OTHER_REP, value=button(offer, "It's different")["value"],
               channel_id=CHANNEL, message=message)
    bot.wait_idle()
    assert requests_in(db)[1].status == RequestStatus.NEW
    [kept] = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == message["ts"]]
    assert "own request" in kept.args["text"]
    file(bot, slack, OTHER_REP, {"title": "CSV export of all our data"})
    latest = suggestions(slack)[-1]  # both earlier asks are offered, each with its button
    assert add_button(latest, "Add to #1") and add_button(latest, "Add to #2")
    with db.sessions() as session:
        assert session.scalar(select(Activity).where(Activity.action == "not_a_duplicate"))


def test_matches_show_in_the_modal_as_the_title_is_typed_and_add_from_there(bot, slack, db,
                                                                             clock):
    file(bot, slack, REP, {"title": "Dark mode", "customers": "Acme", "revenue": "$50k"})
    [existing] = requests_in(db)
    with db.sessions.begin() as session:  # a decision already made on it
        session.add(Decision(team_id=existing.team_id, request_id=existing.id,
                             status="declined", rationale="Not this year: <theme work> paused",
                             decided_by="U0PM00001", decided_at=clock.now() - timedelta(days=9)))
        session.get(type(existing), existing.id).status = RequestStatus.DECLINED
    bot.command("", OTHER_REP, CHANNEL)
    view = opened_view(slack, 2)
    typed = {"title": "Night theme", "customers": "Globex", "revenue": "$30k"}
    bot.action(Field.TITLE, OTHER_REP, value="Night theme", view=view,
               state_values=state_for(view, typed))
    [update] = slack.wait_for("views.update")
    assert update.args["view_id"] == view["id"] and update.args["hash"] == view["hash"]
    updated = update.response["view"]
    shown = json.dumps(updated["blocks"])
    assert f"#{existing.id} Dark mode" in shown and "Declined on" in shown
    assert "&lt;theme work&gt;" in shown and "as new evidence" in shown
    kept = {b["block_id"]: b["element"].get("initial_value") for b in updated["blocks"]
            if b["type"] == "input"}
    assert kept["title"] == "Night theme" and kept["customers"] == "Globex"

    add = next(b["accessory"] for b in updated["blocks"]
               if b.get("accessory", {}).get("action_id", "").startswith(Action.ADD_TO_EXISTING))
    bot.action(add["action_id"], OTHER_REP, value=add["value"], view=updated,
               state_values=state_for(updated, typed))
    bot.wait_idle()
    _, added = requests_in(db)
    assert added.status == RequestStatus.MERGED and added.duplicate_of_id == existing.id
    assert added.requested_by == OTHER_REP
    done = slack.wait_for("views.update", count=2)[1]
    assert "now counts toward" in json.dumps(done.args["view"]) and "submit" not in done.args["view"]
    # no card for an ask that went straight into another request; the existing one is updated
    assert [c for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c.args
            and f"#{added.id}" in c.args["text"]] == []
    with db.sessions() as session:
        facts = request_facts(session, requests_in(db)[0])
        assert facts.customers == ["Acme", "Globex"]
        assert [m.minor for m in facts.revenue] == [80_000_00]
    # submitting the same modal afterwards files nothing more
    submit(bot, updated, OTHER_REP, typed)
    bot.wait_idle()
    assert len(requests_in(db)) == 2


def test_add_from_the_modal_with_invalid_input_keeps_the_form_and_says_why(bot, slack, db):
    file(bot, slack, REP, {"title": "SSO with Okta"})
    bot.command("", OTHER_REP, CHANNEL)
    view = opened_view(slack, 2)
    typed = {"title": "SAML single sign-on", "revenue": "soon"}
    bot.action(Field.TITLE, OTHER_REP, value=typed["title"], view=view,
               state_values=state_for(view, typed))
    updated = slack.wait_for("views.update")[0].response["view"]
    add = next(b["accessory"] for b in updated["blocks"]
               if b.get("accessory", {}).get("action_id", "").startswith(Action.ADD_TO_EXISTING))
    bot.action(add["action_id"], OTHER_REP, value=add["value"], view=updated,
               state_values=state_for(updated, typed))
    bot.wait_idle()
    again = slack.wait_for("views.update", count=2)[1].args["view"]
    assert "Fix this first" in json.dumps(again) and "revenue" in json.dumps(again).lower()
    assert len(requests_in(db)) == 1
