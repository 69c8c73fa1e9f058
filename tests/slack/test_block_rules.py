"""Block Kit limits the Slack double enforces."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from tests.slack.block_rules import check_blocks, check_view


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def button(action_id: str, text: str = "Decide") -> dict:
    return {"type": "button", "action_id": action_id, "text": plain(text)}


def select(options: list[dict], **fields) -> dict:
    return {"type": "static_select", "action_id": "pick", "options": options, **fields}


def option(text: str = "Planned", value: str = "planned") -> dict:
    return {"text": plain(text), "value": value}


def text_input(**fields) -> dict:
    return {"type": "input", "block_id": "title", "label": plain("Title"),
            "element": {"type": "plain_text_input", "action_id": "value", **fields}}


def modal(blocks: list[dict], **fields) -> dict:
    return {"type": "modal", "title": plain("New request"), "submit": plain("File"),
            "blocks": blocks, **fields}


def test_a_valid_modal_built_with_slack_sdk_passes() -> None:
    view = View(
        type="modal", callback_id="request_modal", title="New request", submit="File",
        close="Cancel", private_metadata='{"channel":"C1"}',
        blocks=[
            HeaderBlock(text="File a feature request"),
            InputBlock(block_id="title", label="Title",
                       element=PlainTextInputElement(action_id="value", max_length=150)),
            InputBlock(block_id="blocker", label="Does it block a deal?", optional=True,
                       element=StaticSelectElement(action_id="value", options=[
                           Option(text="Yes", value="yes"), Option(text="No", value="no")])),
            SectionBlock(text="Similar: *#7 Bulk export*",
                         accessory=ButtonElement(text="Add to #7", action_id="merge", value="7")),
            ActionsBlock(elements=[ButtonElement(text="Decide", action_id="decide")]),
        ],
    )
    assert check_view(view.to_dict()) == []


@pytest.mark.parametrize(("surface", "limit"), [("message", 50), ("modal", 100), ("home", 100)])
def test_block_count_limit_per_surface(surface, limit) -> None:
    divider = {"type": "divider"}
    assert check_blocks([divider] * limit, surface) == []
    assert check_blocks([divider] * (limit + 1), surface) == [
        f"blocks: {limit + 1} blocks, a {surface} takes at most {limit}"]


@pytest.mark.parametrize(("blocks", "problem"), [
    ([{"type": "header", "text": plain("h" * 151)}],
     "blocks[0](header).text.text: 151 characters, Slack allows at most 150"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
     "blocks[0](header).text: must be plain_text"),
    ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
     "blocks[0](section).text.text: 3001 characters, Slack allows at most 3000"),
    ([{"type": "section"}], "blocks[0](section): needs text or fields"),
    ([{"type": "actions", "elements": [button("decide", "b" * 76)]}],
     "blocks[0](actions).elements[0](button).text.text: 76 characters, Slack allows at most 75"),
    ([{"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}],
     "blocks[0](actions).elements: must be a list of 1 to 25 elements"),
    ([{"type": "context", "elements": [plain("c")] * 11}],
     "blocks[0](context).elements: must be a list of 1 to 10 elements"),
    ([{"type": "divider", "block_id": "x" * 256}],
     "blocks[0](divider).block_id: 256 characters, Slack allows at most 255"),
    ([{"type": "divider", "block_id": "card"}, {"type": "divider", "block_id": "card"}],
     "blocks[1](divider).block_id: 'card' is not unique"),
    ([{"type": "actions", "elements": [button("decide"), button("decide", "Again")]}],
     "blocks[0](actions).elements[1](button).action_id: 'decide' is not unique"),
    ([{"type": "actions", "elements": [button("a" * 256)]}],
     "blocks[0](actions).elements[0](button).action_id: 256 characters, Slack allows at most 255"),
    ([{"type": "actions", "elements": [select([option(value=str(i)) for i in range(101)])]}],
     "blocks[0](actions).elements[0](static_select).options: 101 options, Slack takes 1 to 100"),
    ([{"type": "actions", "elements": [select([option(text="o" * 76)])]}],
     "blocks[0](actions).elements[0](static_select).options[0].text.text: 76 characters, "
     "Slack allows at most 75"),
    ([{"type": "actions", "elements": [select([option(value="v" * 151)])]}],
     "blocks[0](actions).elements[0](static_select).options[0].value: 151 characters, "
     "Slack allows at most 150"),
    ([{"type": "actions", "elements": [select([option()], initial_option=option("No", "no"))]}],
     "blocks[0](actions).elements[0](static_select).initial_option: must be one of the options"),
    ([text_input(max_length=5, initial_value="too long")],
     "blocks[0](input).element(plain_text_input).initial_value: 8 characters, longer than its "
     "max_length 5"),
    ([{**text_input(), "label": plain("l" * 2001)}],
     "blocks[0](input).label.text: 2001 characters, Slack allows at most 2000"),
    ([{"type": "input", "label": plain("Pick"), "element": button("b")}],
     "blocks[0](input).element: must be an input element"),
    ([{"type": "fancy"}], "blocks[0]: unknown block type 'fancy'"),
    ([{"type": "section", "text": plain("")}],
     "blocks[0](section).text.text: must be a non-empty string"),
])
def test_each_limit_is_reported(blocks, problem) -> None:
    assert check_blocks(blocks, "modal") == [problem]


@pytest.mark.parametrize(("fields", "problem"), [
    ({"title": plain("t" * 25)}, "view.title.text: 25 characters, Slack allows at most 24"),
    ({"submit": plain("s" * 25)}, "view.submit.text: 25 characters, Slack allows at most 24"),
    ({"close": plain("c" * 25)}, "view.close.text: 25 characters, Slack allows at most 24"),
    ({"private_metadata": "m" * 3001},
     "view.private_metadata: 3001 characters, Slack allows at most 3000"),
    ({"callback_id": "c" * 256}, "view.callback_id: 256 characters, Slack allows at most 255"),
    ({"submit": None}, "view.submit: is required"),
])
def test_modal_limits(fields, problem) -> None:
    assert check_view(modal([text_input()], **fields)) == [problem]


def test_a_modal_needs_a_title_but_the_home_tab_does_not() -> None:
    assert check_view({"type": "modal", "blocks": []}) == ["view.title: is required"]
    assert check_view({"type": "home", "blocks": [{"type": "divider"}]}) == []
    assert check_view({"type": "sheet"}) == ["view: must be an object with type modal or home"]


def test_action_ids_need_only_be_unique_within_their_block() -> None:
    blocks = [{"type": "actions", "elements": [button("decide")]},
              {"type": "section", "text": plain("s"), "accessory": button("decide")},
              {"type": "actions", "elements": [{"type": "button", "text": plain("A")},
                                              {"type": "button", "text": plain("B")}]}]
    assert check_blocks(blocks, "message") == []
