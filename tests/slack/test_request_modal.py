"""The request modal is serialised once and filled in per rep: it must equal what slack_sdk
builds for the same prefill, field by field, and keep to Slack's rules."""

from __future__ import annotations

import json
from datetime import date

import pytest
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.blocks.request_modal import (
    TEXT_MAX,
    TITLE_MAX,
    RequestPrefill,
    request_modal,
    request_view,
)
from models import Blocker, Importance
from tests.slack.block_rules import check_view

PREFILLS = {
    "empty": RequestPrefill(),
    "command": RequestPrefill(title="Bulk CSV export", customers=["Acme"], customer_count=3,
                              revenue_text="$120k ARR", blocker=Blocker.DEAL_BLOCKER),
    "everything": RequestPrefill(
        title="SSO with Okta", problem="They log in 40 times a day <!channel> & more",
        proposed_solution="SAML", customers=["Acme", "Globex"], customer_count=0,
        revenue_text="€50,000", blocker="churn_risk", importance=Importance.MUST_HAVE,
        deal_close_on=date(2027, 2, 28), crm_url="https://crm.example.com/deal/7",
        notes=["Fix this first: <@U1> & the date", "second note"]),
    "too long": RequestPrefill(title="t" * (TITLE_MAX + 20), problem="p" * (TEXT_MAX + 5),
                               revenue_text="9" * 300, crm_url="https://" + "x" * 600),
    "unknown choice": RequestPrefill(title="A", blocker="not a blocker", importance="huge"),
    "blank text": RequestPrefill(title="", problem="", customers=[]),
}


def as_sent(view: object) -> str:
    return json.dumps(view, sort_keys=True, default=str)


@pytest.mark.parametrize("name", PREFILLS)
@pytest.mark.parametrize("editing", [False, True])
def test_the_filled_in_modal_is_what_slack_sdk_builds(name, editing):
    prefill = PREFILLS[name]
    extra = [SectionBlock(block_id="similar_7", text=MarkdownTextObject(text="#7 Bulk export"))]
    for extra_blocks in (None, extra):
        built = request_view(prefill, '{"source": "command"}', editing=editing,
                             extra_blocks=extra_blocks).to_dict()
        filled = request_modal(prefill, '{"source": "command"}', editing=editing,
                               extra_blocks=extra_blocks)
        assert as_sent(filled) == as_sent(built)
        assert check_view(filled) == []


def test_one_modal_filled_in_does_not_change_the_next():
    request_modal(PREFILLS["everything"], "first")
    assert as_sent(request_modal(RequestPrefill(), "second")) == as_sent(
        request_view(RequestPrefill(), "second").to_dict())
