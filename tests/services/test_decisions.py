"""Recording decisions and the rules behind them, on the real migrated database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.blocks.decision_reply import compose_reply_text
from bot.forms_decision import METADATA_MAX, DecisionDraft, check_decision
from bot.money import Money
from bot.services.decisions import DecisionInput, evidence_snapshot, record_decision
from bot.services.requests import Demand, Origin, RequestDraft, file_request, get_request
from models import (
    DecisionStatus,
    OutboxMessage,
    Reminder,
    Request,
    RequestSource,
    RequestStatus,
)

NOW = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
TEAM = "T0TEAM001"


def filed(session, title: str, customers: list[str], revenue: Money | None = None,
          blocker: str | None = None, user: str = "U0REP0001") -> Request:
    draft = RequestDraft(title=title, customers=customers,
                         demand=Demand(revenue=revenue, blocker=blocker))
    result = file_request(session, team_id=TEAM, user_id=user, draft=draft,
                          origin=Origin(RequestSource.COMMAND, "C0SALES01"), now=NOW)
    request = get_request(session, TEAM, result.request_id)
    request.thread_ts = f"1700000000.{result.request_id:06d}"
    return request


def test_evidence_counts_the_merged_requests_too(db):
    with db.sessions.begin() as session:
        main = filed(session, "CSV export", ["Acme"], Money(120_000_00, "USD"), "deal_blocker")
        other = filed(session, "Export to CSV", ["Globex", "Acme"], Money(50_000_00, "EUR"),
                      "churn_risk", user="U0REP0002")
        other.status, other.duplicate_of_id = RequestStatus.MERGED, main.id
        session.flush()
        assert evidence_snapshot(session, main) == {
            "customers": 2, "customer_names": ["Acme", "Globex"],
            "revenue": {"EUR": 50_000_00, "USD": 120_000_00}, "blockers": 2, "threads": 2,
        }


def test_recording_a_decision_queues_every_post_in_the_same_transaction(db):
    with db.sessions.begin() as session:
        request = filed(session, "CSV export", ["Acme"])
        given = DecisionInput(status=DecisionStatus.DECLINED, rationale="Too niche",
                              revisit_on=date(2030, 3, 1), reopen_revenue=Money(500_000_00, "USD"),
                              reopen_on_blocker=True)
        recorded = record_decision(session, request, given, decided_by="U0PM00001",
                                   decider_tz="America/New_York", reply_text="No, sorry.",
                                   now=NOW)
        assert recorded.previous is None
        purposes = [session.get(OutboxMessage, i).purpose for i in recorded.outbox_ids]
        assert purposes == ["decision_reply", "card_update", "direct_message"]
        assert recorded.decision.reopen_conditions == {
            "revenue_above": {"minor": 500_000_00, "currency": "USD"}, "new_deal_blocker": True}
        [reminder] = session.scalars(select(Reminder)).all()
        assert reminder.due_at == datetime(2030, 3, 1, 14, 0, tzinfo=UTC)  # 9:00 in New York
        again = record_decision(session, request, DecisionInput(status=DecisionStatus.UNDER_REVIEW),
                                decided_by="U0PM00001", decider_tz=None, reply_text="Reviewing.",
                                now=NOW)
        assert again.previous is recorded.decision
        assert session.scalars(select(Reminder.state)).all() == ["cancelled"]
        assert request.status == RequestStatus.UNDER_REVIEW


def test_the_rules_for_a_clear_answer():
    today = date(2030, 1, 10)

    def errors(**fields) -> set[str]:
        return set(check_decision(DecisionDraft(request_id=1, **fields), today))

    assert errors(status="planned") == {"timeline"}
    assert errors(status="planned", timeline="Q3") == set()
    assert errors(status="declined") == {"rationale"}
    assert errors(status="needs_info") == {"rationale", "needed_info"}
    assert errors(status="already_exists", revisit_on=today) == {"revisit_on"}
    assert errors(status="under_review", timeline="whenever") == {"timeline"}
    draft = DecisionDraft(request_id=1, status="planned", timeline="Q3")
    check_decision(draft, today)
    assert (draft.timeline, draft.target_on) == ("Q3 2030", date(2030, 9, 30))


def test_a_long_draft_still_fits_in_private_metadata():
    draft = DecisionDraft(request_id=1, status="declined", rationale='"\n' * 500,
                          workaround="x" * 500, needed_info="y" * 500)
    fitted = draft.fitted()
    assert len(fitted) <= METADATA_MAX
    back = DecisionDraft.model_validate_json(fitted)
    assert back.status == "declined" and back.rationale and back.rationale.endswith("…")


def test_the_reply_says_what_changed_in_plain_words():
    text = compose_reply_text(status="planned", rationale="Three more customers asked",
                              timeline="Q3 2030", workaround=None, needed_info=None,
                              revisit_on=date(2030, 6, 1), previous=("declined", None))
    assert text.splitlines() == [
        "Changed from Declined to Planned (Q3 2030).",
        "Good news: this is planned for Q3 2030. Why: Three more customers asked",
        "We'll look at it again on June 1, 2030.",
    ]
