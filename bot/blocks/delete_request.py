"""Deleting a request: the decider's confirmation, and what its card says afterwards."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.blocks.common import Message
from bot.mrkdwn import escape, user
from bot.slack_ids import Callback


def delete_confirmation(request_id: int, title: str, private_metadata: str) -> View:
    return View(
        type="modal",
        callback_id=Callback.DELETE_REQUEST_MODAL,
        title="Delete request",
        submit="Delete",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(text=MarkdownTextObject(
                text=f"Delete request *#{request_id}* “{escape(title)[:2800]}”?"
            )),
            ContextBlock(elements=[MarkdownTextObject(
                text="Its customers' stakes, decisions and reminders are deleted with it. "
                     "This can't be undone; the audit log keeps its id and title."
            )]),
        ],
    )


def notice(title: str, text: str) -> View:
    """A modal that only tells the user something (e.g. why nothing happened)."""
    return View(type="modal", title=title, close="Close",
                blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def deleted_card(request_id: int, title: str, deleted_by: str) -> Message:
    text = f"Request #{request_id} “{escape(title)}” was deleted by {user(deleted_by)}."
    return Message(text=text, blocks=[
        SectionBlock(text=MarkdownTextObject(text=f":wastebasket: {text}")).to_dict()
    ])
