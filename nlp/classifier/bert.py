"""The ``transformers`` backend: ``BertForSequenceClassification`` (transformers + torch).

Two ways to get a BERT, never a download:
- ``settings.NLP_PRETRAINED_MODEL`` (or ``pretrained=...``) names a local checkpoint directory
  (for example a bert-base-chinese the operator downloaded): it is fine-tuned, with its own
  tokenizer, loaded with ``local_files_only``.
- otherwise a compact BERT is trained from scratch over a character vocabulary built
  locally from jieba's dictionary (characters of reasonably frequent words) plus the
  training data.

A stratified validation split (10%) calibrates the temperature and measures held-out
accuracy. ``quantize=True`` applies dynamic int8 quantisation to the Linear layers at load
time (same predictions within rounding, faster on CPU; see ``bench/results/nlu.md``).
"""
from __future__ import annotations

import json
import logging
import math
import time
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .base import IntentClassifier, Progress, TrainingError
from .calibration import expected_calibration_error, fit_temperature, softmax

logger = logging.getLogger(__name__)

VOCAB_FILE = "vocab.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PAD, UNK, CLS, SEP = 0, 1, 2, 3

DEFAULTS: dict[str, Any] = {
    # Compact from-scratch BERT (about 4.5M parameters with a ~6k character vocabulary).
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
    "max_length": 48,
    "epochs": 30,
    "batch_size": 32,
    "learning_rate": 5e-4,
    "weight_decay": 0.01,
    "warmup_ratio": 0.06,
    "dropout": 0.1,
    "validation_fraction": 0.1,
    "seed": 0,
    "min_char_freq": 2000,
    # Start the character embeddings from jieba-dictionary character vectors (charvec) instead of noise.
    "init_char_vectors": True,  # jieba word frequency a character needs to enter the vocabulary
    "pretrained": "",  # local checkpoint directory; "" means settings.NLP_PRETRAINED_MODEL or from scratch
    "quantize": False,
    # One intra-op thread: on the 2-core target shared with the web server and other jobs, two
    # threads measured 8x slower per training step under load (spin-waiting), not faster.
    # 0 keeps torch's default. Note torch's thread count is per process.
    "num_threads": 1,
}


@lru_cache(maxsize=4)
def jieba_characters(min_freq: int) -> tuple[str, ...]:
    """Characters of jieba's dictionary, summed over the words they occur in, above ``min_freq``."""
    import jieba

    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split(" ")
            if len(parts) < 2:
                continue
            word, freq = parts[0], int(parts[1])
            for char in word:
                counts[char] = counts.get(char, 0) + freq
    return tuple(sorted(c for c, n in counts.items() if n >= min_freq))


class CharTokenizer:
    """One token per character ([CLS] … [SEP]); unknown characters become [UNK]."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = vocab
        self.index = {token: i for i, token in enumerate(vocab)}

    @classmethod
    def build(cls, texts: list[str], min_freq: int) -> "CharTokenizer":
        chars = set(jieba_characters(min_freq))
        chars.update("abcdefghijklmnopqrstuvwxyz0123456789")
        for text in texts:
            chars.update(c for c in text if not c.isspace())
        return cls(SPECIALS + sorted(chars))

    def encode(self, texts: list[str], max_length: int) -> tuple[Any, Any]:
        import torch

        rows = [[CLS, *[self.index.get(c, UNK) for c in t if not c.isspace()][: max_length - 2], SEP] for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), PAD, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return ids, mask

    def save(self, directory: Path) -> None:
        (directory / VOCAB_FILE).write_text("\n".join(self.vocab) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "CharTokenizer":
        return cls((directory / VOCAB_FILE).read_text(encoding="utf-8").rstrip("\n").split("\n"))


class _PretrainedTokenizer:
    """Adapter over a local checkpoint's own tokenizer, with the same ``encode`` as ``CharTokenizer``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def encode(self, texts: list[str], max_length: int) -> tuple[Any, Any]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return batch["input_ids"], batch["attention_mask"]

    def save(self, directory: Path) -> None:
        self.tokenizer.save_pretrained(directory)


def _pretrained_path(config: dict[str, Any]) -> str:
    if config.get("pretrained"):
        return str(config["pretrained"])
    from django.conf import settings

    if not settings.configured:  # benchmarks and pure tests without Django
        return ""
    return str(getattr(settings, "NLP_PRETRAINED_MODEL", "") or "")


def _stratified_split(targets: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): ``fraction`` of each label with ≥ 3 examples goes to validation."""
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for label in np.unique(targets):
        idx = rng.permutation(np.flatnonzero(targets == label))
        n_valid = int(round(len(idx) * fraction)) if len(idx) >= 3 else 0
        if len(idx) >= 3 and fraction > 0:
            n_valid = max(1, n_valid)
        valid.extend(idx[:n_valid])
        train.extend(idx[n_valid:])
    return np.array(sorted(train)), np.array(sorted(valid), dtype=int)


class BertClassifier(IntentClassifier):
    backend = "transformers"

    def __init__(self, **config: Any) -> None:
        super().__init__(**{**DEFAULTS, **config})
        self.model = None
        self.tokenizer: CharTokenizer | _PretrainedTokenizer | None = None

    # --- model construction ------------------------------------------------------------------
    def _set_threads(self) -> None:
        import torch

        if int(self.config.get("num_threads") or 0) > 0:
            torch.set_num_threads(int(self.config["num_threads"]))

    def _new_model(self, texts: list[str]):
        from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

        n_labels = len(self.labels)
        id2label = dict(enumerate(self.labels))
        label2id = {l: i for i, l in id2label.items()}
        pretrained = _pretrained_path(self.config)
        if pretrained:
            if not Path(pretrained).is_dir():
                raise TrainingError(f"NLP_PRETRAINED_MODEL {pretrained!r} is not a local directory (nothing is downloaded)")
            self.config["pretrained"] = pretrained
            self.tokenizer = _PretrainedTokenizer(AutoTokenizer.from_pretrained(pretrained, local_files_only=True))
            return BertForSequenceClassification.from_pretrained(
                pretrained, num_labels=n_labels, id2label=id2label, label2id=label2id, local_files_only=True,
                ignore_mismatched_sizes=True,
            )
        self.tokenizer = CharTokenizer.build(texts, int(self.config["min_char_freq"]))
        cfg = self.config
        bert_config = BertConfig(
            vocab_size=len(self.tokenizer.vocab), hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_hidden_layers"],
            num_attention_heads=cfg["num_attention_heads"], intermediate_size=cfg["intermediate_size"],
            max_position_embeddings=max(64, int(cfg["max_length"])), hidden_dropout_prob=cfg["dropout"],
            attention_probs_dropout_prob=cfg["dropout"], num_labels=n_labels, id2label=id2label, label2id=label2id,
            pad_token_id=PAD,
        )
        model = BertForSequenceClassification(bert_config)
        if cfg.get("init_char_vectors"):
            self._init_embeddings(model)
        return model

    def _init_embeddings(self, model) -> None:
        """Copy jieba-dictionary character vectors into the word embeddings (same scale as BERT's init)."""
        import torch

        from .charvec import jieba_char_vectors

        vectors, index = jieba_char_vectors(int(self.config["hidden_size"]))
        weight = model.bert.embeddings.word_embeddings.weight
        scale = float(self.config.get("initializer_range", 0.02)) * math.sqrt(vectors.shape[1])
        hits = 0
        with torch.no_grad():
            for token, row in self.tokenizer.index.items():
                source = index.get(token)
                if source is not None:
                    weight[row] = torch.from_numpy(vectors[source]) * scale
                    hits += 1
        self.config["char_vectors_initialised"] = hits

    # --- training ----------------------------------------------------------------------------
    def _fit(self, texts: list[str], targets: np.ndarray, progress: Progress) -> None:
        import torch

        self._set_threads()
        cfg = self.config
        torch.manual_seed(int(cfg["seed"]))
        train_idx, valid_idx = _stratified_split(targets, float(cfg["validation_fraction"]), int(cfg["seed"]))
        model = self._new_model(texts)
        self.config["n_parameters"] = int(sum(p.numel() for p in model.parameters()))
        train_texts = [texts[i] for i in train_idx]
        train_targets = torch.tensor(targets[train_idx], dtype=torch.long)
        batch_size = int(cfg["batch_size"])
        steps_per_epoch = math.ceil(len(train_texts) / batch_size)
        total_steps = max(1, steps_per_epoch * int(cfg["epochs"]))
        warmup = int(total_steps * float(cfg["warmup_ratio"]))
        no_decay = ("bias", "LayerNorm.weight")
        groups = [
            {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)], "weight_decay": cfg["weight_decay"]},
            {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=float(cfg["learning_rate"]))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: (step + 1) / max(1, warmup) if step < warmup else max(0.0, (total_steps - step) / max(1, total_steps - warmup))
        )
        # Pre-encode once: the character tokenizer is cheap but epochs are many.
        ids, mask = self.tokenizer.encode(train_texts, int(cfg["max_length"]))
        generator = torch.Generator().manual_seed(int(cfg["seed"]))
        model.train()
        started = time.perf_counter()
        for epoch in range(int(cfg["epochs"])):
            order = torch.randperm(len(train_texts), generator=generator)
            total = 0.0
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                width = int(mask[batch].sum(dim=1).max())
                out = model(input_ids=ids[batch, :width], attention_mask=mask[batch, :width], labels=train_targets[batch])
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                total += out.loss.item() * len(batch)
            progress(f"epoch {epoch + 1}/{cfg['epochs']} loss {total / len(order):.4f} ({time.perf_counter() - started:.0f}s)")
        model.eval()
        self.model = model
        if len(valid_idx):
            logits = self._scores([texts[i] for i in valid_idx])
            valid_targets = targets[valid_idx]
            self.temperature = fit_temperature(logits, valid_targets)
            probs = softmax(logits, self.temperature)
            self.heldout = (valid_targets, probs)
            self.calibration = {
                "method": f"temperature scaling on a {len(valid_idx)}-example stratified validation split",
                "temperature": self.temperature,
                "ece": expected_calibration_error(probs, valid_targets),
                "ece_uncalibrated": expected_calibration_error(softmax(logits, 1.0), valid_targets),
                "validation_accuracy": float((probs.argmax(axis=1) == valid_targets).mean()),
                "n_validation": int(len(valid_idx)),
            }
        else:
            self.calibration = {"method": "none (too few examples for a validation split)"}

    # --- inference ---------------------------------------------------------------------------
    def _scores(self, texts: list[str]) -> np.ndarray:
        import torch

        outputs = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                ids, mask = self.tokenizer.encode(texts[start : start + 64], int(self.config["max_length"]))
                outputs.append(self.model(input_ids=ids, attention_mask=mask).logits.float().numpy())
        return np.concatenate(outputs).astype(np.float64)

    def quantize(self) -> None:
        """Dynamic int8 quantisation of the Linear layers (CPU inference only)."""
        import torch
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch deprecates the eager quantisation API in favour of torchao
            self.model = quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        self.config["quantized"] = True

    def _save(self, directory: Path) -> None:
        self.model.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save(directory)
        (directory / "tokenizer_kind.json").write_text(
            json.dumps({"kind": "char" if isinstance(self.tokenizer, CharTokenizer) else "pretrained"}), encoding="utf-8"
        )

    def _load(self, directory: Path) -> None:
        from transformers import AutoTokenizer, BertForSequenceClassification

        self._set_threads()
        kind = json.loads((directory / "tokenizer_kind.json").read_text(encoding="utf-8"))["kind"]
        if kind == "char":
            self.tokenizer = CharTokenizer.load(directory)
        else:
            self.tokenizer = _PretrainedTokenizer(AutoTokenizer.from_pretrained(directory, local_files_only=True))
        self.model = BertForSequenceClassification.from_pretrained(directory, local_files_only=True)
        self.model.eval()
        if self.config.get("quantize"):
            self.quantize()
