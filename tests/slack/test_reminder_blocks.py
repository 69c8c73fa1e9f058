"""Reminder messages are serialised by slack-sdk once per set of buttons and filled in per
reminder: each must equal what slack-sdk builds for the same reminder, keep to Slack's
rules, and leave the next one untouched."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock

from bot.blocks import reminders
from bot.blocks.common import Message
from bot.money import Money
from bot.services.facts import Question, RequestFacts
from models import Blocker, Decision, Request, RequestStatus
from tests.slack.block_rules import check_blocks

DECIDED_AT = datetime(2026, 9, 1, 15, 30, tzinfo=UTC)


def facts(hostile: bool) -> RequestFacts:
    title = "Export <!channel> & <@U0BOSS> > all" if hostile else "Bulk CSV export"
    request = Request(id=42, team_id="T1", title=title, requested_by="U0REP",
                      permalink=None if hostile else "https://acme.slack.com/archives/C1/p1",
                      status=RequestStatus.UNDER_REVIEW)
    decision = Decision(id=7, request_id=42, status=RequestStatus.PLANNED,
                        rationale=("r" * 3000) if hostile else "Q3 fits",
                        timeline="Q3 <!here>" if hostile else None, decided_by="U0PM",
                        decided_at=DECIDED_AT)
    return RequestFacts(
        request=request, customers=["Acme & Co", "<Globex>"] if hostile else ["Acme"],
        customer_count=2, revenue=[Money(12_000_000, "USD"), Money(500_000, "EUR")],
        blocker=Blocker.DEAL_BLOCKER, deal_close_on=date(2026, 12, 15),
        decision=decision, missing=[Question.REVENUE, Question.DEAL_CLOSE])


def every_reminder(facts: RequestFacts) -> dict[str, Message]:
    decision = facts.decision
    assert decision is not None
    changes = ["3 more customers", "$40k more revenue"]  # written by the bot, escaped
    return {
        "revisit": reminders.revisit_reminder(9, facts, decision, changes),
        "revisit, nothing changed": reminders.revisit_reminder(9, facts, decision, []),
        "revisit, too much changed": reminders.revisit_reminder(9, facts, decision,
                                                                 ["c" * 200] * 20),
        "new evidence": reminders.new_evidence_reminder(9, facts, decision, changes),
        "stale": reminders.stale_reminder(9, facts, 31),
        "deal close": reminders.deal_close_reminder(9, facts, date(2026, 12, 15), 0, "$120k"),
        "follow-up": reminders.follow_up_reminder(9, facts),
        "info arrived": reminders.info_arrived_reminder(9, facts, "x" * 5000),
        "personal digest": reminders.personal_digest([facts.request] * 25),
    }


def built_by_slack_sdk(text: str, sections: list[str],
                       buttons: list[tuple[reminders.Button, str]], block_id: str) -> Message:
    """The same message built in full through slack-sdk's models."""
    blocks: list = [SectionBlock(text=MarkdownTextObject(text=s[:reminders.SECTION_MAX]))
                    for s in sections]
    if buttons:
        blocks.append(ActionsBlock(block_id=block_id, elements=[
            ButtonElement(text=b.text, action_id=b.action_id, value=value, style=b.style)
            for b, value in buttons]))
    return Message(text=text, blocks=[b.to_dict() for b in blocks])


def as_sent(message: Message) -> str:
    return json.dumps(message.args(), sort_keys=True)


@pytest.mark.parametrize("hostile", [False, True])
def test_each_reminder_is_what_slack_sdk_builds(monkeypatch, hostile):
    filled = every_reminder(facts(hostile))
    monkeypatch.setattr(reminders, "_message", built_by_slack_sdk)
    built = every_reminder(facts(hostile))
    assert filled.keys() == built.keys()
    for kind, message in filled.items():
        assert as_sent(message) == as_sent(built[kind]), kind
        assert check_blocks(message.blocks, "message") == [], kind
        assert "<!channel>" not in json.dumps(message.blocks), kind


def test_one_reminder_filled_in_does_not_change_the_next():
    first = reminders.stale_reminder(1, facts(True), 31)
    first.blocks[-1]["elements"][0]["text"]["text"] = "changed"
    first.blocks[-1]["elements"][1]["value"] = "changed"
    first.blocks[0]["text"]["text"] = "changed"
    second = reminders.stale_reminder(2, facts(False), 31)
    buttons = second.blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == [
        "Decide", "Snooze 1 week", "Snooze 1 month", "Stop reminders"]
    assert [b["value"] for b in buttons] == ["42", "2", "2", "2"]
    assert second.blocks[-1]["block_id"] == "reminder_2"
    assert second.blocks[0]["text"]["text"].startswith(":hourglass:")
