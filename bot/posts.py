"""What the bot posts about a request, queued in the outbox with the data it describes.

Each post's message is built when it is sent (`prepare`), from the data as it is then,
so a card or question never shows stale facts, and what Slack answers is recorded
(`after_send`): a card's ts becomes the request's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.blocks.follow_up import follow_up_question
from bot.blocks.request_card import request_card
from bot.mrkdwn import channel as channel_ref
from bot.services import outbox
from bot.services.facts import current_decision, request_facts
from bot.services.priority import Currencies
from bot.settings import Settings
from models import Decision, DeliveryState, OutboxMessage, Request

if TYPE_CHECKING:
    from bot.services.similar import Suggestion

CARD = "request_card"
CARD_BY_DM = "request_card_dm"
CARD_UPDATE = "card_update"
FOLLOW_UP = "follow_up"
PERMALINK = "permalink"
THREAD_REPLY = "thread_reply"
DIRECT_MESSAGE = "direct_message"
DECISION_REPLY = "decision_reply"
HOME = "home"
SIMILAR = "similar_requests"

NOT_IN_CHANNEL = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action",
     "access_denied", "cant_reply_to_message", "message_not_found"}
)


def queue_new_request(session: Session, request: Request, now: datetime,
                      deciders: Sequence[str] = ()) -> list[int]:
    """The card (in the channel, or in the filed message's thread) and the follow-up questions."""
    ids = [
        outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage", args={},
                       purpose=CARD, request_id=request.id, now=now).id,
        outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage", args={},
                       purpose=FOLLOW_UP, request_id=request.id,
                       thread_of_request_id=request.id, now=now).id,
    ]
    if request.message_ts and not request.permalink:
        ids.append(_queue_permalink(session, request, request.source_channel_id,
                                    request.message_ts, now))
    return ids + queue_homes_of(session, request, now, deciders=deciders)


def queue_card_update(session: Session, request: Request, now: datetime) -> int:
    """The card again, with the latest facts; the App Home of those who see it refreshes too.
    A card is built when sent, so an update still waiting is replaced by this one (a burst
    of answers updates the card once), due no sooner than it was (a 429's Retry-After)."""
    queue_homes_of(session, request, now)
    waiting = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.request_id == request.id, OutboxMessage.purpose == CARD_UPDATE,
        OutboxMessage.state == DeliveryState.PENDING)))
    for message in waiting:
        message.state = DeliveryState.CANCELLED  # a sender that read it meanwhile skips it
    update = outbox.enqueue(session, team_id=request.team_id, method="chat.update", args={},
                            purpose=CARD_UPDATE, request_id=request.id, now=now)
    update.next_attempt_at = max([now, *(m.next_attempt_at for m in waiting)])
    return update.id


def queue_homes_of(session: Session, request: Request, now: datetime, *,
                   deciders: Sequence[str] = ()) -> list[int]:
    """Home refreshes for the request's requester and its latest decider, and for `deciders`
    (user ids; group ids are skipped) whose triage queue grew."""
    ids = [queue_home(session, request.team_id, request.requested_by, now,
                      request_id=request.id)]
    decision = current_decision(session, request.id)
    watching = [decision.decided_by] if decision is not None else []
    watching += [d for d in deciders if d[:1] in ("U", "W")]
    for decider in dict.fromkeys(watching):
        if decider != request.requested_by:
            ids.append(queue_home(session, request.team_id, decider, now, decider=True,
                                  request_id=request.id))
    return ids


def queue_thread_reply(
    session: Session, request: Request, text: str, now: datetime,
    blocks: list[dict[str, Any]] | None = None, purpose: str = THREAD_REPLY,
) -> int:
    args: dict[str, Any] = {"text": text}
    if blocks:
        args["blocks"] = blocks
    return outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage", args=args,
                          purpose=purpose, request_id=request.id,
                          thread_of_request_id=request.id, now=now).id


def queue_direct_message(
    session: Session, team_id: str, user_id: str, text: str, now: datetime,
    blocks: list[dict[str, Any]] | None = None, request_id: int | None = None,
    purpose: str = DIRECT_MESSAGE,
) -> int:
    """A DM from the bot: posting to a user id opens the app's DM with them."""
    args: dict[str, Any] = {"channel": user_id, "text": text}
    if blocks:
        args["blocks"] = blocks
    return outbox.enqueue(session, team_id=team_id, method="chat.postMessage", args=args,
                          purpose=purpose, request_id=request_id, now=now).id


def queue_follow_up(session: Session, request: Request, now: datetime) -> int:
    """The follow-up questions again (e.g. after `Needs more info`), built when sent."""
    return outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage", args={},
                          purpose=FOLLOW_UP, request_id=request.id,
                          thread_of_request_id=request.id, now=now).id


def _queue_permalink(session: Session, request: Request, channel: str | None, ts: str,
                     now: datetime) -> int:
    return outbox.enqueue(session, team_id=request.team_id, method="chat.getPermalink",
                          args={"channel": channel, "message_ts": ts}, purpose=PERMALINK,
                          request_id=request.id, now=now).id


def queue_home(session: Session, team_id: str, user_id: str, now: datetime, *,
               decider: bool | None = None, request_id: int | None = None) -> int:
    """A refresh of the user's App Home, built when sent; one pending refresh per user
    (found by the database: a busy team has many users' refreshes pending at once). Found
    by its conversation, the user's App Home, through an index: by purpose and state it
    read past every post waiting for Slack's pace (4,000 after a burst of 1,200 filings
    into one channel, 1 ms for each filing's two refreshes)."""
    pending = session.scalar(select(OutboxMessage).where(
        OutboxMessage.team_id == team_id, OutboxMessage.conversation == user_id,
        OutboxMessage.state == DeliveryState.PENDING, OutboxMessage.purpose == HOME).limit(1))
    if pending is not None:
        if decider is not None:
            pending.args = {**pending.args, "decider": decider}
        return pending.id
    return outbox.enqueue(session, team_id=team_id, method="views.publish",
                          args={"user_id": user_id, "decider": decider}, purpose=HOME,
                          request_id=request_id, now=now).id


def queue_similar(session: Session, request: Request, found: Sequence[Suggestion],
                  now: datetime) -> list[int]:
    """Requests already on file that ask for the same thing, offered in the new one's thread."""
    from bot.blocks.similar import similar_in_thread

    if not found:
        return []
    message = similar_in_thread(request.id, list(found))
    return [queue_thread_reply(session, request, message.text, now, message.blocks,
                               purpose=SIMILAR)]


HOME_REFRESH_INTERVAL = timedelta(seconds=2)
"""A user's App Home is refreshed for others' changes at most this often: in a burst
(each filing refreshes its rep's and its decider's home) one publish every two seconds
carries them all, where one each cost a whole App Home and a views.publish call. A user's
own opens and clicks publish at once (bot/listeners/home.py)."""
CARD_UPDATE_INTERVAL = timedelta(seconds=2)
"""A request's card is updated at most this often: a burst of answers in its thread is
one chat.update every two seconds with all of them (a waiting update is replaced by the
next, `queue_card_update`), not one card built and sent per answer against chat.update's
limit of about 50 a minute."""


class BuiltLately:
    """What this process built within `interval`, and when: such a thing waits (the outbox
    row stays due and what changes meanwhile joins it)."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._built: dict[tuple[str, str | int], datetime] = {}

    def wait(self, key: tuple[str, str | int], at: datetime) -> bool:
        last = self._built.get(key)
        return last is not None and at - last < self.interval

    def built(self, key: tuple[str, str | int], at: datetime) -> None:
        if len(self._built) > 1000:
            for old in [k for k, t in self._built.items() if at - t >= self.interval]:
                del self._built[old]
        self._built[key] = at


def outbox_hooks(settings: Settings, now: Callable[[], datetime]) -> outbox.Hooks:
    hooks = outbox.Hooks()
    deciders = list(settings.deciders)
    currencies = Currencies.from_settings(settings)

    def request_of(session: Session, message: OutboxMessage) -> Request | None:
        return session.get(Request, message.request_id) if message.request_id else None

    def prepare_card(session: Session, message: OutboxMessage, args: dict) -> dict | None:
        request = request_of(session, message)
        if request is None or request.channel_id is None:
            return None
        card = request_card(request_facts(session, request, currencies), deciders)
        args = {"channel": request.channel_id, **card.args()}
        if request.thread_ts:
            args["thread_ts"] = request.thread_ts
        return args

    def card_posted(session: Session, message: OutboxMessage, result: dict) -> None:
        request = request_of(session, message)
        if request is None:
            return
        request.card_channel_id = result.get("channel")
        request.card_ts = result.get("ts")
        if request.thread_ts is None or message.purpose == CARD_BY_DM:
            request.channel_id = request.card_channel_id
            request.thread_ts = request.card_ts
        if request.permalink is None and request.message_ts is None and message.purpose == CARD:
            _queue_permalink(session, request, request.card_channel_id, request.card_ts, now())

    def card_refused(session: Session, message: OutboxMessage, error: str) -> None:
        request = request_of(session, message)
        if request is None or error not in NOT_IN_CHANNEL:
            return
        where = channel_ref(request.channel_id) if request.channel_id else "that conversation"
        text = (
            f"I saved your request #{request.id}, but I can't post in {where} because I'm not "
            "a member. Invite me there with `/invite @requestbot` so replies land in the "
            "channel; until then I'll keep you posted here."
        )
        outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage",
                       args={"channel": request.requested_by, "text": text},
                       purpose=CARD_BY_DM, request_id=request.id, now=now())

    def prepare_card_by_dm(session: Session, message: OutboxMessage, args: dict) -> dict | None:
        request = request_of(session, message)
        if request is None:
            return None
        card = request_card(request_facts(session, request, currencies), deciders)
        return {"channel": request.requested_by, "text": f"{args['text']}\n{card.text}",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": args["text"]}},
                           *card.blocks]}

    updated = BuiltLately(CARD_UPDATE_INTERVAL)

    def prepare_card_update(session: Session, message: OutboxMessage, args: dict) -> dict | None:
        key, at = (message.team_id, message.request_id or 0), now()
        if updated.wait(key, at):
            return outbox.LATER
        request = request_of(session, message)
        if request is None or request.card_ts is None or request.card_channel_id is None:
            return None  # the card is posted with the latest facts anyway
        card = request_card(request_facts(session, request, currencies), deciders)
        updated.built(key, at)
        return {"channel": request.card_channel_id, "ts": request.card_ts, **card.args()}

    def prepare_follow_up(session: Session, message: OutboxMessage, args: dict) -> dict | None:
        request = request_of(session, message)
        if request is None:
            return None
        if request.card_ts is None:
            return outbox.LATER  # ask under the card, wherever it could be posted
        facts = request_facts(session, request)
        if not facts.missing or request.status not in ("new", "needs_info"):
            return None
        return {**args, **follow_up_question(facts).args()}

    def follow_up_posted(session: Session, message: OutboxMessage, result: dict) -> None:
        request = request_of(session, message)
        if request is not None:
            request.follow_up_ts = result.get("ts")
            request.follow_up_asked_at = message.sent_at

    def permalink_found(session: Session, message: OutboxMessage, result: dict) -> None:
        request = request_of(session, message)
        if request is not None and result.get("permalink"):
            request.permalink = result["permalink"]

    def thread_post_refused(session: Session, message: OutboxMessage, error: str) -> None:
        """A reply that cannot go in the thread goes to the requester by DM instead."""
        request = request_of(session, message)
        if request is None or error not in NOT_IN_CHANNEL:
            return
        args = {k: v for k, v in message.args.items() if k in ("text", "blocks")}
        if message.purpose == FOLLOW_UP:
            facts = request_facts(session, request)
            if not facts.missing:
                return
            args = follow_up_question(facts).args()
        outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage",
                       args={**args, "channel": request.requested_by},
                       purpose=DIRECT_MESSAGE, request_id=request.id, now=now())

    def decision_reply_refused(session: Session, message: OutboxMessage, error: str) -> None:
        """A decision that cannot land in a merged request's thread goes to its requester by
        DM; the decided request's requester already gets the decision by DM."""
        request = request_of(session, message)
        if request is None or error not in NOT_IN_CHANNEL or request.duplicate_of_id is None:
            return
        args = {k: v for k, v in message.args.items() if k in ("text", "blocks")}
        outbox.enqueue(session, team_id=request.team_id, method="chat.postMessage",
                       args={**args, "channel": request.requested_by},
                       purpose=DIRECT_MESSAGE, request_id=request.id, now=now())

    hooks.prepare.update({CARD: prepare_card, CARD_BY_DM: prepare_card_by_dm,
                          CARD_UPDATE: prepare_card_update, FOLLOW_UP: prepare_follow_up})
    hooks.after_send.update({CARD: card_posted, CARD_BY_DM: card_posted,
                             FOLLOW_UP: follow_up_posted, PERMALINK: permalink_found})
    refreshed = BuiltLately(HOME_REFRESH_INTERVAL)

    def prepare_home(session: Session, message: OutboxMessage, args: dict) -> dict | None:
        from bot.listeners.home import home_view

        user_id = args["user_id"]
        key, at = (message.team_id, user_id), now()
        if refreshed.wait(key, at):
            return outbox.LATER  # what changes meanwhile joins this refresh (one per user)
        decider = args.get("decider")
        if decider is None:
            decider = user_id in deciders or has_decided(session, message.team_id, user_id)
        view = home_view(session, settings, message.team_id, user_id, bool(decider), at)
        refreshed.built(key, at)
        return {"user_id": user_id, "view": view.to_dict()}

    hooks.prepare[HOME] = prepare_home
    hooks.on_permanent_failure.update({CARD: card_refused, FOLLOW_UP: thread_post_refused,
                                       THREAD_REPLY: thread_post_refused,
                                       SIMILAR: thread_post_refused,
                                       DECISION_REPLY: decision_reply_refused})
    return hooks


def has_decided(session: Session, team_id: str, user_id: str) -> bool:
    """A user who recorded a decision is a decider (also when only a user group says so)."""
    return session.scalar(
        select(Decision.id).where(Decision.team_id == team_id, Decision.decided_by == user_id)
        .limit(1)) is not None
