"""The App Home tab for deciders (the triage queue) and reps (their requests), assessing
effort and fit, and `/request customer Acme`, over HTTP against the Slack double."""

from __future__ import annotations

import json

from bot.money import Money
from bot.services.requests import Demand, Origin, RequestDraft, file_request
from bot.slack_ids import Action, Callback
from models import Decision, Request, RequestSource, RequestStatus
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import CHANNEL, DECIDER, OTHER_REP, REP, TEAM_ID
from tests.slack.payloads import app_home_opened_event


def seed(db, clock, n: int, user: str = REP) -> list[int]:
    """n requests; request i has (i+1) × $10k at stake from customer Cust i (and Acme)."""
    ids = []
    with db.sessions.begin() as session:
        for i in range(n):
            draft = RequestDraft(title=f"Feature {i:02d}", customers=[f"Cust {i}", "Acme"],
                                 demand=Demand(revenue=Money((i + 1) * 10_000_00, "USD")))
            ids.append(file_request(session, team_id=TEAM_ID, user_id=user, draft=draft,
                                    origin=Origin(RequestSource.COMMAND, CHANNEL),
                                    now=clock.now()).request_id)
    return ids


def open_home(bot, slack, user: str) -> dict:
    count = len([c for c in slack.calls_to("views.publish") if c.args["user_id"] == user]) + 1
    assert bot.event(app_home_opened_event(user)).status_code == 200
    calls = slack.wait_for("views.publish", count=count,
                           predicate=lambda c: c.args["user_id"] == user)
    return calls[-1].response["view"]


def titles(view: dict) -> list[str]:
    return [b["text"]["text"].split("*")[1] for b in view["blocks"]
            if b["type"] == "section" and b.get("block_id", "").startswith(("queue_", "mine_"))]


def test_deciders_see_the_queue_by_priority_paged_inside_the_block_limit(bot, slack, db, clock):
    ids = seed(db, clock, 25)
    view = open_home(bot, slack, DECIDER)
    assert len(view["blocks"]) <= 100
    shown = titles(view)
    assert len(shown) == 10
    assert shown[0] == f"#{ids[24]} Feature 24" and shown[9] == f"#{ids[15]} Feature 15"
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Showing 1–10 of 25" in text and "priority" in text and "revenue 0." in text
    decide = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e["action_id"] == Action.DECIDE]
    assert decide[0]["value"] == str(ids[24]) and len(decide) == 10

    bot.action(f"{Action.HOME_PAGE}_next", DECIDER, value="1", view=view)
    page2 = slack.wait_for("views.publish", count=2)[-1].response["view"]
    assert titles(page2)[0] == f"#{ids[14]} Feature 14"
    bot.action(f"{Action.HOME_PAGE}_next", DECIDER, value="2", view=page2)
    page3 = slack.wait_for("views.publish", count=3)[-1].response["view"]
    assert len(titles(page3)) == 5 and "Showing 21–25 of 25" in json.dumps(
        page3["blocks"], ensure_ascii=False)


def test_the_queue_filters_by_status_and_by_customer(bot, slack, db, clock):
    ids = seed(db, clock, 3)
    with db.sessions.begin() as session:
        session.get(Request, ids[0]).status = RequestStatus.PLANNED
    view = open_home(bot, slack, DECIDER)
    assert len(titles(view)) == 2
    bot.action(Action.HOME_FILTER, DECIDER, value="planned", view=view)
    planned = slack.wait_for("views.publish", count=2)[-1].response["view"]
    assert titles(planned) == [f"#{ids[0]} Feature 00"]
    customers = next(e for b in planned["blocks"] if b["type"] == "actions"
                     for e in b["elements"] if e["action_id"] == Action.HOME_CUSTOMER)
    cust_1 = next(o["value"] for o in customers["options"] if o["text"]["text"] == "Cust 1")
    bot.action(Action.HOME_CUSTOMER, DECIDER, value=cust_1, view=planned)
    by_customer = slack.wait_for("views.publish", count=3)[-1].response["view"]
    assert titles(by_customer) == [f"#{ids[1]} Feature 01"]


def test_reps_see_their_own_requests_with_status_and_the_latest_decision(bot, slack, db, clock):
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": "Bulk CSV export", "customers": "Acme"})
    bot.wait_idle()
    # the home was refreshed when the card went out, without the rep opening it
    [auto] = [c for c in slack.calls_to("views.publish") if c.args["user_id"] == REP]
    assert titles(auto.args["view"]) == ["#1 Bulk CSV export"]
    seed(db, clock, 1, user=OTHER_REP)
    [request] = [r for r in requests_in(db) if r.requested_by == REP]
    with db.sessions.begin() as session:
        session.add(Decision(team_id=TEAM_ID, request_id=request.id, status="planned",
                             timeline="Q3", rationale="Fits the reporting theme",
                             decided_by=DECIDER, decided_at=clock.now()))
        session.get(Request, request.id).status = RequestStatus.PLANNED
    view = open_home(bot, slack, REP)
    assert len(view["blocks"]) <= 100
    assert titles(view) == [f"#{request.id} Bulk CSV export"]
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Planned" in text and "Latest decision: Planned, Q3" in text
    assert "Fits the reporting theme" in text and "Decide" not in text


def test_a_decider_assesses_effort_and_fit_from_the_home_tab(bot, slack, db, clock):
    [request_id] = seed(db, clock, 1)
    view = open_home(bot, slack, DECIDER)
    before = next(b for b in view["blocks"] if b.get("block_id") == f"queue_{request_id}")
    bot.action(Action.ASSESS, DECIDER, value=str(request_id), view=view)
    modal = opened_view(slack)
    assert modal["callback_id"] == Callback.ASSESS_MODAL
    bad = submit(bot, modal, DECIDER, {"effort_weeks": "lots"}).json()
    assert bad["response_action"] == "errors" and "person-weeks" in bad["errors"]["effort_weeks"]
    assert submit(bot, modal, DECIDER, {"effort": "XL", "strategic_fit": "1"}).text == ""
    bot.wait_idle()
    [request] = requests_in(db)
    assert (request.effort, request.strategic_fit) == ("XL", 1)
    after = slack.calls_to("views.publish")[-1].args["view"]
    line = next(b for b in after["blocks"] if b.get("block_id") == f"queue_{request_id}")
    assert _priority(line) < _priority(before)
    assert "effort 20 wk" in json.dumps(after["blocks"], ensure_ascii=False)


def test_request_customer_shows_everything_one_customer_asked_for(bot, slack, db, clock):
    ids = seed(db, clock, 2)
    with db.sessions.begin() as session:
        session.add(Decision(team_id=TEAM_ID, request_id=ids[0], status="declined",
                             rationale="Out of scope", decided_by=DECIDER,
                             decided_at=clock.now()))
        session.get(Request, ids[0]).status = RequestStatus.DECLINED
    answer = bot.command("customer acme", REP, CHANNEL).json()
    assert answer["response_type"] == "ephemeral"
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Feature 00" in shown and "Feature 01" in shown and "Declined" in shown
    assert "Out of scope" in shown
    assert "Cust" not in answer["text"] and "Acme asked for 2 requests" in answer["text"]
    unknown = bot.command("customer Nobody Inc", REP, CHANNEL).json()
    assert "don't know a customer" in unknown["text"]
    several = bot.command("customer cust", REP, CHANNEL).json()
    assert "Several customers match" in several["text"]
    assert slack.calls_to("views.open") == []


def _priority(block: dict) -> float:
    return float(block["text"]["text"].split("priority *")[1].split("*")[0])


def test_a_burst_of_filings_refreshes_a_home_once_every_two_seconds_with_all_of_them(
        bot, slack, db, clock):
    def refreshes() -> list:
        return [c for c in slack.calls_to("views.publish") if c.args["user_id"] == REP]

    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": "Bulk CSV export"})
    bot.wait_idle()
    assert len(refreshes()) == 1
    for count, title in enumerate(("SAML single sign-on", "Dark mode"), start=2):
        bot.command("", REP, CHANNEL)
        submit(bot, opened_view(slack, count=count), REP, {"title": title})
        bot.wait_idle()
    bot.deliver_outbox()
    assert len(refreshes()) == 1  # the two later filings wait for one refresh together
    assert len([r for r in requests_in(db) if r.thread_ts]) == 3  # their cards went out

    clock.advance(seconds=2)
    bot.deliver_outbox()
    assert len(refreshes()) == 2
    assert titles(refreshes()[-1].args["view"]) == [
        "#3 Dark mode", "#2 SAML single sign-on", "#1 Bulk CSV export"]
    # a user's own open is answered at once, whenever the last refresh was
    open_home(bot, slack, REP)
    assert len(refreshes()) == 3
