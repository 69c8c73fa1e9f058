"""Driving reminders in tests: a fixed weekday clock, filing requests, deciding, sweeping."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.reminders.sweep import Pacer, SweepReport, sweep
from bot.services.decisions import DecisionInput, record_decision
from bot.services.requests import get_request
from models import DecisionStatus, Reminder
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import CHANNEL, DECIDER, REP, TEAM_ID, Clock

TUESDAY = datetime(2030, 3, 5, 14, 0, tzinfo=UTC)  # 9:00 in New York, 15:00 in Berlin
DECIDER_TZ = "Europe/Berlin"


def weekday_clock() -> Clock:
    """Reminders wait out weekends: tests start on a Tuesday, not on whatever day they run."""
    return Clock(TUESDAY)


def file_request(bot, slack, title: str = "Bulk CSV export", user: str = REP,
                 **values: str) -> int:
    """Files a request with /request over HTTP and delivers its card and questions."""
    before = len(slack.calls_to("views.open"))
    bot.command("", user, CHANNEL)
    submit(bot, opened_view(slack, count=before + 1), user, {"title": title, **values})
    bot.wait_idle()
    bot.deliver_outbox()
    return requests_in(bot.db)[-1].id


def decide(bot, request_id: int, status: DecisionStatus = DecisionStatus.DECLINED,
           revisit_on: date | None = None, **given) -> int:
    """Records a decision the way the decision modal does (its own tests drive the modal)."""
    now = bot.clock.now()

    def record(session) -> int:
        request = get_request(session, TEAM_ID, request_id)
        decision_input = DecisionInput(status=status, rationale=given.pop("rationale", "Too niche"),
                                       revisit_on=revisit_on, **given)
        recorded = record_decision(session, request, decision_input, decided_by=DECIDER,
                                   decider_tz=DECIDER_TZ, reply_text="Declined for now.", now=now)
        return recorded.decision.id

    decision_id = bot.db.transaction(record)
    bot.deliver_outbox()
    return decision_id


def run_sweep(bot, interval: float = 1.0) -> SweepReport:
    return bot.run(sweep(bot.deps, Pacer(interval)))


def reminders(db, kind: str | None = None) -> list[Reminder]:
    with db.sessions() as session:
        query = select(Reminder).order_by(Reminder.id)
        if kind:
            query = query.where(Reminder.kind == kind)
        return list(session.scalars(query))


def dms_to(slack, user: str, text: str | None = None):
    return [c for c in slack.calls_to("chat.postMessage")
            if c.args.get("channel") == user and (text is None or text in c.args.get("text", ""))]


def shown(call) -> str:
    """A message's text and the text of its sections and context, as a person reads it."""
    parts = [call.args.get("text", "")]
    for block in call.args.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [e.get("text", "") for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return "\n".join(parts)
