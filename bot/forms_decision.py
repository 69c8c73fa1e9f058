"""The decision modal's state → a checked decision, with the rules that make a clear answer.

The same rules apply to a decision written in a request's thread (`check_decision`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from bot.forms import State
from bot.money import parse_amount
from bot.parsing import ParsedDecision, parse_timeline
from bot.services.decisions import DecisionInput
from bot.slack_ids import Field
from models import DecisionStatus

RATIONALE_MAX = 1000
TIMELINE_MAX = 100
WORKAROUND_MAX = 500
NEEDED_INFO_MAX = 500
REOPEN_REVENUE_MAX = 50
REPLY_MAX = 2500
METADATA_MAX = 3000
BUTTON_VALUE_MAX = 2000


class DecisionContext(BaseModel):
    """The decision modal's private_metadata: which request, and the decider's time zone
    (looked up when the modal opened) so the revisit date is read in their day."""

    request_id: int
    tz: str | None = None
    # The user the modal was opened for after a decider check: their submissions need no
    # second check before the ack (which could mean a usergroups.users.list call).
    checked_decider: str | None = None


class DecisionDraft(DecisionContext):
    """A decision as the form (or a thread mention) gave it; the preview step keeps it in
    its private_metadata, and a thread's `Decide` button carries it as the modal's prefill."""

    status: DecisionStatus | None = None
    rationale: str | None = None
    timeline: str | None = None
    target_on: date | None = None
    revisit_on: date | None = None
    workaround: str | None = None
    needed_info: str | None = None
    reopen_revenue: str | None = None
    reopen_on_blocker: bool = False

    def to_input(self) -> DecisionInput:
        assert self.status is not None
        revenue = parse_amount(self.reopen_revenue) if self.reopen_revenue else None
        return DecisionInput(
            status=self.status, rationale=self.rationale, timeline=self.timeline,
            target_on=self.target_on, revisit_on=self.revisit_on, workaround=self.workaround,
            needed_info=self.needed_info, reopen_revenue=revenue,
            reopen_on_blocker=self.reopen_on_blocker,
        )

    def fitted(self, limit: int = METADATA_MAX) -> str:
        """As JSON within `limit` characters: the longest free texts are shortened first
        (escaped quotes and newlines can make a form's text longer in JSON)."""
        draft = self.model_copy()
        encoded = draft.model_dump_json(exclude_defaults=True)
        while len(encoded) > limit:
            name = max(("rationale", "workaround", "needed_info"),
                       key=lambda n: len(getattr(draft, n) or ""))
            value = getattr(draft, name) or ""
            cut = max(len(value) - (len(encoded) - limit) - 1, 0)
            setattr(draft, name, value[:cut].rstrip() + "…" if cut else None)
            encoded = draft.model_dump_json(exclude_defaults=True)
        return encoded


def check_decision(draft: DecisionDraft, today: date) -> dict[str, str]:
    """The rules for a clear answer, as inline errors keyed by the modal's inputs.

    Reads the timeline into its label and target date on the way (`today` is the decider's).
    """
    errors: dict[str, str] = {}
    if draft.status is None:
        errors[Field.DECISION_STATUS] = "Choose a decision."
        return errors
    if draft.timeline:
        timeline = parse_timeline(draft.timeline, today)
        if timeline is None:
            errors[Field.TIMELINE] = ("I can't read that as a date: write a quarter (Q3), a "
                                      "month (March 2027) or a date (2027-05-01).")
        else:
            draft.timeline, draft.target_on = timeline
    elif draft.status == DecisionStatus.PLANNED:
        errors[Field.TIMELINE] = "Planned needs a timeline, e.g. Q3, March 2027 or 2027-05-01."
    if draft.status in (DecisionStatus.DECLINED, DecisionStatus.NEEDS_INFO) and not draft.rationale:
        errors[Field.RATIONALE] = (f"Say why: reps pass this on to the customer "
                                   f"({'Declined' if draft.status == 'declined' else 'Needs more info'}"
                                   " needs a rationale).")
    if draft.status == DecisionStatus.NEEDS_INFO and not draft.needed_info:
        errors[Field.NEEDED_INFO] = "Name what is needed, e.g. which formats and how often."
    if draft.revisit_on is not None and draft.revisit_on <= today:
        errors[Field.REVISIT_ON] = "Pick a revisit date in the future."
    if draft.reopen_revenue and parse_amount(draft.reopen_revenue) is None:
        errors[Field.REOPEN_REVENUE] = "Write an amount, e.g. $500k."
    return errors


def _text(state: State, name: Field, limit: int, errors: dict[str, str]) -> str | None:
    value = state.text(name)
    if value is not None and len(value) > limit:
        errors[name] = f"Keep this under {limit:,} characters (it has {len(value):,})."
    return value


def read_decision_form(view: dict[str, Any], context: DecisionContext,
                       today: date) -> tuple[DecisionDraft | None, dict[str, str]]:
    state = State(view)
    errors: dict[str, str] = {}
    status = state.option(Field.DECISION_STATUS)
    if status is not None and status not in set(DecisionStatus):
        errors[Field.DECISION_STATUS] = "Choose one of the decisions."
        status = None
    revisit_raw = state.date(Field.REVISIT_ON)
    revisit_on = None
    if revisit_raw:
        try:
            revisit_on = date.fromisoformat(revisit_raw)
        except ValueError:
            errors[Field.REVISIT_ON] = "Pick a date."
    draft = DecisionDraft(
        request_id=context.request_id, tz=context.tz, checked_decider=context.checked_decider,
        status=DecisionStatus(status) if status else None,
        rationale=_text(state, Field.RATIONALE, RATIONALE_MAX, errors),
        timeline=_text(state, Field.TIMELINE, TIMELINE_MAX, errors),
        revisit_on=revisit_on,
        workaround=_text(state, Field.WORKAROUND, WORKAROUND_MAX, errors),
        needed_info=_text(state, Field.NEEDED_INFO, NEEDED_INFO_MAX, errors),
        reopen_revenue=_text(state, Field.REOPEN_REVENUE, REOPEN_REVENUE_MAX, errors),
        reopen_on_blocker=state.option(Field.REOPEN_ON_BLOCKER) == "yes",
    )
    if draft.status != DecisionStatus.ALREADY_EXISTS:
        draft.workaround = None
    if draft.status != DecisionStatus.NEEDS_INFO:
        draft.needed_info = None
    for name, message in check_decision(draft, today).items():
        errors.setdefault(name, message)
    return (None, errors) if errors else (draft, {})


def read_reply_text(view: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    text = State(view).text(Field.REPLY_TEXT)
    if text is None:
        return None, {Field.REPLY_TEXT: "Write the reply the rep will read."}
    if len(text) > REPLY_MAX:
        return None, {Field.REPLY_TEXT: f"Keep the reply under {REPLY_MAX:,} characters."}
    return text, {}


def draft_from_words(parsed: ParsedDecision, context: DecisionContext) -> DecisionDraft:
    """A decision written in the thread; for `Needs more info` the words say what is needed."""
    status = DecisionStatus(parsed.status) if parsed.status else None
    needed = parsed.rationale if status == DecisionStatus.NEEDS_INFO else None
    return DecisionDraft(
        request_id=context.request_id, tz=context.tz, checked_decider=context.checked_decider, status=status,
        rationale=(parsed.rationale or "")[:RATIONALE_MAX] or None,
        timeline=(parsed.timeline or "")[:TIMELINE_MAX] or None,
        revisit_on=parsed.revisit_on, needed_info=(needed or "")[:NEEDED_INFO_MAX] or None,
    )


def prefill_value(draft: DecisionDraft) -> str:
    """A button's value (Slack allows 2,000 characters) that opens the modal prefilled."""
    return draft.fitted(BUTTON_VALUE_MAX)

