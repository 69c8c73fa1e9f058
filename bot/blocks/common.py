"""Small Block Kit pieces shared by the bot's surfaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot.money import Money, format_money
from bot.slack_ids import Field


@dataclass
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def args(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def money(amounts: list[Money], period: str | None = None) -> str:
    if not amounts:
        return "unknown"
    return " + ".join(format_money(m) for m in amounts) + (period or "")


def text_input(
    field: Field,
    label: str,
    *,
    initial: str | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
    multiline: bool = False,
    optional: bool = True,
    max_length: int = 3000,
    dispatch: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=label,
        hint=hint,
        optional=optional,
        dispatch_action=dispatch or None,
        element=PlainTextInputElement(
            action_id=field,
            initial_value=(initial or "")[:max_length] or None,
            placeholder=placeholder,
            multiline=multiline,
            max_length=max_length,
        ),
    )


def number_input(field: Field, label: str, *, initial: int | None = None,
                 hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=label,
        hint=hint,
        optional=True,
        element=NumberInputElement(
            action_id=field,
            is_decimal_allowed=False,
            initial_value=str(initial) if initial is not None else None,
        ),
    )


def select_input(field: Field, label: str, choices: dict[str, str], *,
                 initial: str | None = None, optional: bool = True,
                 placeholder: str = "Choose…") -> InputBlock:
    options = [Option(value=value, text=text) for value, text in choices.items()]
    chosen = next((o for o in options if o.value == initial), None)
    return InputBlock(
        block_id=field,
        label=label,
        optional=optional,
        element=StaticSelectElement(
            action_id=field, placeholder=placeholder, options=options, initial_option=chosen
        ),
    )


def date_input(field: Field, label: str, *, initial: date | None = None,
               hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=label,
        hint=hint,
        optional=True,
        element=DatePickerElement(
            action_id=field, initial_date=initial.isoformat() if initial else None
        ),
    )


def set_initial(element: dict[str, Any], initial: object) -> None:
    """Gives a serialised input element (one of the four above) its initial value, as its
    builder would have: the request modal's fixed parts are serialised once and filled in
    (tests/slack/test_request_modal.py checks the two agree)."""
    if initial is None or initial == "":
        return
    kind = element["type"]
    if kind == "plain_text_input":
        element["initial_value"] = str(initial)[: element["max_length"]]  # text_input sets it
    elif kind == "number_input":
        element["initial_value"] = str(initial)
    elif kind == "static_select":
        chosen = next((o for o in element["options"] if o["value"] == initial), None)
        if chosen is not None:
            element["initial_option"] = chosen
    elif kind == "datepicker":
        element["initial_date"] = initial.isoformat()  # type: ignore[attr-defined]
    else:
        raise ValueError(f"no initial value for a {kind} element")
