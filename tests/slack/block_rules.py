"""Block Kit limits Slack enforces, as published in its Block Kit reference.

Slack answers `invalid_blocks` (messages) or `invalid_arguments` (views) when one is broken;
these checks return readable messages instead, with the path of the offending field.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "rich_text",
    "section", "video", "markdown", "call",
}
SELECTS_WITH_OPTIONS = {"static_select", "multi_static_select"}
SELECTED_ELSEWHERE = {
    "users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
    "channels_select", "multi_channels_select", "external_select", "multi_external_select",
}
INPUT_ELEMENTS = SELECTS_WITH_OPTIONS | SELECTED_ELSEWHERE | {
    "plain_text_input", "datepicker", "timepicker", "datetimepicker", "checkboxes",
    "radio_buttons", "email_text_input", "url_text_input", "number_input",
    "rich_text_input", "file_input",
}
INTERACTIVE_ELEMENTS = INPUT_ELEMENTS | {"button", "overflow", "workflow_button"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.block_ids: set[str] = set()  # unique within the message or view
        self.action_ids: set[str] = set()  # unique within the block

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def max_len(self, path: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.problem(path, f"{len(value)} characters, Slack allows at most {limit}")

    def text(self, path: str, obj: Any, limit: int, plain: bool = False, required: bool = True):
        if obj is None:
            if required:
                self.problem(path, "is required")
            return
        if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
            self.problem(path, "must be a text object (type plain_text or mrkdwn)")
            return
        if plain and obj["type"] != "plain_text":
            self.problem(path, "must be plain_text")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.problem(f"{path}.text", "must be a non-empty string")
            return
        self.max_len(f"{path}.text", value, limit)

    def blocks(self, blocks: Any, surface: Surface) -> None:
        if not isinstance(blocks, list):
            self.problem("blocks", "must be a list of blocks")
            return
        if len(blocks) > MAX_BLOCKS[surface]:
            self.problem("blocks", f"{len(blocks)} blocks, a {surface} takes at most "
                         f"{MAX_BLOCKS[surface]}")
        for i, block in enumerate(blocks):
            self.block(f"blocks[{i}]", block, surface)

    def block(self, path: str, block: Any, surface: Surface) -> None:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            self.problem(path, f"unknown block type {kind!r}")
            return
        kind = block["type"]
        path = f"{path}({kind})"
        self.action_ids = set()  # Slack: unique "among all other action_ids in the containing block"
        if "block_id" in block:
            block_id = block["block_id"]
            self.max_len(f"{path}.block_id", block_id, 255)
            if block_id in self.block_ids:
                self.problem(f"{path}.block_id", f"{block_id!r} is not unique")
            self.block_ids.add(block_id)
        if kind == "file" and surface != "message":
            self.problem(path, "file blocks only appear in messages")
        getattr(self, f"block_{kind}", lambda *_: None)(path, block)

    def block_section(self, path: str, block: dict) -> None:
        if "text" not in block and "fields" not in block:
            self.problem(path, "needs text or fields")
        self.text(f"{path}.text", block.get("text"), 3000, required=False)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                self.problem(f"{path}.fields", "must be a list of at most 10 text objects")
            else:
                for i, field in enumerate(fields):
                    self.text(f"{path}.fields[{i}]", field, 2000)
        if "accessory" in block:
            self.element(f"{path}.accessory", block["accessory"])

    def block_header(self, path: str, block: dict) -> None:
        self.text(f"{path}.text", block.get("text"), 150, plain=True)

    def block_context(self, path: str, block: dict) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            self.problem(f"{path}.elements", "must be a list of 1 to 10 elements")
            return
        for i, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                self.image(f"{path}.elements[{i}]", element)
            else:
                self.text(f"{path}.elements[{i}]", element, 3000)

    def block_actions(self, path: str, block: dict) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            self.problem(f"{path}.elements", "must be a list of 1 to 25 elements")
            return
        for i, element in enumerate(elements):
            self.element(f"{path}.elements[{i}]", element)

    def block_input(self, path: str, block: dict) -> None:
        self.text(f"{path}.label", block.get("label"), 2000, plain=True)
        self.text(f"{path}.hint", block.get("hint"), 2000, plain=True, required=False)
        element = block.get("element")
        if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
            self.problem(f"{path}.element", "must be an input element")
            return
        self.element(f"{path}.element", element)

    def block_image(self, path: str, block: dict) -> None:
        self.image(path, block)
        self.text(f"{path}.title", block.get("title"), 2000, plain=True, required=False)

    def image(self, path: str, image: dict) -> None:
        if not image.get("image_url") and not image.get("slack_file"):
            self.problem(path, "needs image_url or slack_file")
        self.max_len(f"{path}.image_url", image.get("image_url"), 3000)
        alt = image.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.problem(f"{path}.alt_text", "is required")
        self.max_len(f"{path}.alt_text", alt, 2000)

    def element(self, path: str, element: Any) -> None:
        if not isinstance(element, dict) or "type" not in element:
            self.problem(path, "must be a block element object")
            return
        kind = element["type"]
        path = f"{path}({kind})"
        if kind == "image":
            self.image(path, element)
            return
        if kind not in INTERACTIVE_ELEMENTS:
            self.problem(path, f"unknown element type {kind!r}")
            return
        if "action_id" in element:
            action_id = element["action_id"]
            self.max_len(f"{path}.action_id", action_id, 255)
            if action_id in self.action_ids:
                self.problem(f"{path}.action_id", f"{action_id!r} is not unique")
            self.action_ids.add(action_id)
        self.text(f"{path}.placeholder", element.get("placeholder"), 150, plain=True,
                  required=False)
        if kind == "button":
            self.text(f"{path}.text", element.get("text"), 75, plain=True)
            self.max_len(f"{path}.value", element.get("value"), 2000)
            self.max_len(f"{path}.url", element.get("url"), 3000)
            if element.get("style") not in (None, "primary", "danger"):
                self.problem(f"{path}.style", "must be primary or danger")
        elif kind in SELECTS_WITH_OPTIONS:
            self.select(path, element)
        elif kind == "overflow":
            self.options(path, element.get("options"), 2, 5)
        elif kind in ("radio_buttons", "checkboxes"):
            self.options(path, element.get("options"), 1, 10, text_limit=3000)
        elif kind == "plain_text_input":
            self.plain_text_input(path, element)
        elif kind == "datepicker" and "initial_date" in element:
            if not DATE.match(str(element["initial_date"])):
                self.problem(f"{path}.initial_date", "must be YYYY-MM-DD")
        if "confirm" in element:
            self.confirm(f"{path}.confirm", element["confirm"])

    def select(self, path: str, element: dict) -> None:
        if "option_groups" in element:
            groups = element["option_groups"]
            if not isinstance(groups, list) or not 1 <= len(groups) <= 100:
                self.problem(f"{path}.option_groups", "must be a list of 1 to 100 groups")
                return
            for i, group in enumerate(groups):
                self.text(f"{path}.option_groups[{i}].label", group.get("label"), 75, plain=True)
                self.options(f"{path}.option_groups[{i}]", group.get("options"), 1, 100)
            return
        self.options(path, element.get("options"), 1, 100)
        options = element.get("options") or []
        values = [o.get("value") for o in options if isinstance(o, dict)]
        initial = element.get("initial_option")
        if initial is not None and (not isinstance(initial, dict) or initial.get("value") not in values):
            self.problem(f"{path}.initial_option", "must be one of the options")

    def options(self, path: str, options: Any, least: int, most: int, text_limit: int = 75):
        if not isinstance(options, list) or not least <= len(options) <= most:
            count = len(options) if isinstance(options, list) else "no"
            self.problem(f"{path}.options", f"{count} options, Slack takes {least} to {most}")
            return
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.problem(f"{path}.options[{i}]", "must be an option object")
                continue
            self.text(f"{path}.options[{i}].text", option.get("text"), text_limit)
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.problem(f"{path}.options[{i}].value", "is required")
            self.max_len(f"{path}.options[{i}].value", value, 150)
            self.text(f"{path}.options[{i}].description", option.get("description"), 75,
                      required=False)

    def plain_text_input(self, path: str, element: dict) -> None:
        minimum, maximum = element.get("min_length"), element.get("max_length")
        if isinstance(minimum, int) and not 0 <= minimum <= 3000:
            self.problem(f"{path}.min_length", "must be 0 to 3000")
        if isinstance(maximum, int) and not 1 <= maximum <= 3000:
            self.problem(f"{path}.max_length", "must be 1 to 3000")
        initial = element.get("initial_value")
        if isinstance(initial, str) and isinstance(maximum, int) and len(initial) > maximum:
            self.problem(f"{path}.initial_value", f"{len(initial)} characters, longer than "
                         f"its max_length {maximum}")

    def confirm(self, path: str, confirm: Any) -> None:
        if not isinstance(confirm, dict):
            self.problem(path, "must be a confirmation dialog object")
            return
        self.text(f"{path}.title", confirm.get("title"), 100, plain=True)
        self.text(f"{path}.text", confirm.get("text"), 300)
        self.text(f"{path}.confirm", confirm.get("confirm"), 30, plain=True)
        self.text(f"{path}.deny", confirm.get("deny"), 30, plain=True)


def check_blocks(blocks: Any, surface: Surface) -> list[str]:
    """Problems Slack would reject in `blocks` shown on `surface` ([] when there are none)."""
    checker = _Checker()
    checker.blocks(blocks, surface)
    return checker.problems


def check_view(view: Any) -> list[str]:
    """Problems Slack would reject in a modal or App Home view ([] when there are none)."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["view: must be an object with type modal or home"]
    checker = _Checker()
    surface: Surface = view["type"]
    if surface == "modal":
        checker.text("view.title", view.get("title"), 24, plain=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input"
                        for b in view.get("blocks") or [])
        checker.text("view.submit", view.get("submit"), 24, plain=True, required=has_input)
        checker.text("view.close", view.get("close"), 24, plain=True, required=False)
    checker.max_len("view.private_metadata", view.get("private_metadata"), 3000)
    checker.max_len("view.callback_id", view.get("callback_id"), 255)
    checker.max_len("view.external_id", view.get("external_id"), 255)
    checker.blocks(view.get("blocks"), surface)
    return checker.problems
