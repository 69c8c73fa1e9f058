"""Precision and recall of duplicate suggestions on the labelled set, and lookup speed.

    python -m bench.similarity_eval              # every method available, both splits
    python -m bench.similarity_eval --tune-only  # what tuning may look at: tune split only
    python -m bench.similarity_eval --pool 100000  # size of the synthetic speed pool
    python -m bench.similarity_eval --pool 0       # labelled set only

Each request is a query against a pool of all the others; its suggestions are the top 3
candidates scoring at or above the matcher's threshold. Precision: suggestions that ask
for the same need / all suggestions. Recall: same-need requests suggested / same-need
requests in the pool (no need has more than 4 requests, so 3 slots can hold them all).
Pair columns score the labelled pairs directly: duplicates at or above the threshold, and
hard negatives (shared words, different need) below it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from bot.similarity import (
    LexicalMatcher,
    Matcher,
    SemanticMatcher,
    semantic_available,
    top_matches,
)
from bot.similarity.concepts import CONCEPTS
from tests.data.similar_requests import (
    LabelledRequest,
    duplicate_pairs,
    hard_negative_pairs,
    requests_in,
)

K = 3


@dataclass(frozen=True)
class Evaluation:
    method: str
    split: str
    queries: int
    suggestions: int
    correct: int
    duplicates: int
    precision: float
    recall: float
    pair_recall: float
    hard_negatives_rejected: float
    ms_per_lookup: float


def vectorise(matcher: Matcher, requests: Sequence[LabelledRequest]) -> dict[int, bytes]:
    many = getattr(matcher, "vectors", None)
    if many is not None:
        vectors = many([(r.title, r.problem) for r in requests])
    else:
        vectors = [matcher.vector(r.title, r.problem) for r in requests]
    return {r.id: v for r, v in zip(requests, vectors, strict=True)}


def evaluate(
    matcher: Matcher,
    queries: Sequence[LabelledRequest],
    pool: Sequence[LabelledRequest],
    pairs_split: str | None,
    threshold: float | None = None,
    vectors: dict[int, bytes] | None = None,
    label: str = "",
) -> Evaluation:
    threshold = matcher.threshold if threshold is None else threshold
    vectors = vectors or vectorise(matcher, list({r.id: r for r in [*queries, *pool]}.values()))
    need_of = {r.id: r.need for r in pool}
    suggestions = correct = duplicates = 0
    started = time.perf_counter()
    for query in queries:
        others = [(r.id, vectors[r.id]) for r in pool if r.id != query.id]
        found = top_matches(vectors[query.id], others, matcher, K, min_score=threshold)
        suggestions += len(found)
        correct += sum(need_of[i] == query.need for i, _ in found)
        duplicates += sum(r.need == query.need and r.id != query.id for r in pool)
    elapsed = time.perf_counter() - started

    split = pairs_split if pairs_split in ("tune", "test") else None
    positives = duplicate_pairs(split)  # type: ignore[arg-type]
    negatives = hard_negative_pairs(split)  # type: ignore[arg-type]

    def above(a: LabelledRequest, b: LabelledRequest) -> bool:
        return matcher.similarity(vectors[a.id], vectors[b.id]) >= threshold

    return Evaluation(
        method=matcher.name,
        split=label or (pairs_split or "all"),
        queries=len(queries),
        suggestions=suggestions,
        correct=correct,
        duplicates=duplicates,
        precision=correct / suggestions if suggestions else 0.0,
        recall=correct / duplicates if duplicates else 0.0,
        pair_recall=sum(above(a, b) for a, b in positives) / len(positives),
        hard_negatives_rejected=sum(not above(a, b) for a, b in negatives) / len(negatives),
        ms_per_lookup=1000 * elapsed / len(queries),
    )


def labelled_set_table(matchers: Sequence[Matcher], tune_only: bool) -> list[Evaluation]:
    rows = []
    everything = requests_in()
    for matcher in matchers:
        if tune_only:
            tune = requests_in("tune")
            rows.append(evaluate(matcher, tune, tune, "tune", label="tune (pool: tune)"))
            continue
        vectors = vectorise(matcher, everything)
        for split in ("tune", "test", None):
            queries = requests_in(split)  # type: ignore[arg-type]
            rows.append(evaluate(matcher, queries, everything, split, vectors=vectors))
    return rows


def print_table(rows: Sequence[Evaluation]) -> None:
    header = (
        f"{'method':<9} {'split':<18} {'queries':>7} {'sugg.':>5} {'precision':>9} "
        f"{'recall':>7} {'pair rec.':>9} {'hard-neg ok':>11} {'ms/lookup':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.method:<9} {r.split:<18} {r.queries:>7} {r.suggestions:>5} "
            f"{r.precision:>9.2f} {r.recall:>7.2f} {r.pair_recall:>9.2f} "
            f"{r.hard_negatives_rejected:>11.2f} {r.ms_per_lookup:>9.2f}"
        )


def synthetic_requests(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Requests made of product phrases and a Zipf-distributed vocabulary of filler words,
    so common words recur across many requests as they do in a real table."""
    rng = random.Random(seed)
    phrases = [p for texts in CONCEPTS.values() for p in texts]
    vocabulary = [f"w{i}x" for i in range(20_000)]
    cumulative = list(accumulate(1.0 / (i + 1) for i in range(len(vocabulary))))

    def words(n: int) -> str:
        picked = rng.choices(vocabulary, cum_weights=cumulative, k=n)
        picked += rng.sample(phrases, k=max(1, n // 3))
        rng.shuffle(picked)
        return " ".join(picked)

    return [(words(rng.randint(3, 6)), words(rng.randint(8, 16))) for _ in range(count)]


def time_calls(call: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def speed(matcher: Matcher, pool_size: int, embed_count: int) -> None:
    """Time to compute vectors and to rank `pool_size` stored ones. At most `embed_count`
    distinct vectors are computed; a larger pool repeats them (ranking time does not depend
    on the content of a dense vector)."""
    texts = synthetic_requests(min(pool_size, embed_count))
    started = time.perf_counter()
    many = getattr(matcher, "vectors", None)
    if many is not None:
        stored = many(texts)
    else:
        stored = [matcher.vector(t, p) for t, p in texts]
    per_vector = 1000 * (time.perf_counter() - started) / len(texts)
    stored = (stored * (pool_size // len(stored) + 1))[:pool_size]
    candidates = list(enumerate(stored, start=1))
    queries = [
        ("Export report data to CSV", "Finance wants the pipeline report in Excel."),
        ("SSO with Okta", "IT requires every login to go through Okta."),
        ("Dark mode", None),
    ]
    size = sum(len(v) for v in stored) / len(stored)
    print(f"\n{matcher.name}: {len(texts):,} synthetic requests, {per_vector:.3f} ms to compute "
          f"each vector (batched where the matcher can), {size:.0f} bytes each")
    for title, problem in queries:
        query = matcher.vector(title, problem)
        for size_ in (pool_size, min(pool_size, 5_000)):
            pool = candidates[:size_]
            ms = time_calls(
                lambda q=query, c=pool: top_matches(q, c, matcher, K, matcher.threshold), 5
            )
            print(f"  top_matches({title!r}) over {size_:,} candidates: {ms:.1f} ms")
    one = time_calls(lambda: matcher.vector("Export users to CSV", "Auditor wants a list."), 20)
    print(f"  vector() for one request: {one:.2f} ms (median of 20)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune-only", action="store_true")
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--lexical-only", action="store_true")
    parser.add_argument("--embed", type=int, default=2_000,
                        help="distinct semantic vectors to compute for the speed pool")
    args = parser.parse_args()

    matchers: list[Matcher] = [LexicalMatcher()]
    if not args.lexical_only and semantic_available():
        started = time.perf_counter()
        semantic = SemanticMatcher()
        semantic.vector("warm up", None)
        print(f"semantic model loaded in {time.perf_counter() - started:.1f} s")
        matchers.append(semantic)
    elif not args.lexical_only:
        print('semantic extra not installed (pip install -e ".[semantic]"): lexical only')

    print_table(labelled_set_table(matchers, args.tune_only))
    if args.pool:
        for matcher in matchers:
            embed = args.embed if matcher.name == "semantic" else args.pool
            speed(matcher, args.pool, embed)


if __name__ == "__main__":
    main()
