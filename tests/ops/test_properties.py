"""Property-based: whatever a rep types in the request modal, nothing escapes, nothing half-stored."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.forms import MAX_COUNT, TEXT_MAX, TITLE_MAX, read_request_form
from models import Customer, Request, RequestCustomer
from tests.harness import CHANNEL, REP
from tests.slack.payloads import select_state, text_state

blank = st.sampled_from(["", " ", "\t\n ", "\u00a0", "\u3000"])
numbers = st.integers(min_value=-(10**30), max_value=10**30).map(str)
amounts = st.one_of(numbers, st.builds(lambda n, s: f"{s}{n}k", numbers,
                                       st.sampled_from(["$", "€", "£", ""])),
                    st.sampled_from(["1e309", "NaN", "∞", "$-5", "$1,2,3", "9" * 400]))
any_text = st.one_of(st.none(), blank, st.text(max_size=300), numbers, amounts,
                     st.text(min_size=TEXT_MAX - 5, max_size=TEXT_MAX + 5))
FIELDS = ("title", "problem", "proposed_solution", "customers", "customer_count", "revenue",
          "deal_amount", "crm_url")


def view_with(values: dict, blocker: str | None) -> dict:
    state = {name: {name: text_state(value)} for name, value in values.items()}
    state["blocker"] = {"blocker": select_state(blocker)}
    return {"state": {"values": state}}


@settings(max_examples=400, deadline=None)
@given(values=st.fixed_dictionaries({name: any_text for name in FIELDS}),
       blocker=st.one_of(st.none(), st.sampled_from(["deal_blocker", "nice", "x" * 80])))
def test_the_request_form_reads_anything_into_a_draft_or_inline_errors(values, blocker):
    draft, errors = read_request_form(view_with(values, blocker))
    assert (draft is None) == bool(errors)
    for block, message in errors.items():
        assert block in (*FIELDS, "blocker") and message.strip()
    if draft is not None:
        assert draft.title.strip() and len(draft.title) <= TITLE_MAX
        assert draft.problem is None or len(draft.problem) <= TEXT_MAX
        assert draft.customer_count is None or 0 <= draft.customer_count <= MAX_COUNT
        revenue = draft.demand.revenue
        assert revenue is None or (isinstance(revenue.minor, int) and revenue.minor >= 0)
        assert all(name.strip() and len(name) <= 200 for name in draft.customers)


def counts(db) -> tuple[int, int, int]:
    with db.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(t))
                     for t in (Request, RequestCustomer, Customer))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.fixed_dictionaries({name: any_text for name in FIELDS}))
def test_any_modal_submission_over_http_is_stored_whole_or_not_at_all(bot, slack, db, values):
    from tests.flows.helpers import opened_view

    slack.reset()
    bot.command("", REP, CHANNEL)
    view = opened_view(slack)
    before = counts(db)
    state = {name: {name: text_state(value)} for name, value in values.items()}
    response = bot.submit_view(view["callback_id"], state, REP,
                               private_metadata=view["private_metadata"], view=view)
    assert response.status_code == 200
    bot.wait_idle()
    requests_before, stakes_before, _ = before
    requests_after, stakes_after, _ = counts(db)
    if response.text:  # inline errors: nothing stored
        assert response.json()["response_action"] == "errors"
        assert (requests_after, stakes_after) == (requests_before, stakes_before)
    else:  # stored: exactly one request, and its card went out
        assert requests_after == requests_before + 1
        slack.wait_for("chat.postMessage")
