"""Finding requests that ask for the same thing, so demand adds up on one request.

Two matchers share one interface. `lexical` (the default, no extra install) uses a curated
product vocabulary plus word overlap; `semantic` (the `semantic` extra) uses sentence
embeddings. Each turns a request's title and problem into a small `bytes` vector that is
stored with the request, so a lookup scores stored vectors and never re-reads the table's
text. Vectors carry their matcher and version in their first bytes; a vector from another
matcher or an older version is skipped by `top_matches` and should be recomputed.

The caller decides which stored vectors to pass. For the lexical matcher, narrowing to
requests that share one of the query's `match_keys` (an indexed `request_match_key` table)
loses nothing that would score above the threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal, Protocol, runtime_checkable

from bot.similarity.lexical import LexicalMatcher, match_keys, score, text_vector
from bot.similarity.semantic import (
    SemanticEmbedder,
    SemanticMatcher,
    SemanticUnavailable,
)
from bot.similarity.semantic import is_available as semantic_available

__all__ = [
    "LexicalMatcher",
    "Matcher",
    "MatcherKind",
    "SemanticEmbedder",
    "SemanticMatcher",
    "SemanticUnavailable",
    "get_matcher",
    "match_keys",
    "score",
    "semantic_available",
    "text_vector",
    "top_matches",
]

log = logging.getLogger(__name__)

MatcherKind = Literal["lexical", "semantic", "auto"]


@runtime_checkable
class Matcher(Protocol):
    name: str
    threshold: float
    version: int

    def vector(self, title: str, problem: str | None) -> bytes: ...

    def similarity(self, vec_a: bytes, vec_b: bytes) -> float: ...

    def rank(
        self, query_vec: bytes, candidates: Iterable[tuple[int, bytes]], k: int, min_score: float
    ) -> list[tuple[int, float]]: ...


def get_matcher(kind: MatcherKind = "auto") -> Matcher:
    """`semantic` fails loudly without the extra; `auto` falls back to `lexical`."""
    if kind == "lexical":
        return LexicalMatcher()
    if kind == "semantic":
        return SemanticMatcher()
    if kind == "auto":
        if semantic_available():
            return SemanticMatcher()
        log.info("semantic extra not installed; using the lexical matcher")
        return LexicalMatcher()
    raise ValueError(f"unknown matcher kind: {kind!r}")


def top_matches(
    query_vec: bytes,
    candidates: Iterable[tuple[int, bytes]],
    matcher: Matcher,
    k: int = 3,
    min_score: float = 0.0,
) -> list[tuple[int, float]]:
    """Up to k (request id, score) pairs, highest score first, ties by lower id.

    Candidates are (request id, stored vector); the query itself should not be among them.
    Pass `min_score=matcher.threshold` to get only the suggestions worth showing.
    """
    if k <= 0:
        return []
    return matcher.rank(query_vec, candidates, k, min_score)
