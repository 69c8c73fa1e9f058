"""Reading what people type in Slack: requests, thread replies, decisions, dates and counts."""

from bot.parsing.dates import parse_timeline
from bot.parsing.decision import ParsedDecision, parse_decision_text
from bot.parsing.numbers import parse_count
from bot.parsing.reply import ParsedReply, parse_thread_reply
from bot.parsing.request import ParsedRequest, parse_request_text

__all__ = [
    "ParsedDecision",
    "ParsedReply",
    "ParsedRequest",
    "parse_count",
    "parse_decision_text",
    "parse_request_text",
    "parse_thread_reply",
    "parse_timeline",
]
