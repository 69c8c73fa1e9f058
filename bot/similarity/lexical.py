"""The lexical matcher: product synonyms, light stemming and weighted term overlap.

A request becomes a weighted bag of features: stemmed words, and `~concept`s for the
phrases in `concepts.CONCEPTS` ("download as a spreadsheet" -> `~export ~spreadsheet`).
Words a rep misspells are snapped to the nearest concept phrase with rapidfuzz. The title
counts more than the problem. The score is the cosine of the two bags, lowered when the
two requests ask for opposite things (`concepts.CONFLICTS`), blended with rapidfuzz's
token-set ratio of the two normalised titles.

The stored vector is a few hundred bytes: a 4-byte header, the features' CRC-32 codes,
their weights as float16, then the normalised title. Scoring never looks at the original
text, so a lookup reads only stored vectors.
"""

from __future__ import annotations

import heapq
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from bot.similarity.concepts import CONCEPTS, CONFLICTS, STOPWORDS, WEAK

LEXICAL_VERSION = 1
TAG = b"L"
MAX_FEATURES = 48
MAX_KEYS = 16

TITLE_WEIGHT = 1.0
PROBLEM_WEIGHT = 0.45
CONCEPT_WEIGHT = 2.0
WEAK_WEIGHT = 0.33
CONFLICT_PENALTY = 0.4
FUZZ_SHARE = 0.3
THRESHOLD = 0.6
TYPO_CUTOFF = 85.0

_HEADER = struct.Struct("<cBBB")
_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile(r"(?<=[a-z])['’](?=[a-z])")
_SUFFIXES = (
    ("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ness", ""), ("ments", ""), ("ment", ""),
    ("ations", ""), ("ation", ""), ("ings", ""), ("ing", ""), ("ised", ""), ("ized", ""),
    ("ise", ""), ("ize", ""), ("ed", ""), ("ly", ""), ("es", ""), ("s", ""),
)


def words(text: str) -> list[str]:
    text = _APOSTROPHE.sub("", text.lower())
    return _WORD.findall(text)


WORD_CACHE = 1 << 16
"""Words remembered by the per-word caches: what reps write is unbounded (names, typos,
pasted text), so the caches are too unless capped."""


@lru_cache(maxsize=WORD_CACHE)
def stem(word: str) -> str:
    """A deliberately light stemmer: plurals, -ing, -ed, -ation, -ise; enough to make
    "sharing", "shared" and "share" meet, without Porter's surprises on product names."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ss", "us", "is")) and not word.endswith("sses"):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


@dataclass(frozen=True)
class _Vocabulary:
    phrases: dict[tuple[str, ...], str]
    longest: int
    single_words: tuple[str, ...]
    single_concept: dict[str, str]


@cache
def _vocabulary() -> _Vocabulary:
    phrases: dict[tuple[str, ...], str] = {}
    for concept, texts in CONCEPTS.items():
        for text in texts:
            key = tuple(stem(w) for w in words(text))
            phrases.setdefault(key, "~" + concept)
    singles = {key[0]: concept for key, concept in phrases.items() if len(key) == 1}
    return _Vocabulary(
        phrases=phrases,
        longest=max(len(key) for key in phrases),
        single_words=tuple(w for w in singles if len(w) >= 5),
        single_concept=singles,
    )


@cache
def _rapidfuzz() -> tuple[Any, Any]:
    """rapidfuzz's `fuzz` and `process`, imported on first use: the serving process imports
    this module with the listeners but never ranks, and need not hold rapidfuzz's 2.5 MB."""
    from rapidfuzz import fuzz, process

    return fuzz, process


@lru_cache(maxsize=WORD_CACHE)
def _correct(word: str) -> str | None:
    """The concept a misspelt word was meant to be ("calender" -> `~calendar`), if any."""
    vocabulary = _vocabulary()
    if len(word) < 5 or not word.isalpha():
        return None
    fuzz, process = _rapidfuzz()
    match = process.extractOne(
        word, vocabulary.single_words, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF
    )
    return vocabulary.single_concept[match[0]] if match else None


def terms(text: str | None) -> list[str]:
    """Concepts and content words of one text, in order, each at most once."""
    if not text:
        return []
    vocabulary = _vocabulary()
    raw = words(text)
    stems = [stem(w) for w in raw]
    found: list[str] = []
    i = 0
    while i < len(stems):
        for length in range(min(vocabulary.longest, len(stems) - i), 0, -1):
            concept = vocabulary.phrases.get(tuple(stems[i : i + length]))
            if concept:
                found.append(concept)
                i += length
                break
        else:
            if raw[i] not in STOPWORDS and stems[i] not in STOPWORDS and len(stems[i]) > 1:
                found.append(_correct(stems[i]) or stems[i])
            i += 1
    return list(dict.fromkeys(found))


def _term_weight(term: str) -> float:
    if term in WEAK:
        return WEAK_WEIGHT
    return CONCEPT_WEIGHT if term.startswith("~") else 1.0


def features(title: str, problem: str | None) -> dict[str, float]:
    """Feature -> weight, before normalisation."""
    weights: dict[str, float] = {}
    for text, part in ((title, TITLE_WEIGHT), (problem, PROBLEM_WEIGHT)):
        for term in terms(text):
            weights[term] = weights.get(term, 0.0) + part * _term_weight(term)
    return weights


def code(term: str) -> int:
    return zlib.crc32(term.encode())



def _ordered(title: str, problem: str | None) -> list[tuple[str, float]]:
    """Features by weight, the distinctive ones (not `WEAK`) first."""
    weights = features(title, problem)
    return sorted(weights.items(), key=lambda kv: (kv[0] in WEAK, -kv[1], kv[0]))


def text_vector(title: str, problem: str | None) -> bytes:
    """The stored form of a request for the lexical matcher.

    Layout: header (tag, version, feature count, key count), feature codes (uint32, the
    match keys first), weights (float16, unit length), normalised title (utf-8).
    """
    top = _ordered(title, problem)[:MAX_FEATURES]
    keys = sum(1 for term, _ in top[:MAX_KEYS] if term not in WEAK)
    norm = sum(w * w for _, w in top) ** 0.5 or 1.0
    title_text = " ".join(terms(title)).encode()[:255]
    return b"".join((
        _HEADER.pack(TAG, LEXICAL_VERSION, len(top), keys),
        struct.pack(f"<{len(top)}I", *(code(t) for t, _ in top)),
        struct.pack(f"<{len(top)}e", *(w / norm for _, w in top)),
        title_text,
    ))


def match_keys(title: str, problem: str | None) -> list[str]:
    """The distinctive features of a request, for an indexed lookup table.

    `top_matches` only scores candidates that share one of these with the query, and a
    caller may do the same narrowing in the database. Requests that share only weak words
    ("user", "page") or words of little weight in long problems are not scored: on the
    labelled set no such pair reaches the threshold.
    """
    return [term for term, _ in _ordered(title, problem)[:MAX_KEYS] if term not in WEAK]


@dataclass(frozen=True)
class _Decoded:
    weights: dict[int, float]
    keys: tuple[int, ...]
    title: str


def is_lexical(vector: bytes) -> bool:
    return len(vector) >= 4 and vector[:1] == TAG and vector[1] == LEXICAL_VERSION


@cache
def _layout(n: int) -> tuple[struct.Struct, struct.Struct]:
    return struct.Struct(f"<{n}I"), struct.Struct(f"<{n}e")


def _decode(vector: bytes) -> _Decoded:
    if not is_lexical(vector):
        raise ValueError("not a current lexical vector; recompute it with text_vector()")
    n = vector[2]
    codes_of, weights_of = _layout(n)
    codes = codes_of.unpack_from(vector, 4)
    weights = weights_of.unpack_from(vector, 4 + 4 * n)
    return _Decoded(
        dict(zip(codes, weights, strict=True)), codes[: vector[3]], vector[4 + 6 * n :].decode()
    )


_CONFLICT_CODES = tuple((code("~" + a), code("~" + b)) for a, b in CONFLICTS)
_ANY_CONFLICT = frozenset(c for pair in _CONFLICT_CODES for c in pair)


def _conflicting(a: frozenset[int], b: frozenset[int]) -> bool:
    for x, y in _CONFLICT_CODES:
        if (x in a and y not in a and y in b and x not in b) or (
            y in a and x not in a and x in b and y not in b
        ):
            return True
    return False


def _blend(cosine: float, title_a: str, title_b: str) -> float:
    if not FUZZ_SHARE or not title_a or not title_b:
        return min(1.0, cosine)
    title = _rapidfuzz()[0].token_set_ratio(title_a, title_b) / 100.0
    return min(1.0, (1.0 - FUZZ_SHARE) * cosine + FUZZ_SHARE * title * min(1.0, 2 * cosine))


def _ceiling(cosine: float) -> float:
    """The highest `_blend` can give for this cosine, whatever the titles."""
    return min(1.0, (1.0 - FUZZ_SHARE) * cosine + FUZZ_SHARE * min(1.0, 2 * cosine))


@cache
def _min_cosine(min_score: float) -> float:
    """The lowest cosine whose `_ceiling` reaches `min_score` (`_ceiling` only rises)."""
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if _ceiling(middle) >= min_score:
            high = middle
        else:
            low = middle
    return low


def skippable_keys(query_vec: bytes, keys: Iterable[str], min_score: float) -> list[str]:
    """The lightest of `keys` (some of the query's match keys) that a lookup may leave out
    together, losing no candidate that could score `min_score` through them alone.

    A candidate's cosine is at most the norm of the query's weights on the features the
    two share (stored vectors have unit length). One that shares none of the query's
    other keys shares at most these keys and the query's features that are not keys; while
    their weights stay under the cosine `min_score` needs, it cannot reach `min_score`.
    """
    query = _decode(query_vec)
    unkeyed = set(query.weights).difference(query.keys)
    bound = (0.99 * _min_cosine(min_score)) ** 2  # float16 weights: a little margin
    shared = sum(query.weights[c] ** 2 for c in unkeyed)
    skipped = []
    for weight, key in sorted((query.weights.get(code(k), 0.0), k) for k in keys):
        if shared + weight * weight >= bound:
            break
        shared += weight * weight
        skipped.append(key)
    return skipped


def _score(a: _Decoded, b: _Decoded) -> float:
    wa, wb = a.weights, b.weights
    if len(wb) < len(wa):
        wa, wb = wb, wa
    cosine = sum(w * wb[c] for c, w in wa.items() if c in wb)
    if _conflicting(_ANY_CONFLICT.intersection(a.weights), _ANY_CONFLICT.intersection(b.weights)):
        cosine *= CONFLICT_PENALTY
    return _blend(cosine, a.title, b.title)


def score(vec_a: bytes, vec_b: bytes) -> float:
    """Similarity in [0, 1] of two stored lexical vectors."""
    return _score(_decode(vec_a), _decode(vec_b))


_KEY_WINDOW = _HEADER.size + 4 * MAX_KEYS


def _shared_key_pattern(query: _Decoded) -> re.Pattern[bytes]:
    packed = sorted(struct.pack("<I", c) for c in query.keys)
    return re.compile(b"|".join(re.escape(p) for p in packed))


def rank(
    query_vec: bytes, candidates: Iterable[tuple[int, bytes]], k: int, min_score: float
) -> list[tuple[int, float]]:
    """The k best candidates scoring at least `min_score` (and above zero), best first.

    Only candidates sharing a match key with the query are scored. Keys are the first
    codes of a vector, so one regex search over the first bytes of each vector, run by
    `map` without a Python frame per candidate, finds them; a hit that is not on a key
    boundary only costs a full score. Vectors of another matcher or version are skipped.
    """
    query = _decode(query_vec)
    pairs = candidates if isinstance(candidates, list | tuple) else list(candidates)
    if not query.keys or not pairs:
        return []
    search = _shared_key_pattern(query).search
    vectors = map(itemgetter(1), pairs)
    hits = map(search, vectors, repeat(_HEADER.size), repeat(_KEY_WINDOW))
    query_weights = query.weights
    query_conflicts = _ANY_CONFLICT.intersection(query_weights)
    best: list[tuple[float, int]] = []
    for request_id, vector in compress(pairs, hits):
        if not is_lexical(vector):
            continue
        n = vector[2]
        codes_of, weights_of = _layout(n)
        codes = codes_of.unpack_from(vector, 4)
        shared = query_weights.keys() & codes
        weights = weights_of.unpack_from(vector, 4 + 4 * n)
        cosine = sum(query_weights[c] * weights[codes.index(c)] for c in shared)
        if query_conflicts or not _ANY_CONFLICT.isdisjoint(codes):
            if _conflicting(query_conflicts, _ANY_CONFLICT.intersection(codes)):
                cosine *= CONFLICT_PENALTY
        floor = best[0][0] if len(best) == k else 0.0
        if cosine <= 0.0 or _ceiling(cosine) < max(min_score, floor):
            continue
        value = _blend(cosine, query.title, vector[4 + 6 * n :].decode())
        if value < min_score:
            continue
        item = (value, -request_id)
        if len(best) < k:
            heapq.heappush(best, item)
        elif item > best[0]:
            heapq.heapreplace(best, item)
    return [(-neg_id, value) for value, neg_id in sorted(best, reverse=True)]


class LexicalMatcher:
    name = "lexical"
    threshold = THRESHOLD
    version = LEXICAL_VERSION

    def vector(self, title: str, problem: str | None) -> bytes:
        return text_vector(title, problem)

    def similarity(self, vec_a: bytes, vec_b: bytes) -> float:
        return score(vec_a, vec_b)

    def rank(
        self, query_vec: bytes, candidates: Iterable[tuple[int, bytes]], k: int, min_score: float
    ) -> list[tuple[int, float]]:
        return rank(query_vec, candidates, k, min_score)

    def match_keys(self, title: str, problem: str | None) -> list[str]:
        return match_keys(title, problem)

    def skippable_keys(self, query_vec: bytes, keys: Iterable[str]) -> list[str]:
        return skippable_keys(query_vec, keys, self.threshold)
