"""Sending what the bot owes Slack (queued posts, reminders) as fast as Slack allows, and
writing down what Slack answered in as few transactions as is safe.

Slack paces chat.postMessage per conversation: about one message a second to one channel
or DM (https://api.slack.com/methods/chat.postMessage#rate_limiting); conversations are
independent. So calls go in lanes, one per conversation: inside a lane one at a time, in
the order given, posts a second apart; lanes run side by side, up to a cap on calls in
flight. The outbox and the reminder sweep share the process's Pacer, so a reminder and a
queued DM to the same person wait for each other too. Slack also limits posting across a
workspace, at a rate it does not publish: the lanes of one workspace share a Workspace,
which learns that rate from Slack's 429s.

SQLite has one writer, and the ack path of other requests waits for it: a Recorder writes
the results that arrive while one transaction runs in the next one, so a burst of posts
costs a few short write transactions rather than one per post.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from bot.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
WriteAll = Callable[[Session, list[A]], list[T]]  # writes items of one kind, a result each

PER_CONVERSATION_SECONDS = 1.0
CONCURRENT_CALLS = 200
"""Calls in flight across all conversations: sending keeps up with at most this many over
Slack's latency. 10,000 reminders to 2,000 people against a double answering in 50 ms took
21 s with 50 and 12 s with 100, every call waiting for a slot; with 200 the sweep's CPU is
its limit (6.7 s). The worker's aiohttp session allows this many connections and a few
more for interactive calls (bot/runtime.py). Slack's limits are one post a second per
conversation (the lanes) and a workspace-wide one it answers with 429."""
FORGET_LANES_ABOVE = 1000  # idle lanes are dropped once a Pacer holds more than this
RECORD_LINGER_SECONDS = 0.02  # a result waits this long for others to share its transaction


class Workspace:
    """Slack's workspace-wide limit on posting, which it does not publish ("several hundred
    messages per minute"), learned from its 429s.

    A 429 in one conversation holds that conversation only. Once a second conversation of
    the workspace gets one within Retry-After of the first, the workspace is over its
    limit: no post goes anywhere in it until Retry-After has passed, and from then on
    posts are spaced to a little under the rate Slack accepted them at lately, a tenth
    faster after each second in which Slack took them all. So a sweep that meets the
    limit sends a 429 now and then, not one for every post it tries, and goes about as
    fast as the limit lets it. The learned rate is forgotten after FORGET_SECONDS without
    a 429.

    Every post already on its way when the first 429s come back is refused too, so a
    workspace starts with START_WINDOW posts in flight and lets one more go for every two
    Slack accepts (a sweep to thousands reaches CONCURRENT_CALLS within a few hundred
    posts); meeting the limit starts it over."""

    WINDOW_SECONDS = 10.0  # the accepted posts the rate is learned from
    SLOWER = 0.8  # after a 429: this much of the rate Slack accepted
    FASTER = 1.1  # after a second without one
    MIN_RATE = 1.0
    """Posts a second, however few were accepted lately (a quiet workspace's rate says
    nothing of Slack's limit) and however often Slack answers 429: Slack's pace in a single
    channel, and well under "several hundred messages per minute"."""
    FORGET_SECONDS = 120.0
    START_WINDOW = 40  # posts in flight in a workspace before Slack has accepted any

    def __init__(self) -> None:
        self.window = float(self.START_WINDOW)  # posts that may be in flight
        self.in_flight = 0
        self._room: asyncio.Future[None] | None = None  # a finished post makes room
        self.ready_at = 0.0  # time.monotonic() before which no post may go (Retry-After)
        self.rate: float | None = None  # posts a second; None: no limit met lately
        self._next_at = 0.0  # the next post's turn, at `rate`
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._releasing: asyncio.Task[None] | None = None
        self._accepted: deque[float] = deque()
        self._limited: dict[str, float] = {}  # conversation -> when its last 429 came
        self._slowed_at = float("-inf")
        self._faster_at = 0.0

    def held(self) -> bool:
        return time.monotonic() < self.ready_at

    async def turn(self) -> None:
        """Waits for this post's turn: after any hold, `1/rate` after the one before, first
        come first served. Turns are given one at a time, each when it comes, so a new hold
        or rate applies to every post still waiting."""
        if (self.rate is None and not self._waiting and not self.held()
                and self.in_flight < self.window):
            self.in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._releasing is None or self._releasing.done():
            self._releasing = asyncio.create_task(self._release())
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # given its turn as it was cancelled
                self.finished()
            raise

    async def _release(self) -> None:
        while self._waiting:
            now = time.monotonic()
            at = max(self.ready_at, self._next_at if self.rate is not None else 0.0)
            if at > now:
                await asyncio.sleep(at - now)
                continue  # a hold or a new rate may have come meanwhile
            if self.in_flight >= self.window:
                self._room = asyncio.get_running_loop().create_future()
                await self._room
                continue
            waiter = self._waiting.popleft()
            if waiter.done():  # its sender was cancelled
                continue
            self.in_flight += 1
            waiter.set_result(None)
            self._next_at = now + 1.0 / self.rate if self.rate is not None else now

    def finished(self) -> None:
        """A post that had its turn has been answered (or given its turn back)."""
        self.in_flight -= 1
        if self._room is not None and not self._room.done():
            self._room.set_result(None)

    def accepted(self, now: float) -> None:
        self.window += 0.5
        self._accepted.append(now)
        self._forget_accepted_before(now - self.WINDOW_SECONDS)
        if self.rate is None:
            return
        if now - self._slowed_at > self.FORGET_SECONDS:
            self.rate = None
        elif now - max(self._slowed_at, self._faster_at) >= 1.0:
            self.rate *= self.FASTER
            self._faster_at = now

    def rate_limited(self, conversation: str, seconds: float, now: float) -> None:
        self._limited = {c: at for c, at in self._limited.items() if now - at <= seconds + 1.0}
        others = any(c != conversation for c in self._limited)
        self._limited[conversation] = now
        if not others:
            return
        self.ready_at = max(self.ready_at, now + seconds)
        self._faster_at = self.ready_at  # seconds without a 429 count from here
        if now - self._slowed_at < seconds:
            return  # answers to posts that went out before the last slow-down
        self._forget_accepted_before(now - self.WINDOW_SECONDS)
        span = max(1.0, now - self._accepted[0]) if self._accepted else 1.0
        accepted = len(self._accepted) / span
        self.rate = max(self.MIN_RATE,
                        self.SLOWER * min(self.rate or accepted, accepted or self.MIN_RATE))
        self.window = float(self.START_WINDOW)
        self._slowed_at = now
        log.info("slack's workspace-wide posting limit met: slowing down",
                 extra={"posts_per_second": round(self.rate, 2), "retry_after": seconds})

    def _forget_accepted_before(self, moment: float) -> None:
        while self._accepted and self._accepted[0] < moment:
            self._accepted.popleft()


class Lane:
    """One conversation: whoever holds it sends there, one call at a time."""

    def __init__(self, pacer: Pacer, conversation: str | None = None,
                 workspace: Workspace | None = None) -> None:
        self._pacer = pacer
        self.conversation = conversation
        self.workspace = workspace
        self.lock = asyncio.Lock()
        self.ready_at = 0.0  # time.monotonic() before which no post may go
        self.holders = 0

    @asynccontextmanager
    async def turn(self, paced: bool = True) -> AsyncIterator[None]:
        """One call. A post waits until `interval` after Slack answered the previous one
        (counted from the answer, so a slow request never lands within a second of the
        next), and for its workspace's pace; a call that is not a post (an update, an App
        Home) only keeps its place."""
        workspace = self.workspace if paced else None
        while True:
            if paced:
                wait = self.ready_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            if workspace is not None:
                await workspace.turn()
            try:
                await self._pacer.slots.acquire()
            except asyncio.CancelledError:
                if workspace is not None:
                    workspace.finished()
                raise
            if workspace is None or not workspace.held():
                break
            self._pacer.slots.release()  # held while it waited for a slot: its turn again
            workspace.finished()
        try:
            yield
        finally:
            self._pacer.slots.release()
            if workspace is not None:
                workspace.finished()
            if paced:
                self.hold(self._pacer.interval)

    def hold(self, seconds: float) -> None:
        """No post to this conversation for `seconds` (Slack's Retry-After)."""
        self.ready_at = max(self.ready_at, time.monotonic() + seconds)

    def posted(self) -> None:
        """Slack accepted a post here."""
        if self.workspace is not None:
            self.workspace.accepted(time.monotonic())

    def rate_limited(self, seconds: float, post: bool = True) -> None:
        """Slack answered 429 with Retry-After `seconds`: this conversation waits, and for a
        post the workspace may be over its limit (Workspace)."""
        self.hold(seconds)
        if post and self.workspace is not None and self.conversation is not None:
            self.workspace.rate_limited(self.conversation, seconds, time.monotonic())


class Pacer:
    """Lanes per conversation, `interval` seconds between posts in one, and up to
    `concurrency` calls in flight across all of them. A conversation is named
    `team:channel`; the lanes of one team share its Workspace's pace."""

    def __init__(self, interval: float = PER_CONVERSATION_SECONDS,
                 concurrency: int = CONCURRENT_CALLS) -> None:
        self.interval = interval
        self.slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, Lane] = {}
        self._forget_above = FORGET_LANES_ABOVE
        self.workspaces: dict[str, Workspace] = {}

    @asynccontextmanager
    async def lane(self, conversation: str | None) -> AsyncIterator[Lane]:
        """Holds a conversation's lane for a run of calls, so they go in the order given and
        no other run to that conversation slips in between; waiters get it in turn. None is
        a lane of its own (a call that needs no order and no pace)."""
        if conversation is None:
            yield Lane(self)
            return
        lane = self._lanes.get(conversation)
        if lane is None:
            if len(self._lanes) > self._forget_above:
                self._forget_idle()
            team = conversation.partition(":")[0]
            if team not in self.workspaces:
                self.workspaces[team] = Workspace()
            lane = self._lanes[conversation] = Lane(self, conversation, self.workspaces[team])
        lane.holders += 1
        try:
            async with lane.lock:
                yield lane
        finally:
            lane.holders -= 1

    def _forget_idle(self) -> None:
        now = time.monotonic()
        for conversation, lane in list(self._lanes.items()):
            if not lane.holders and lane.ready_at <= now:
                del self._lanes[conversation]
        # a sweep to thousands of people holds thousands of lanes: look again only once
        # their number has doubled, not at every new one
        self._forget_above = max(FORGET_LANES_ABOVE, 2 * len(self._lanes))


class Recorder:
    """Writes what Slack answered. Whatever arrives while one transaction runs goes into
    the next, so results cost a few transactions, not one each; results of one kind go to
    their writer together (one query loads all their rows). A batch that fails is written
    again one result per transaction: one bad row never loses the others."""

    def __init__(self, db: Database, linger: float = RECORD_LINGER_SECONDS) -> None:
        self.db = db
        self.linger = linger
        self._waiting: list[tuple[WriteAll[Any, Any], Any, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, work: Callable[[Session], T]) -> T:
        return await self.add(_each, work)

    async def add(self, write_all: WriteAll[A, T], item: A) -> T:
        """Has `write_all(session, items)` write `item` with the others of its kind; its
        result for `item`."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((write_all, item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.linger)  # results of calls answered together go together
            batch, self._waiting = self._waiting, []
            try:
                results = await self.db.run_background(partial(_write_batch, batch))
            except Exception:  # noqa: BLE001 - written again one by one below
                if len(batch) > 1:
                    log.warning("a batch of results failed; writing them one by one",
                                exc_info=True)
                for one in batch:
                    await self._write_one(*one)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write_one(self, write_all: WriteAll[Any, Any], item: Any,
                         future: asyncio.Future[Any]) -> None:
        try:
            [result] = await self.db.run_background(lambda s: write_all(s, [item]))
        except Exception as exc:  # noqa: BLE001 - the caller sees it
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)


def _each(session: Session, works: list[Callable[[Session], Any]]) -> list[Any]:
    return [work(session) for work in works]


def _write_batch(batch: list[tuple[WriteAll[Any, Any], Any, Any]], session: Session
                 ) -> list[Any]:
    """Every waiting result in one transaction, grouped by kind; results in batch order."""
    kinds: dict[WriteAll[Any, Any], list[int]] = {}
    for position, (write_all, _, _) in enumerate(batch):
        kinds.setdefault(write_all, []).append(position)
    results: list[Any] = [None] * len(batch)
    for write_all, positions in kinds.items():
        written = write_all(session, [batch[p][1] for p in positions])
        for position, result in zip(positions, written, strict=True):
            results[position] = result
    return results


@dataclass
class Batch(Generic[T]):
    """What one claim took; `more` when more may be due already (the claim was full);
    `crowded` when it left items whose conversation had its share (they are claimed
    once a conversation's run has finished)."""

    items: list[T]
    more: bool
    crowded: bool = False


@dataclass(eq=False)
class Drain(Generic[T]):
    """The loop the outbox and the reminder sweep share: claim a batch, hand each
    conversation's part of it to its lane, and claim again while more is due once no more
    than half of `ahead` claimed items wait (a claim expires, so none may wait long; and a
    claim builds what it takes, so a backlog in one busy conversation, sent a post a
    second, must not be claimed again after every post; a claim that left items because
    their conversation had its share is followed by another whenever a conversation's
    run finishes); then wait out
    retries due within `seconds` (a 429's Retry-After) if asked to. Claiming stops after
    `seconds`; what is claimed by then is still sent.

    `send` gets a conversation's items and when they were claimed (time.monotonic()); it
    calls `retry_in` for what it sent back to wait, and `unlocked` when what it recorded
    may have made more due (a card posted lets its thread replies go).
    """

    claim: Callable[[], Awaitable[Batch[T]]]
    conversation: Callable[[T], str | None]
    send: Callable[[str | None, list[T], float], Awaitable[None]]
    seconds: float
    ahead: int
    wait_for_retries: bool = False
    _retries: list[float] = field(default_factory=list)
    _queued: int = 0
    _running: set[asyncio.Task[None]] = field(default_factory=set)
    _progress: asyncio.Event = field(default_factory=asyncio.Event)
    _unlocked: bool = False
    _crowded: bool = False
    _deadline: float = float("inf")

    def retry_in(self, seconds: float) -> None:
        """Something this run sent back is due again in `seconds`."""
        self._retries.append(time.monotonic() + seconds)

    def unlocked(self) -> None:
        """What was just recorded (or queued) may have made more due: claim again."""
        self._unlocked = True
        self._progress.set()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if self._running:  # a claim failed: what is claimed already still goes
                await asyncio.gather(*self._running, return_exceptions=True)

    def claiming(self) -> bool:
        """Not past `seconds` yet (after it, a drain only waits for what it is sending)."""
        return time.monotonic() < self._deadline

    async def _run(self) -> None:
        self._deadline = deadline = time.monotonic() + self.seconds
        more = True
        while True:
            self._progress.clear()
            more = more or self._unlocked
            if more and self._queued <= self.ahead // 2 and time.monotonic() < deadline:
                self._unlocked = False
                batch = await self.claim()
                more = batch.more
                self._crowded = self._crowded or batch.crowded
                self._start(batch.items)
                if batch.items or more:
                    continue
            if self._running:
                await self._progress.wait()
                continue
            retry_at = self._next_retry(deadline)
            if retry_at is None:
                return
            await asyncio.sleep(max(0.0, retry_at - time.monotonic()))
            more = True

    def _start(self, items: Iterable[T]) -> None:
        claimed_at = time.monotonic()
        lanes: dict[str | None, list[T]] = {}
        for item in items:
            conversation = self.conversation(item)
            if conversation is None:
                self._launch(None, [item], claimed_at)
            else:
                lanes.setdefault(conversation, []).append(item)
        for conversation, lane_items in lanes.items():
            self._launch(conversation, lane_items, claimed_at)

    def _launch(self, conversation: str | None, items: list[T], claimed_at: float) -> None:
        self._queued += len(items)
        task = asyncio.create_task(self.send(conversation, items, claimed_at))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, len(items)))

    def _finished(self, task: asyncio.Task[None], count: int) -> None:
        self._running.discard(task)
        self._queued -= count
        if self._crowded:  # a conversation that had its share may have room again
            self._unlocked = True
        self._progress.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("sending failed", exc_info=task.exception())

    def _next_retry(self, deadline: float) -> float | None:
        if not self.wait_for_retries or not self._retries:
            return None
        soonest = min(self._retries)
        self._retries = [at for at in self._retries if at > soonest]
        return soonest if soonest <= deadline else None
