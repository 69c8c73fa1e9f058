"""Similar requests: each request's vector and match keys are stored when it is filed, and a
lookup narrows by shared keys through an index before scoring stored vectors, so it never
re-embeds or re-reads the table's text (docs/similarity.md has the matchers and numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Subquery, delete, func, insert, select, union_all
from sqlalchemy.orm import Session

from bot.similarity import Matcher, get_matcher, top_matches
from models import Decision, Request, RequestMatchKey, RequestStatus

MAX_CANDIDATES = 2000
"""Requests sharing the most keys with the query are scored; the lexical matcher scores
nothing above its threshold without a shared key, so on a big table this loses little."""
SEMANTIC_CANDIDATES = 20_000
KEY_LENGTH: int = RequestMatchKey.__table__.c.key.type.length  # type: ignore[attr-defined]
KEY_ROWS = 500
"""A lookup reads at most this many rows of one key (every row of a key on fewer requests)."""
LIGHT_KEY_ROWS = 100
"""A key the matcher finds too light to bring a request to its threshold on its own is read
only when it is on at most this many requests; above, its rows would mostly bring in
requests sharing little else with the query. bench/README.md (item 3) has the numbers."""


@cache
def matcher_for(kind: str) -> Matcher:
    """One matcher per process (the semantic one loads a model once)."""
    return get_matcher(kind)  # type: ignore[arg-type]


def keys_of(matcher: Matcher, title: str, problem: str | None) -> list[str]:
    """The text's match keys as they are stored and looked up (cut to the column's length)."""
    match_keys = getattr(matcher, "match_keys", None)
    if not match_keys:
        return []
    return list(dict.fromkeys(key[:KEY_LENGTH] for key in match_keys(title, problem)))


def match_key_rows(matcher: Matcher, team_id: str, request_id: int, title: str,
                   problem: str | None) -> list[dict[str, Any]]:
    """A request's match key rows, for an INSERT (filing, editing and importing)."""
    return [{"team_id": team_id, "request_id": request_id, "key": key}
            for key in keys_of(matcher, title, problem)]


def index_request(session: Session, request: Request, matcher: Matcher) -> None:
    """Stores the request's vector and match keys (again, after its text changed)."""
    request.similarity_vector = matcher.vector(request.title, request.problem)
    session.execute(delete(RequestMatchKey).where(RequestMatchKey.request_id == request.id))
    rows = match_key_rows(matcher, request.team_id, request.id, request.title, request.problem)
    if rows:
        session.execute(insert(RequestMatchKey), rows)
    session.flush()


def reindex(session: Session, request: Request) -> None:
    """After an edit: the same kind of vector as before (each vector names its matcher)."""
    from bot.similarity.lexical import is_lexical

    old = request.similarity_vector
    index_request(session, request,
                  matcher_for("lexical" if old is None or is_lexical(old) else "semantic"))


@dataclass
class Suggestion:
    request: Request
    score: float
    decision: Decision | None
    customers: int
    revenue: list


def key_counts(session: Session, team_id: str, keys: list[str], cap: int) -> dict[str, int]:
    """How many requests carry each key, counted only up to `cap`: an index range scan of at
    most `cap` entries per key, however many requests carry it."""
    if not keys:
        return {}
    counts = [
        select(func.count()).select_from(
            select(RequestMatchKey.id)
            .where(RequestMatchKey.team_id == team_id, RequestMatchKey.key == key)
            .limit(cap).subquery()
        ).scalar_subquery()
        for key in keys
    ]
    return dict(zip(keys, session.execute(select(*counts)).one(), strict=True))


def key_hits(session: Session, team_id: str, matcher: Matcher, query: bytes,
             keys: list[str]) -> Subquery | None:
    """One `request_id` row per request and query key the request carries.

    Of each key at most `KEY_ROWS` rows, the newest. A key the matcher finds too light to
    lift a request to the threshold without the query's other keys is left out when it is
    on more than `LIGHT_KEY_ROWS` requests (only those keys are counted). So a query whose
    keys are each on at most `LIGHT_KEY_ROWS` requests finds every request sharing one, as
    a full lookup does, and one whose keys are each on at most `KEY_ROWS` finds every
    request that can reach the threshold. Grouping every row of keys on a third of the
    table took 130-150 ms at 100,000 requests (bench/README.md, item 3).

    Newest first without sorting a key's rows: compared as a range (PostgreSQL drops an
    `ORDER BY` on a column compared with `=`), a key is read from the (team_id, key) index
    backwards, and equal keys come out newest first (SQLite: by row id; PostgreSQL: by
    place in the table, in practice the order the rows were written).
    """
    skippable = getattr(matcher, "skippable_keys", None)
    light = set(skippable(query, keys)) if skippable is not None else set()
    counts = key_counts(session, team_id, [k for k in keys if k in light], LIGHT_KEY_ROWS + 1)
    rare = [key for key in keys if key in light and counts[key] <= LIGHT_KEY_ROWS]
    rows = select(RequestMatchKey.request_id).where(RequestMatchKey.team_id == team_id)
    parts = [rows.where(RequestMatchKey.key.in_(rare))] if rare else []
    for key in (key for key in keys if key not in light):
        newest = (rows.where(RequestMatchKey.key.between(key, key))
                  .order_by(RequestMatchKey.key.desc(), RequestMatchKey.request_id.desc())
                  .limit(KEY_ROWS).subquery())
        parts.append(select(newest.c.request_id))
    if not parts:
        return None
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("hits")


def candidates(session: Session, team_id: str, matcher: Matcher, query: bytes,
               keys: list[str], exclude: list[int]) -> list[tuple[int, bytes]]:
    """Stored vectors worth scoring: open or decided requests, never merged ones."""
    hits = key_hits(session, team_id, matcher, query, keys) if keys else None
    if hits is not None:
        return _sharing_most(session, hits, exclude)
    if getattr(matcher, "match_keys", None) is not None:
        return []  # a lexical query without keys cannot reach the threshold
    found = (select(Request.id, Request.similarity_vector)
             .where(Request.team_id == team_id, Request.status != RequestStatus.MERGED,
                    Request.similarity_vector.is_not(None), Request.id.not_in(exclude))
             .order_by(Request.id.desc()).limit(SEMANTIC_CANDIDATES))
    return [(rid, bytes(vector)) for rid, vector in session.execute(found)]


def _sharing_most(session: Session, hits: Subquery, exclude: list[int]
                  ) -> list[tuple[int, bytes]]:
    """The vectors of the requests sharing the most keys, each read by its primary key
    for one row of the grouped hits. Joined to the request table instead, PostgreSQL
    planned a nested loop that grouped the hits again for each of the team's requests
    whenever its statistics were stale (a table grown since it was last analysed; with
    autovacuum off, for good): 57 ms a lookup at 1,100 requests, nine tenths of the
    database's time in a burst of filings. `OFFSET 0` keeps PostgreSQL from pulling the
    inner query up into the outer one, which would read each vector twice."""
    shared = (select(hits.c.request_id, func.count().label("shared"))
              .where(hits.c.request_id.not_in(exclude))
              .group_by(hits.c.request_id).subquery("shared"))
    vector = (select(Request.similarity_vector)
              .where(Request.id == shared.c.request_id, Request.status != RequestStatus.MERGED)
              .scalar_subquery())
    scored = (select(shared.c.request_id, shared.c.shared, vector.label("vector"))
              .offset(0).subquery())
    found = (select(scored.c.request_id, scored.c.vector)
             .where(scored.c.vector.is_not(None))
             .order_by(scored.c.shared.desc(), scored.c.request_id.desc())
             .limit(MAX_CANDIDATES))
    return [(rid, bytes(vector)) for rid, vector in session.execute(found)]


def find_similar(session: Session, team_id: str, title: str, problem: str | None,
                 matcher: Matcher, *, exclude: list[int] | None = None,
                 k: int = 3) -> list[Suggestion]:
    """Up to k requests that ask for the same thing, best first, with their demand and
    current decision (so a rep re-filing an old ask learns the answer at once)."""
    from bot.services.demand import totals_of
    from bot.services.facts import current_decisions
    from bot.services.priority import Currencies

    query = matcher.vector(title, problem)
    pool = candidates(session, team_id, matcher, query, keys_of(matcher, title, problem),
                      exclude or [])
    found = top_matches(query, pool, matcher, k=k, min_score=matcher.threshold)
    if not found:
        return []
    ids = [rid for rid, _ in found]
    requests = {r.id: r for r in session.scalars(select(Request).where(Request.id.in_(ids)))}
    totals = totals_of(session, team_id, ids, Currencies())
    decisions = current_decisions(session, ids)
    return [Suggestion(requests[rid], score, decisions.get(rid),
                       totals[rid].customer_count, totals[rid].revenue)
            for rid, score in found]
