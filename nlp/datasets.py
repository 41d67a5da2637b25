"""Labelled intent data: read TSV/JSONL files, read the database's examples, hash a data set.

File formats (``nlu_train --data``, ``nlu_evaluate``): a TSV whose header has ``text`` and
``label`` columns (others are ignored), or JSONL with ``text`` and ``label`` keys. A bad file
raises ``DatasetError`` naming the line, never half-loads.
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

__all__ = ["DatasetError", "read_labelled", "database_examples", "data_hash"]

Example = tuple[str, str]


class DatasetError(ValueError):
    """The file cannot be read as labelled intent data (the message says where and why)."""


def read_labelled(path: str | Path) -> list[Example]:
    """``[(text, label), ...]`` from a TSV (header with text and label) or JSONL file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 ({exc})") from exc
    first = next((line for line in content.splitlines() if line.strip()), "")
    rows = _read_jsonl(path, content) if path.suffix.lower() in (".jsonl", ".json") or first.lstrip().startswith("{") else _read_tsv(path, content)
    if not rows:
        raise DatasetError(f"{path}: no examples")
    return rows


def _read_jsonl(path: Path, content: str) -> list[Example]:
    rows = []
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not isinstance(obj.get("label"), str):
            raise DatasetError(f"{path}:{number}: each line needs string 'text' and 'label'")
        rows.append(_clean(path, number, obj["text"], obj["label"]))
    return rows


def _read_tsv(path: Path, content: str) -> list[Example]:
    reader = csv.DictReader(content.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    if not reader.fieldnames or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise DatasetError(f"{path}: the TSV header must contain 'text' and 'label' columns (found {reader.fieldnames})")
    rows = []
    for number, row in enumerate(reader, 2):
        if row.get("text") is None or row.get("label") is None:
            raise DatasetError(f"{path}:{number}: missing text or label column")
        rows.append(_clean(path, number, row["text"], row["label"]))
    return rows


def _clean(path: Path, number: int, text: str, label: str) -> Example:
    text, label = text.strip(), label.strip()
    if not text or not label:
        raise DatasetError(f"{path}:{number}: empty text or label")
    return text, label


def database_examples() -> list[Example]:
    """Examples of the enabled intents in the database, as ``(text, intent name)``."""
    from .models import IntentExample

    return list(
        IntentExample.objects.filter(intent__enabled=True).order_by("intent__name", "id").values_list("text", "intent__name")
    )


def data_hash(examples: list[Example]) -> str:
    """SHA-256 of the sorted examples: the same data gives the same hash whatever its order."""
    digest = hashlib.sha256()
    for text, label in sorted(examples):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()
