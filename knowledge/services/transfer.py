"""Import and export of the KB in CSV, XLSX and JSONL — one service for admin and commands.

File shape (both directions): ``id, category, question, similar_questions, answer, keywords,
status`` plus an optional ``valid_until``. ``similar_questions`` and ``keywords`` are JSON
lists in JSONL and ``|``-separated text in CSV/XLSX (a ``|`` inside a question is written
``\\|``). An import is planned first (every row validated and classified create / update /
unchanged against the database) and applied only when the whole file is valid, inside one
transaction: a bad file changes nothing. A column (or JSONL key) the file does not have keeps
the stored value of an entry it updates, so a file of ``id, question, answer`` never wipes
similar questions or publishes a draft.

Spreadsheet safety: a CSV/XLSX cell that starts with ``= + - @`` (or a tab / carriage return)
is written with a leading ``'`` so Excel shows it as text instead of running it as a formula
(CSV injection), and the importer removes that one quote again: files round-trip exactly.

django-import-export was considered; its resources map one row to one model, while a row
here also owns a list of similar questions, a category path, a revision and an index sync,
so a small service over tablib/json is clearer than overriding most of a Resource.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path
from typing import Any

import tablib
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError
from knowledge.enums import EntryStatus
from knowledge.models import Category, Entry, SimilarQuestion, split_terms

from .entries import KEEP, EntryData, entry_upsert
from .indexing import kb_index_schedule
from .revisions import entry_snapshot

FORMATS = ("csv", "xlsx", "jsonl")
COLUMNS = ("id", "category", "question", "similar_questions", "answer", "keywords", "status", "valid_until")
REQUIRED_COLUMNS = ("id", "question", "answer")
MAX_ROWS = 50_000
_LIST_SEPARATOR = "|"
ANSWER_MAX_CHARS = 20_000  # the model's limit too; an XLSX cell holds at most 32,767
# Characters a spreadsheet would read as the start of a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# C0 controls but tab / newline / carriage return, and DEL: Excel junk that XLSX cannot store.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STATUS_ALIASES = {"草稿": "draft", "已发布": "published", "发布": "published", "已归档": "archived", "归档": "archived"}


class Action:
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class PlannedRow:
    """One file row after validation: what an import would do with it, or why it can't."""

    line: int  # 1-based row number as a person counts it in the file (header = 1 for CSV/XLSX)
    external_id: str
    question: str = ""
    action: str = Action.ERROR
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # names of the fields an update changes
    notes: list[str] = field(default_factory=list)  # what a person should know before confirming
    data: EntryData | None = None


@dataclass
class ImportPlan:
    """The preview of an import; ``valid`` only when no row (and not the file) has an error."""

    rows: list[PlannedRow]
    file_errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.file_errors and all(not row.errors for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {Action.CREATE: 0, Action.UPDATE: 0, Action.UNCHANGED: 0, Action.ERROR: 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def error_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.errors]


def format_from_name(name: str) -> str:
    """``csv`` / ``xlsx`` / ``jsonl`` from a file name; ApplicationError for anything else."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix == "json":
        suffix = "jsonl"
    if suffix not in FORMATS:
        raise ApplicationError("kb_format_unsupported", _("不支持的文件格式：%(name)s（支持 CSV、XLSX、JSONL）") % {"name": name})
    return suffix


# --- reading -------------------------------------------------------------------------------------


# Lead bytes of the characters everyday text is made of: punctuation and the common hanzi
# (GB2312 level 1; Big5's 常用字). Text decoded with the wrong one of the two codecs, which
# rarely fails outright (退貨 in Big5 reads as 癶砯 in GB18030), lands mostly outside them.
_COMMON_LEADS = {"gbk": ((0xA1, 0xA3), (0xB0, 0xD7)), "big5": ((0xA1, 0xA3), (0xA4, 0xC6))}


def _common_share(text: str, codec: str) -> float:
    wide = [char for char in text if ord(char) > 127]
    if not wide:
        return 1.0
    common = 0
    for char in wide:
        try:
            lead = char.encode(codec)[0]
        except UnicodeEncodeError:
            continue
        common += any(low <= lead <= high for low, high in _COMMON_LEADS[codec])
    return common / len(wide)


def _decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (Excel in mainland China) or Big5 (Taiwan,
    Hong Kong), whichever reads as everyday text; a file that reads as neither is refused
    rather than imported as mojibake."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    readings = []
    for codec, measure in (("gb18030", "gbk"), ("big5", "big5")):
        try:
            text = content.decode(codec)
        except UnicodeDecodeError:
            continue
        readings.append((_common_share(text, measure), text))
    share, text = max(readings, key=lambda reading: reading[0], default=(0.0, ""))
    if share < 0.5:
        raise ApplicationError("kb_file_encoding", _("无法识别文件编码，请保存为 UTF-8"))
    return text


def _read_table(dataset: tablib.Dataset, first_line: int) -> list[tuple[int, dict[str, Any]]]:
    headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
    if not headers or "id" not in headers:
        raise ApplicationError("kb_file_header", _("文件第一行必须是列名，至少包含：%(cols)s") % {"cols": ", ".join(REQUIRED_COLUMNS)})
    rows = []
    for offset, values in enumerate(dataset):
        record = {h: _cell_in(v) for h, v in zip(headers, values) if h}
        if all(v is None or str(v).strip() == "" for v in record.values()):
            continue  # blank spreadsheet rows
        rows.append((first_line + offset, record))
    return rows


def read_rows(content: bytes, fmt: str) -> list[tuple[int, dict[str, Any]]]:
    """Parse a file into ``(line, raw dict)`` pairs; ApplicationError when it can't be read at all."""
    if fmt == "jsonl":
        rows = []
        for number, line in enumerate(_decode_text(content).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append((number, {"__error__": _("不是合法的 JSON：%(msg)s") % {"msg": exc.msg}}))
                continue
            rows.append((number, value if isinstance(value, dict) else {"__error__": _("每行必须是一个 JSON 对象")}))
        return rows
    if fmt == "csv":
        text = _decode_text(content)
        try:
            dataset = tablib.Dataset().load(text, format="csv")
        except (csv.Error, tablib.InvalidDimensions) as exc:
            raise ApplicationError("kb_file_unreadable", _("无法读取 CSV：%(msg)s") % {"msg": exc}) from exc
        return _read_table(dataset, first_line=2)
    if fmt == "xlsx":
        try:
            dataset = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        except Exception as exc:  # openpyxl raises many types (BadZipFile, KeyError, InvalidFileException...)
            raise ApplicationError("kb_file_unreadable", _("无法读取 XLSX 文件：%(msg)s") % {"msg": exc}) from exc
        return _read_table(dataset, first_line=2)
    raise ApplicationError("kb_format_unsupported", _("不支持的文件格式：%(name)s") % {"name": fmt})


# --- validating ----------------------------------------------------------------------------------


def _list_join(items: list[str]) -> str:
    """``|``-separated, with ``\\`` and ``|`` inside an item escaped by a backslash."""
    return _LIST_SEPARATOR.join(item.replace("\\", "\\\\").replace(_LIST_SEPARATOR, "\\" + _LIST_SEPARATOR) for item in items)


def _list_split(text: str) -> list[str]:
    """The inverse of ``_list_join``; any other backslash is an ordinary character."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in ("\\", _LIST_SEPARATOR):
            current.append(text[i + 1])
            i += 2
            continue
        if char == _LIST_SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _cell_out(text: str) -> str:
    """A CSV/XLSX cell: text a spreadsheet would run as a formula gets a leading ``'``."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _cell_in(value: Any) -> Any:
    """Undo ``_cell_out`` for one cell read from CSV/XLSX."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def _as_list(value: Any, *, from_text: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [_as_text(v) for v in value if _as_text(v)]
    text = _as_text(value)
    if not text:
        return []
    if from_text == "similar":
        return _list_split(text)
    return split_terms(text)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn "1001" into 1001.0
    return _CONTROL_CHARS.sub("", str(value)).strip()


# JSONL keeps types: what each key may hold (CSV/XLSX cells are text, numbers or dates).
_JSONL_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str, int),
    "category": (str,),
    "question": (str,),
    "answer": (str,),
    "status": (str,),
    "valid_until": (str,),
}


def _jsonl_type_errors(raw: dict[str, Any]) -> list[str]:
    """A JSONL value of the wrong type is a row error, never a stored ``repr``."""
    errors = []
    for key, types in _JSONL_TYPES.items():
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            errors.append(_("%(key)s 必须是文本") % {"key": key})
    for key in ("similar_questions", "keywords"):
        value = raw.get(key)
        if value is None or (key == "keywords" and isinstance(value, str)):
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            errors.append(_("%(key)s 必须是文本列表") % {"key": key})
    return errors


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    text = str(value).strip()
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(text)
        parsed = datetime(day.year, day.month, day.day, 23, 59, 59)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _validate(line: int, raw: dict[str, Any], *, typed: bool = False) -> PlannedRow:
    """Check one row; ``row.data`` holds ``KEEP`` for every column the row does not have
    (``_complete`` fills those from the stored entry or the defaults). ``typed``: a JSONL row."""
    if "__error__" in raw:
        return PlannedRow(line=line, external_id="", errors=[raw["__error__"]])
    if typed and (type_errors := _jsonl_type_errors(raw)):
        return PlannedRow(line=line, external_id=_as_text(raw.get("id")) if isinstance(raw.get("id"), (str, int)) else "", errors=type_errors)
    external_id = _as_text(raw.get("id"))
    row = PlannedRow(line=line, external_id=external_id, question=_as_text(raw.get("question")))
    errors = row.errors
    if not external_id:
        errors.append(_("缺少 id"))
    elif len(external_id) > 64:
        errors.append(_("id 超过 64 个字符"))
    if not row.question:
        errors.append(_("缺少 question（标准问题）"))
    elif len(row.question) > 200:
        errors.append(_("question 超过 200 个字符"))
    answer = _as_text(raw.get("answer"))
    if not answer:
        errors.append(_("缺少 answer（答案）"))
    elif len(answer) > ANSWER_MAX_CHARS:
        errors.append(_("answer 超过 %(n)s 个字符") % {"n": ANSWER_MAX_CHARS})
    # A blank status keeps an updated entry's status (a new one is published).
    status: Any = _as_text(raw.get("status")) or KEEP
    if status is not KEEP:
        status = _STATUS_ALIASES.get(status, status.lower())
        if status not in EntryStatus.values:
            errors.append(_("status 只能是 draft / published / archived，而不是 %(value)s") % {"value": status})
    category: Any = _as_text(raw.get("category")) if "category" in raw else KEEP
    if category is not KEEP and any(len(part.strip()) > 64 for part in category.split("/")):
        errors.append(_("分类名称超过 64 个字符"))
    similar: Any = KEEP
    if "similar_questions" in raw:
        similar = tuple(_as_list(raw.get("similar_questions"), from_text="similar"))
        too_long = [q for q in similar if len(q) > 200]
        if too_long:
            errors.append(_("相似问法超过 200 个字符：%(q)s") % {"q": too_long[0][:30]})
    keywords: Any = KEEP
    if "keywords" in raw:
        keywords = tuple(_as_list(raw.get("keywords"), from_text="keywords"))
        if len(", ".join(keywords)) > 500:
            errors.append(_("关键词合计超过 500 个字符"))
    valid_until: Any = KEEP
    if "valid_until" in raw:
        try:
            valid_until = _as_datetime(raw.get("valid_until"))
        except ValueError:
            errors.append(_("valid_until 不是合法日期：%(value)s") % {"value": raw.get("valid_until")})
    if not errors:
        row.data = EntryData(
            external_id=external_id,
            question=row.question,
            answer=answer,
            category=category,
            similar_questions=similar,
            keywords=keywords,
            status=status,
            valid_until=valid_until,
        )
    return row


def _complete(data: EntryData, current: dict[str, Any] | None) -> EntryData:
    """Fill the columns a row lacks: from the stored entry (``current`` snapshot) or defaults."""
    stored = current or {}
    defaults = {"category": "", "similar_questions": (), "keywords": (), "status": EntryStatus.PUBLISHED}
    filled = {}
    for name, default in defaults.items():
        if getattr(data, name) is KEEP:
            value = stored.get(name, default) if current is not None else default
            filled[name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(data, **filled) if filled else data


def _new_categories(path: str, known: set[str]) -> list[str]:
    """The ``父/子`` prefixes of ``path`` that no category has yet (an import would create them)."""
    parts = [part.strip() for part in path.split("/") if part.strip()]
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return [prefix for prefix in prefixes if prefix not in known]


def _normalised_snapshot(data: EntryData, current: dict[str, Any]) -> dict[str, Any]:
    """``data`` in ``entry_snapshot`` shape, to compare with what is stored."""
    question = data.question.strip()
    category = "/".join(part.strip() for part in data.category.split("/") if part.strip())
    return {
        "external_id": data.external_id,
        "category": category,
        "question": question,
        "similar_questions": list(dict.fromkeys(q for q in data.similar_questions if q and q != question)),
        "answer": data.answer.strip(),
        "keywords": list(dict.fromkeys(data.keywords)),
        "status": data.status,
        "valid_until": current.get("valid_until")
        if data.valid_until is KEEP
        else (data.valid_until.astimezone(dt_timezone.utc).isoformat() if data.valid_until else None),
    }


def kb_import_plan(content: bytes, fmt: str) -> ImportPlan:
    """Validate a file and say per row what importing it would do; writes nothing."""
    try:
        raw_rows = read_rows(content, fmt)
    except ApplicationError as exc:
        return ImportPlan(rows=[], file_errors=[str(exc.detail)])
    if not raw_rows:
        return ImportPlan(rows=[], file_errors=[_("文件中没有数据行")])
    if len(raw_rows) > MAX_ROWS:
        return ImportPlan(rows=[], file_errors=[_("一次最多导入 %(n)s 行") % {"n": MAX_ROWS}])
    rows = [_validate(line, raw, typed=fmt == "jsonl") for line, raw in raw_rows]
    seen: dict[str, int] = {}
    for row in rows:
        if row.external_id and row.external_id in seen:
            row.errors.append(_("id %(id)s 与第 %(line)s 行重复") % {"id": row.external_id, "line": seen[row.external_id]})
            row.data = None
        seen.setdefault(row.external_id, row.line)
    ids = [row.external_id for row in rows if row.data is not None]
    existing = {
        e.external_id: e
        for e in Entry.objects.filter(external_id__in=ids).select_related("category").prefetch_related("similar_questions")
    }
    known_paths = {category.path for category in _category_paths_warm()}
    for row in rows:
        if row.data is None:
            row.action = Action.ERROR
            continue
        entry = existing.get(row.external_id)
        current = entry_snapshot(entry) if entry is not None else None
        row.data = _complete(row.data, current)
        created = _new_categories(row.data.category, known_paths)
        if created:
            row.notes.append(_("将新建分类：%(path)s") % {"path": created[-1]})
            known_paths.update(created)  # said once, on the first row that needs it
        if current is None:
            row.action = Action.CREATE
            continue
        wanted = _normalised_snapshot(row.data, current)
        row.changes = [name for name in wanted if wanted[name] != current.get(name)]
        row.action = Action.UPDATE if row.changes else Action.UNCHANGED
    return ImportPlan(rows=rows)


def _category_paths_warm() -> list[Category]:
    """Category.path walks parents; one query up front keeps planning off an N+1 pattern."""
    return list(Category.objects.select_related("parent", "parent__parent"))


def kb_import(
    content: bytes, fmt: str, *, user: AbstractBaseUser | None = None, dry_run: bool = False
) -> ImportPlan:
    """Plan the import and, when every row is valid and ``dry_run`` is off, apply it atomically.

    Raises ``ApplicationError("kb_import_invalid")`` (with the plan in ``extra``) when the file
    or any row is invalid: then nothing is written. Unchanged rows are not touched; created
    and updated rows get a revision each and one index sync is scheduled after commit.
    """
    plan = kb_import_plan(content, fmt)
    if not plan.valid:
        raise ApplicationError(
            "kb_import_invalid",
            _("文件有错误，未导入任何数据"),
            extra={"errors": [f"{row.line}: {'; '.join(row.errors)}" for row in plan.error_rows] + plan.file_errors},
        )
    if dry_run:
        return plan
    changed_ids: list[int] = []
    try:
        with transaction.atomic():
            for row in plan.rows:
                if row.action in (Action.CREATE, Action.UPDATE) and row.data is not None:
                    entry, changed = entry_upsert(row.data, user=user, source="import", index=False)
                    if changed:
                        changed_ids.append(entry.pk)
            kb_index_schedule(changed_ids)
    except ValidationError as exc:  # a rule only the database knows (e.g. a category slug clash)
        raise ApplicationError("kb_import_invalid", _("导入失败，未导入任何数据：%(msg)s") % {"msg": "; ".join(exc.messages)}) from exc
    return plan


# --- writing -------------------------------------------------------------------------------------


def _export_records(entries: QuerySet[Entry] | None) -> list[dict[str, Any]]:
    queryset = (entries if entries is not None else Entry.objects.all()).order_by("external_id")
    queryset = queryset.select_related("category", "category__parent", "category__parent__parent")
    similar: dict[int, list[str]] = {}
    for entry_id, text in SimilarQuestion.objects.filter(entry__in=queryset).order_by("id").values_list("entry_id", "text"):
        similar.setdefault(entry_id, []).append(text)
    return [
        {
            "id": entry.external_id,
            "category": entry.category.path if entry.category_id else "",
            "question": entry.question,
            "similar_questions": similar.get(entry.pk, []),
            "answer": entry.answer,
            "keywords": entry.keyword_list,
            "status": entry.status,
            "valid_until": timezone.localtime(entry.valid_until).isoformat() if entry.valid_until else "",
        }
        for entry in queryset
    ]


def kb_export(fmt: str, *, entries: QuerySet[Entry] | None = None) -> bytes:
    """The entries (default: all, every status) as a file ``kb_import`` reads back unchanged."""
    records = _export_records(entries)
    if fmt == "jsonl":
        lines = []
        for record in records:
            record = dict(record)
            if not record["valid_until"]:
                record.pop("valid_until")
            lines.append(json.dumps(record, ensure_ascii=False))
        return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    dataset = tablib.Dataset(headers=list(COLUMNS))
    for record in records:
        cells = [
            record["id"], record["category"], record["question"],
            _list_join(record["similar_questions"]), record["answer"],
            ", ".join(record["keywords"]), record["status"], record["valid_until"],
        ]
        # Control characters stored before the model refused them would break the XLSX writer.
        dataset.append([_cell_out(_CONTROL_CHARS.sub("", cell)) for cell in cells])
    if fmt == "csv":
        return ("\ufeff" + dataset.export("csv")).encode("utf-8")  # BOM: Excel opens it as UTF-8
    if fmt == "xlsx":
        return dataset.export("xlsx")
    raise ApplicationError("kb_format_unsupported", _("不支持的文件格式：%(name)s") % {"name": fmt})
