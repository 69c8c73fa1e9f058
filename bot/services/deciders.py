"""Who may decide: REQUESTBOT_DECIDERS user ids, plus the members of its user groups."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

GROUP_CACHE_SECONDS = 60.0

GroupMembers = Callable[[str, str], Awaitable[list[str]]]


class DeciderDirectory:
    """Resolves deciders; user groups are looked up with usergroups.users.list and cached
    briefly per process (replicas each keep their own short cache)."""

    def __init__(self, configured: list[str], group_members: GroupMembers,
                 ttl: float = GROUP_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.users = [d for d in configured if d[0] in "UW"]
        self.groups = [d for d in configured if d[0] == "S"]
        self._group_members = group_members
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, list[str]]] = {}

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    async def members(self, team_id: str, group_id: str) -> list[str]:
        key = (team_id, group_id)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        members = await self._group_members(team_id, group_id)
        self._cache[key] = (self._clock(), members)
        return members

    async def is_decider(self, team_id: str, user_id: str) -> bool:
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self.members(team_id, group):
                return True
        return False

    async def everyone(self, team_id: str) -> list[str]:
        """Every decider as a user id (for reminders that go to all deciders)."""
        found = list(self.users)
        for group in self.groups:
            found += [u for u in await self.members(team_id, group) if u not in found]
        return found

    def described(self) -> str:
        """Who can decide, as mrkdwn mentions (ids the bot itself validated)."""
        names = [f"<@{u}>" for u in self.users] + [f"<!subteam^{g}>" for g in self.groups]
        return ", ".join(names) if names else "nobody yet (an admin sets REQUESTBOT_DECIDERS)"
