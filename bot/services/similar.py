"""Similar requests: each request's vector and match keys are stored when it is filed, and a
lookup narrows by shared keys through an index before scoring stored vectors, so it never
re-embeds or re-reads the table's text (docs/similarity.md has the matchers and numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.similarity import Matcher, get_matcher, top_matches
from models import Decision, Request, RequestMatchKey, RequestStatus

MAX_CANDIDATES = 2000
"""Requests sharing the most keys with the query are scored; the lexical matcher scores
nothing above its threshold without a shared key, so on a big table this loses little."""
SEMANTIC_CANDIDATES = 20_000


@cache
def matcher_for(kind: str) -> Matcher:
    """One matcher per process (the semantic one loads a model once)."""
    return get_matcher(kind)  # type: ignore[arg-type]


def keys_of(matcher: Matcher, title: str, problem: str | None) -> list[str]:
    match_keys = getattr(matcher, "match_keys", None)
    return list(dict.fromkeys(match_keys(title, problem))) if match_keys else []


def index_request(session: Session, request: Request, matcher: Matcher) -> None:
    """Stores the request's vector and match keys (again, after its text changed)."""
    request.similarity_vector = matcher.vector(request.title, request.problem)
    session.execute(delete(RequestMatchKey).where(RequestMatchKey.request_id == request.id))
    for key in keys_of(matcher, request.title, request.problem):
        session.add(RequestMatchKey(team_id=request.team_id, request_id=request.id, key=key[:64]))
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


def candidates(session: Session, team_id: str, matcher: Matcher, keys: list[str],
               exclude: list[int]) -> list[tuple[int, bytes]]:
    """Stored vectors worth scoring: open or decided requests, never merged ones."""
    query = select(Request.id, Request.similarity_vector).where(
        Request.team_id == team_id, Request.status != RequestStatus.MERGED,
        Request.similarity_vector.is_not(None))
    if exclude:
        query = query.where(Request.id.not_in(exclude))
    if keys:
        shared = (select(RequestMatchKey.request_id, func.count().label("shared"))
                  .where(RequestMatchKey.team_id == team_id, RequestMatchKey.key.in_(keys))
                  .group_by(RequestMatchKey.request_id).subquery())
        query = (query.join(shared, shared.c.request_id == Request.id)
                 .order_by(shared.c.shared.desc(), Request.id.desc()).limit(MAX_CANDIDATES))
    elif getattr(matcher, "match_keys", None) is not None:
        return []  # a lexical query without keys cannot reach the threshold
    else:
        query = query.order_by(Request.id.desc()).limit(SEMANTIC_CANDIDATES)
    return [(rid, bytes(vector)) for rid, vector in session.execute(query)]


def find_similar(session: Session, team_id: str, title: str, problem: str | None,
                 matcher: Matcher, *, exclude: list[int] | None = None,
                 k: int = 3) -> list[Suggestion]:
    """Up to k requests that ask for the same thing, best first, with their demand and
    current decision (so a rep re-filing an old ask learns the answer at once)."""
    from bot.services.demand import totals_of
    from bot.services.facts import current_decision
    from bot.services.priority import Currencies

    query = matcher.vector(title, problem)
    pool = candidates(session, team_id, matcher, keys_of(matcher, title, problem),
                      exclude or [])
    found = top_matches(query, pool, matcher, k=k, min_score=matcher.threshold)
    if not found:
        return []
    ids = [rid for rid, _ in found]
    requests = {r.id: r for r in session.scalars(select(Request).where(Request.id.in_(ids)))}
    totals = totals_of(session, team_id, ids, Currencies())
    return [Suggestion(requests[rid], score, current_decision(session, rid),
                       totals[rid].customer_count, totals[rid].revenue)
            for rid, score in found]
