"""Slack's workspace-wide limit on posting, learned from its 429s (bot/sending.py
Workspace): one conversation's 429 holds only that conversation; 429s in two conversations
hold the workspace for Retry-After and slow its posts to under the rate Slack accepted,
which then rises again while Slack accepts them all."""

from __future__ import annotations

import asyncio
import time

from bot.sending import Pacer, Workspace
from tests.slack.double import SlackDouble


def accepted(workspace: Workspace, count: int, start: float, per_second: float) -> float:
    """`count` posts accepted from `start`, `per_second` apart; when the last one was."""
    at = start
    for n in range(count):
        at = start + n / per_second
        workspace.accepted(at)
    return at


def test_a_429_in_one_conversation_leaves_the_workspace_alone():
    workspace = Workspace()
    now = accepted(workspace, 50, 100.0, 10)
    workspace.rate_limited("T1:U1", 1.0, now)
    workspace.rate_limited("T1:U1", 1.0, now + 1.5)  # the same person again
    assert workspace.ready_at == 0.0 and workspace.rate is None


def test_429s_in_two_conversations_hold_the_workspace_and_slow_it_down():
    workspace = Workspace()
    now = accepted(workspace, 100, 100.0, 10)  # 10 a second for 10 s
    workspace.rate_limited("T1:U1", 1.0, now)
    workspace.rate_limited("T1:U2", 2.0, now + 0.1)
    assert workspace.ready_at == now + 2.1  # the longer Retry-After, counted from its answer
    assert workspace.rate is not None and 7.5 <= workspace.rate <= 8.5  # 0.8 of 10 a second
    slowed = workspace.rate
    # answers to posts already on their way do not slow it further
    workspace.rate_limited("T1:U3", 1.0, now + 0.2)
    assert workspace.rate == slowed
    # a second after the hold with every post accepted: a tenth faster, and so on
    at = accepted(workspace, 7, now + 2.2, slowed)
    assert workspace.rate == slowed
    workspace.accepted(workspace.ready_at + 1.0)
    assert workspace.rate == slowed * 1.1
    workspace.accepted(workspace.ready_at + 1.5)
    assert workspace.rate == slowed * 1.1  # not twice in one second
    # met again later: slower than the rate Slack accepted meanwhile
    later = at + 5.0
    workspace.rate_limited("T1:U4", 1.0, later)
    workspace.rate_limited("T1:U5", 1.0, later)
    assert workspace.rate < slowed * 1.1 and workspace.ready_at == later + 1.0
    # two minutes without a 429: the limit is forgotten
    workspace.accepted(later + Workspace.FORGET_SECONDS + 1)
    assert workspace.rate is None


def test_a_quiet_workspace_is_slowed_no_further_than_a_post_a_second():
    workspace = Workspace()
    accepted(workspace, 2, 100.0, 1)  # two posts in ten seconds say nothing of the limit
    workspace.rate_limited("T1:U1", 1.0, 110.0)
    workspace.rate_limited("T1:U2", 1.0, 110.0)
    assert workspace.rate == Workspace.MIN_RATE == 1.0


def test_429s_only_long_apart_are_one_conversation_each():
    workspace = Workspace()
    workspace.rate_limited("T1:U1", 1.0, 100.0)
    workspace.rate_limited("T1:U2", 1.0, 103.0)  # the first one's Retry-After long passed
    assert workspace.rate is None and workspace.ready_at == 0.0


def test_posts_in_a_slowed_workspace_are_spaced_and_a_new_hold_moves_them():
    async def scenario() -> tuple[list[float], float]:
        pacer = Pacer(0.0)
        workspace = pacer.workspaces.setdefault("T1", Workspace())
        workspace.rate = 20.0  # 50 ms apart
        sent: list[float] = []

        async def post(user: str) -> None:
            async with pacer.lane(f"T1:{user}") as lane, lane.turn():
                sent.append(time.monotonic())

        started = time.monotonic()
        tasks = [asyncio.create_task(post(f"U{n}")) for n in range(6)]
        await asyncio.sleep(0.12)  # three have gone; a hold of 0.3 s now moves the rest
        now = time.monotonic()
        workspace.ready_at = now + 0.3
        await asyncio.gather(*tasks)
        return [at - started for at in sent], now - started

    sent, held_at = asyncio.run(scenario())
    assert all(b - a >= 0.045 for a, b in zip(sent, sent[1:], strict=False)), sent
    assert sum(at < held_at for at in sent) == 3
    assert all(at >= held_at + 0.29 for at in sent[3:]), (sent, held_at)


def test_other_teams_and_other_calls_keep_their_pace():
    async def scenario() -> float:
        pacer = Pacer(0.0)
        async with pacer.lane("T1:U1") as lane:
            lane.rate_limited(5.0)
        async with pacer.lane("T1:U2") as lane:
            lane.rate_limited(5.0)
        started = time.monotonic()
        async with pacer.lane("T2:U1") as lane, lane.turn():  # another workspace
            pass
        async with pacer.lane("T1:U3") as lane, lane.turn(paced=False):  # not a post
            pass
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_the_slack_double_answers_429_over_its_workspace_limit():
    """The double's limit, which the sweep test and the bench rely on."""
    slack = SlackDouble()
    slack.limit_posts(per_minute=60, burst=2)  # one a second after two
    assert slack._rate_limited("chat.postMessage", {}, 10.0) == 0.0
    assert slack._rate_limited("chat.postMessage", {}, 10.0) == 0.0
    assert slack._rate_limited("chat.postMessage", {}, 10.0) == 1.0
    assert slack._rate_limited("chat.update", {}, 10.0) == 0.0  # posting only
    assert slack._rate_limited("chat.postMessage", {}, 11.0) == 0.0


def test_a_sweep_to_thousands_of_people_looks_for_idle_lanes_only_now_and_then():
    """Every lane of a sweep to 3,000 people is busy for a second after its post, so none
    can be forgotten: the Pacer looks again only once their number has doubled, not at
    every new person (which cost a scan of all lanes per post)."""
    scans: list[int] = []

    async def scenario() -> Pacer:
        pacer = Pacer(1.0)
        forget = pacer._forget_idle
        pacer._forget_idle = lambda: (scans.append(len(pacer._lanes)), forget())[1]
        for n in range(3000):
            async with pacer.lane(f"T1:U{n}") as lane, lane.turn():
                pass
        return pacer

    pacer = asyncio.run(scenario())
    assert scans == [1001, 2003]
    assert len(pacer._lanes) == 3000  # none forgotten while it may not post yet


def test_idle_lanes_are_forgotten_and_a_held_one_is_kept():
    async def scenario() -> tuple[Pacer, float]:
        pacer = Pacer(0.0)
        async with pacer.lane("T1:U-held") as lane:
            lane.rate_limited(30.0)
        for n in range(1500):
            async with pacer.lane(f"T1:U{n}") as lane, lane.turn():
                pass
        async with pacer.lane("T1:U-held") as lane:
            return pacer, lane.ready_at - time.monotonic()

    pacer, still_held = asyncio.run(scenario())
    assert len(pacer._lanes) < 1000
    assert still_held > 25  # its Retry-After survived the forgetting


def test_a_workspace_starts_with_a_few_posts_in_flight_and_lets_more_go_as_slack_takes_them():
    """Every post on its way when Slack's first 429s come back is refused too: posts in
    flight in a workspace start at START_WINDOW and grow by one for two accepted."""
    start = Workspace.START_WINDOW
    most_at_once: list[int] = []

    async def scenario(posts: int, accept: bool) -> Pacer:
        pacer = Pacer(0.0)
        in_flight = 0
        peak = 0

        async def post(n: int) -> None:
            nonlocal in_flight, peak
            async with pacer.lane(f"T1:U{n}") as lane, lane.turn():
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.01)
                in_flight -= 1
                if accept:
                    lane.posted()

        await asyncio.gather(*(post(n) for n in range(posts)))
        most_at_once.append(peak)
        return pacer

    pacer = asyncio.run(scenario(3 * start, accept=False))
    assert most_at_once[-1] == start
    assert pacer.workspaces["T1"].in_flight == 0  # every turn given back

    pacer = asyncio.run(scenario(3 * start, accept=True))
    assert start < most_at_once[-1] < 3 * start
    assert pacer.workspaces["T1"].window == start + 1.5 * start


def test_meeting_the_limit_starts_the_window_over():
    workspace = Workspace()
    now = accepted(workspace, 200, 100.0, 50)
    assert workspace.window == Workspace.START_WINDOW + 100
    workspace.rate_limited("T1:U1", 1.0, now)
    workspace.rate_limited("T1:U2", 1.0, now + 0.01)
    assert workspace.window == Workspace.START_WINDOW


def test_a_post_cancelled_while_it_waits_gives_its_place_back():
    """Cancelled waiting for a slot after its turn in the workspace, or waiting for room in
    the workspace's window (a sweep stopped): the posts in flight are counted right, and
    the next post goes."""

    async def scenario() -> tuple[int, int]:
        pacer = Pacer(0.0, concurrency=2)
        release = asyncio.Event()

        async def post(n: int) -> None:
            async with pacer.lane(f"T1:U{n}") as lane, lane.turn():
                await release.wait()

        holders = [asyncio.create_task(post(n)) for n in range(2)]  # both slots
        await asyncio.sleep(0.01)
        for_slot = asyncio.create_task(post(2))  # its turn in the workspace, then no slot
        await asyncio.sleep(0.01)
        workspace = pacer.workspaces["T1"]
        workspace.window = 2
        for_window = asyncio.create_task(post(3))  # no room in the window
        await asyncio.sleep(0.01)
        for_slot.cancel()
        for_window.cancel()
        await asyncio.gather(for_slot, for_window, return_exceptions=True)
        during = workspace.in_flight
        release.set()
        await asyncio.gather(*holders)
        await asyncio.wait_for(post(4), 1.0)
        return during, workspace.in_flight

    assert asyncio.run(scenario()) == (2, 0)
