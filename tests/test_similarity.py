"""Similar-request detection: what a PM sees as 'already requested' suggestions."""

from __future__ import annotations

import struct

import pytest

from bench.similarity_eval import evaluate, vectorise
from bot.similarity import (
    LexicalMatcher,
    Matcher,
    SemanticUnavailable,
    get_matcher,
    match_keys,
    score,
    semantic_available,
    text_vector,
    top_matches,
)
from bot.similarity.lexical import stem, terms
from tests.data.similar_requests import (
    BY_TITLE,
    REQUESTS,
    duplicate_pairs,
    hard_negative_pairs,
    requests_in,
)

lexical = LexicalMatcher()


def vec(title: str, problem: str | None = None) -> bytes:
    return text_vector(title, problem)


def test_paraphrase_with_no_shared_words_is_found() -> None:
    assert score(vec("Dark mode"), vec("Night theme for the web app")) >= lexical.threshold
    assert score(vec("SAML single sign-on"), vec("SSO with Okta")) >= lexical.threshold
    assert (
        score(vec("Export report data to CSV"), vec("Download data as a spreadsheet"))
        >= lexical.threshold
    )


def test_export_is_not_import() -> None:
    assert score(vec("Export users to CSV"), vec("Import users from CSV")) < lexical.threshold


def test_misspelt_product_word_still_matches() -> None:
    assert "~calendar" in terms("Sync with google calender")
    assert score(vec("Calender sync"), vec("Calendar sync")) == pytest.approx(1.0, abs=0.01)


def test_light_stemmer_joins_word_forms() -> None:
    assert stem("sharing") == stem("shared") == stem("share") == stem("shares")
    assert stem("invoices") == stem("invoice")
    assert stem("access") == "access"


def test_score_is_symmetric_and_bounded() -> None:
    a = vec("Bulk edit records", "Changing the owner on 300 accounts took a day.")
    b = vec("Update many items at once", "Select rows and change the status together.")
    assert score(a, b) == pytest.approx(score(b, a))
    assert 0.0 <= score(a, b) <= 1.0
    assert score(a, a) == pytest.approx(1.0, abs=0.01)


def test_vector_round_trips_through_bytes() -> None:
    stored = vec("SSO with Okta", "IT requires every login to go through Okta.")
    assert isinstance(stored, bytes)
    copied = bytes(bytearray(stored))
    assert score(copied, stored) == pytest.approx(1.0, abs=0.01)
    assert len(stored) < 400
    tag, version, features, keys = struct.unpack_from("<cBBB", stored)
    assert tag == b"L" and features >= keys >= 2


def test_vector_of_another_matcher_is_rejected() -> None:
    stale = b"S\x01\x80\x01" + bytes(1536)
    with pytest.raises(ValueError):
        score(stale, vec("Dark mode"))
    found = top_matches(vec("Dark mode"), [(1, stale), (2, vec("Night theme"))], lexical)
    assert [request_id for request_id, _ in found] == [2]


def test_match_keys_name_the_concepts_of_a_request() -> None:
    keys = match_keys("Download data as a spreadsheet", None)
    assert "~export" in keys and "~spreadsheet" in keys
    assert set(match_keys("Export to Excel", None)) & set(keys)


def test_skippable_keys_are_the_light_ones() -> None:
    query = vec("SAML single sign-on", "Their finance team asked again before renewal.")
    keys = match_keys("SAML single sign-on", "Their finance team asked again before renewal.")
    skipped = lexical.skippable_keys(query, keys)
    assert "~sso" in keys and "~sso" not in skipped
    assert "financ" in skipped
    assert lexical.skippable_keys(query, ["~sso"]) == []


def test_skipping_keys_hides_no_pair_above_the_threshold() -> None:
    """A lookup that leaves out a query's skippable keys still reaches every labelled
    request scoring at the threshold, through one of the request's own match keys."""
    vectors = {r.id: vec(r.title, r.problem) for r in REQUESTS}
    keys = {r.id: set(match_keys(r.title, r.problem)) for r in REQUESTS}
    for a in REQUESTS:
        kept = keys[a.id] - set(lexical.skippable_keys(vectors[a.id], keys[a.id]))
        for b in REQUESTS:
            if b.id != a.id and score(vectors[a.id], vectors[b.id]) >= lexical.threshold:
                assert kept & keys[b.id], (a.title, b.title)


def test_top_matches_orders_best_first_and_stops_at_k() -> None:
    query = vec("Dark mode", "Users on night shifts find the white UI blinding.")
    pool = [
        (10, vec("Export users to CSV")),
        (11, vec("Night theme", "Support works evenings and wants a darker colour scheme.")),
        (12, vec("Darker UI option")),
        (13, vec("Custom chart colours to match our brand")),
        (14, vec("Dark mode")),
    ]
    found = top_matches(query, pool, lexical, k=2)
    assert len(found) == 2
    assert found[0][0] == 14
    assert found[0][1] >= found[1][1]
    everything = top_matches(query, pool, lexical, k=10)
    assert [s for _, s in everything] == sorted((s for _, s in everything), reverse=True)
    assert everything[-1][0] == 10
    shown = top_matches(query, pool, lexical, k=10, min_score=lexical.threshold)
    assert {i for i, _ in shown} == {11, 12, 14}
    assert top_matches(query, [], lexical) == []
    assert top_matches(query, pool, lexical, k=0) == []


def test_top_matches_ties_go_to_the_older_request() -> None:
    same = vec("Dark mode")
    found = top_matches(same, [(7, same), (3, same), (5, same)], lexical, k=2)
    assert [i for i, _ in found] == [3, 5]


def test_top_matches_accepts_a_generator() -> None:
    pool = ((i, vec(t)) for i, t in enumerate(["Dark mode", "Night theme", "Public REST API"]))
    assert [i for i, _ in top_matches(vec("dark theme"), pool, lexical)] == [0, 1]


def test_lexical_matcher_meets_the_protocol() -> None:
    matcher = get_matcher("lexical")
    assert isinstance(matcher, Matcher)
    assert matcher.name == "lexical" and 0 < matcher.threshold < 1


def test_auto_falls_back_to_lexical_without_the_semantic_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.similarity.semantic_available", lambda: False)
    monkeypatch.setattr("bot.similarity.semantic.is_available", lambda: False)
    assert get_matcher("auto").name == "lexical"
    with pytest.raises(SemanticUnavailable):
        get_matcher("semantic")
    with pytest.raises(ValueError):
        get_matcher("fuzzy")  # type: ignore[arg-type]


def test_labelled_set_is_well_formed() -> None:
    assert len(duplicate_pairs()) + len(hard_negative_pairs()) >= 60
    assert len(BY_TITLE) == len(REQUESTS)
    assert all(a.need != b.need for a, b in hard_negative_pairs())
    assert len(requests_in("test")) * 3 >= len(REQUESTS)
    needs = {}
    for request in REQUESTS:
        needs.setdefault(request.need, set()).add(request.split)
    assert all(len(splits) == 1 for splits in needs.values())
    assert max(sum(r.need == n for r in REQUESTS) for n in needs) <= 4


# Floors a little under the numbers measured for docs/similarity.md (lexical, queries
# against all 103 requests: tune 0.84 / 0.81, held-out test 0.80 / 0.74, all 0.83 / 0.79),
# so a broken matcher or vocabulary fails here while one changed pair does not.
@pytest.mark.parametrize(
    ("split", "min_precision", "min_recall"),
    [("tune", 0.78, 0.75), ("test", 0.7, 0.65), (None, 0.75, 0.72)],
)
def test_lexical_precision_and_recall_stay_above_floors(
    split: str | None, min_precision: float, min_recall: float
) -> None:
    everything = requests_in()
    result = evaluate(lexical, requests_in(split), everything, split)  # type: ignore[arg-type]
    assert result.precision >= min_precision
    assert result.recall >= min_recall
    assert result.hard_negatives_rejected >= 0.8


@pytest.mark.skipif(not semantic_available(), reason="semantic extra not installed")
def test_semantic_vectors_are_unit_length_and_find_a_paraphrase() -> None:
    import numpy as np

    matcher = get_matcher("semantic")
    vectors = vectorise(matcher, [BY_TITLE["Dark mode"], BY_TITLE["Night theme for the web app"],
                                  BY_TITLE["Public REST API"]])
    first = vectors[BY_TITLE["Dark mode"].id]
    assert len(first) == 4 + 384 * 4
    assert np.linalg.norm(np.frombuffer(first, dtype="<f4", offset=4)) == pytest.approx(1, abs=1e-4)
    found = top_matches(first, [(i, v) for i, v in vectors.items() if v != first], matcher, k=1)
    assert found[0][0] == BY_TITLE["Night theme for the web app"].id


def test_per_word_caches_stay_bounded_however_many_words_reps_write() -> None:
    from bot.similarity import lexical

    for i in range(lexical.WORD_CACHE + 500):
        lexical.stem(f"zq{i}xings")
        lexical._correct(f"zq{i}x")
    assert lexical.stem.cache_info().currsize <= lexical.WORD_CACHE
    assert lexical._correct.cache_info().currsize <= lexical.WORD_CACHE
