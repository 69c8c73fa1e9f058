"""A decider merges two requests from the card and splits them again; totals follow."""

from __future__ import annotations

import json

from bot.services.demand import totals_for
from bot.services.priority import Currencies
from bot.slack_ids import Action, Callback
from models import RequestStatus
from tests.flows.helpers import all_text, opened_view, requests_in, submit
from tests.harness import CHANNEL, DECIDER, OTHER_REP, REP


def file(bot, slack, user: str, values: dict) -> dict:
    count = len(slack.calls_to("views.open")) + 1
    bot.command("", user, CHANNEL)
    submit(bot, opened_view(slack, count), user, values)
    bot.wait_idle()
    [card] = [c for c in slack.calls_to("chat.postMessage")
              if "thread_ts" not in c.args and values["title"] in c.args["text"]]
    return card.response["message"]


def press(bot, action: str, card: dict, user: str = DECIDER):
    value = next(e["value"] for b in card["blocks"] if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"] == action)
    return bot.action(action, user, value=value, channel_id=CHANNEL, message=card)


def test_merge_from_the_card_counts_a_repeated_customer_once_and_unmerge_restores(bot, slack,
                                                                                  db):
    file(bot, slack, REP, {"title": "Audit log", "customers": "Acme, Globex",
                           "revenue": "$100k", "blocker": "deal_blocker"})
    second = file(bot, slack, OTHER_REP, {"title": "Activity history", "customers": "Acme",
                                          "revenue": "$150k", "blocker": "deal_blocker"})
    canonical, duplicate = requests_in(db)
    assert "Merge" in _labels(_call(second)) and "Assess" in _labels(_call(second))

    press(bot, Action.MERGE, second)
    modal = opened_view(slack, 3)
    assert modal["callback_id"] == Callback.MERGE_MODAL
    answer = submit(bot, modal, DECIDER, {"merge_target": "#999"})
    assert answer.json()["response_action"] == "errors"
    assert "no request #999" in answer.json()["errors"]["merge_target"]
    assert submit(bot, modal, DECIDER, {"merge_target": "audit"}).text == ""
    bot.wait_idle()
    canonical, duplicate = requests_in(db)
    assert duplicate.status == RequestStatus.MERGED and duplicate.duplicate_of_id == canonical.id
    with db.sessions() as session:
        totals = totals_for(session, canonical, Currencies())
        assert totals.customers == 2 and totals.blockers == 1 and totals.reps == 2
        assert [m.minor for m in totals.revenue] == [150_000_00]  # Acme once, the larger
    updates = {c.args["ts"]: c for c in slack.calls_to("chat.update")}
    assert f"merged here: #{duplicate.id}" in all_text(updates[canonical.card_ts])
    merged_card = updates[duplicate.card_ts]
    assert "Merged into" in all_text(merged_card) and "Decide" not in _labels(merged_card)
    for thread in (canonical.thread_ts, duplicate.thread_ts):
        assert [c for c in slack.calls_to("chat.postMessage")
                if c.args.get("thread_ts") == thread and "merged" in c.args["text"]]

    press(bot, Action.UNMERGE, merged_card.args | {"ts": duplicate.card_ts})
    bot.wait_idle()
    canonical, duplicate = requests_in(db)
    assert duplicate.status == RequestStatus.NEW and duplicate.duplicate_of_id is None
    with db.sessions() as session:
        totals = totals_for(session, canonical, Currencies())
        assert totals.customers == 2 and totals.reps == 1
        assert [m.minor for m in totals.revenue] == [100_000_00]


def test_only_deciders_can_merge(bot, slack, db):
    file(bot, slack, REP, {"title": "Audit log"})
    second = file(bot, slack, OTHER_REP, {"title": "Activity history"})
    press(bot, Action.MERGE, second, user=OTHER_REP)
    bot.wait_idle()
    assert slack.calls_to("views.open")[2:] == []
    [refusal] = slack.calls_to("chat.postEphemeral")
    assert "Only deciders" in refusal.args["text"]
    assert requests_in(db)[1].status == RequestStatus.NEW


def test_merge_by_words_that_match_several_asks_for_the_number(bot, slack, db):
    file(bot, slack, REP, {"title": "Export to CSV"})
    file(bot, slack, REP, {"title": "Export to PDF"})
    third = file(bot, slack, REP, {"title": "Spreadsheet download"})
    press(bot, Action.MERGE, third)
    modal = opened_view(slack, 4)
    answer = submit(bot, modal, DECIDER, {"merge_target": "export"}).json()
    assert "Several match" in answer["errors"]["merge_target"]
    assert "#1" in answer["errors"]["merge_target"] and "#2" in answer["errors"]["merge_target"]
    assert "Export to CSV" in json.dumps(modal["blocks"])  # the similar one is suggested


def _call(message: dict):
    class Shown:
        args = {"blocks": message["blocks"]}
    return Shown()


def _labels(call) -> list[str]:
    return [e["text"]["text"] for b in call.args.get("blocks", []) if b["type"] == "actions"
            for e in b["elements"]]
