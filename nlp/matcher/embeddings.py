"""Optional sentence embeddings from a local model directory (``settings.NLP_EMBEDDING_MODEL``).

Plain transformers with mean pooling (what sentence-transformers does for MiniLM-style
models), loaded lazily once per process and only from disk: ``local_files_only`` means a
missing or partial directory is an error, never a download. Without the setting the matcher
simply has no embedding feature.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

logger = logging.getLogger(__name__)


class Embedder:
    """Encodes texts to L2-normalised vectors; caches the vectors of texts seen before."""

    def __init__(self, path: str, *, max_length: int = 64) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = path
        self.max_length = max_length
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True)
        self.model.eval()
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            vectors = self._encode_batch(batch)
            with self._lock:
                if len(self._cache) > 200_000:
                    self._cache.clear()
                self._cache.update(zip(batch, vectors))
        if not texts:
            return np.zeros((0, self.dimension))
        return np.stack([self._cache[t] for t in texts])

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            output = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(output.dtype)
        pooled = (output * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)

    def best_cosines(self, query: str, candidate_texts: Sequence[Sequence[str]]) -> np.ndarray:
        """For each candidate, the best cosine between the query and any of its texts."""
        flat = [t for texts in candidate_texts for t in texts]
        vectors = self.encode([query, *flat])
        q, rest = vectors[0], vectors[1:]
        sims = rest @ q
        out, pos = [], 0
        for texts in candidate_texts:
            out.append(float(sims[pos : pos + len(texts)].max()) if texts else 0.0)
            pos += len(texts)
        return np.asarray(out)


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(path: str) -> Embedder:
    logger.info("loading sentence-embedding model from %s", path)
    return Embedder(path)


def get_embedder(path: str | None = None) -> Embedder | None:
    """The embedder for ``path`` (default: ``settings.NLP_EMBEDDING_MODEL``), or None when unset."""
    if path is None:
        from django.conf import settings

        path = getattr(settings, "NLP_EMBEDDING_MODEL", "") or ""
    if not path:
        return None
    with _lock:
        return _load(path)
