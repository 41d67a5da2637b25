"""Personal data in visitor messages: find it and mask it before storing.

Detected: mainland mobile numbers, 18-digit resident ID numbers (with a valid checksum and
birth date), bank card numbers (16–19 digits passing Luhn) and e-mail addresses. Detection
runs on the normalised text (so full-width digits count) and spans are reported on the raw
text. Masking keeps enough to recognise the value and hides the rest: 138****5678,
110***********123X, 6222***********1234, z***@example.com.

Whether stored messages are masked is the ``CSBOT_MASK_PII`` setting; the chat pipeline
calls ``mask_pii`` (or ``store_text``) and never re-implements these rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .text import NormalizedText, normalize

__all__ = ["PiiSpan", "find_pii", "mask_pii", "store_text", "id_card_valid", "luhn_valid", "PHONE", "ID_CARD", "BANK_CARD", "EMAIL"]

PHONE, ID_CARD, BANK_CARD, EMAIL = "phone", "id_card", "bank_card", "email"

# Digits may be grouped with spaces or dashes ("138 0013 8000", "6222 0000 1111 2222").
_PHONE_RE = re.compile(r"(?<![0-9a-z])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9a-z])")
_ID_RE = re.compile(r"(?<![0-9a-z])(\d{6})[- ]?(\d{8})[- ]?(\d{3}[0-9x])(?![0-9a-z])")
_CARD_RE = re.compile(r"(?<![0-9a-z])\d{4}(?:[- ]?\d{2,4}){2,4}(?![0-9a-z])")
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])", re.ASCII)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class PiiSpan:
    """Personal data at ``raw[start:end]``; ``value`` is its canonical form (digits only, e-mail lower case)."""

    kind: str
    start: int
    end: int
    value: str


def id_card_valid(number: str) -> bool:
    """GB 11643 check digit and a plausible birth date for an 18-character ID number."""
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != number[17]:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def luhn_valid(number: str) -> bool:
    """The Luhn check every UnionPay/Visa/Mastercard number passes."""
    if not number.isdigit() or len(number) < 12:
        return False
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def find_pii_normalized(norm: NormalizedText) -> list[PiiSpan]:
    """PII spans of a normalised message (spans on ``norm.raw``), left to right, never overlapping."""
    text = norm.text
    found: list[tuple[int, int, str, str]] = []  # (start, end, kind, value) on the normalised text
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(start: int, end: int, kind: str, value: str) -> None:
        found.append((start, end, kind, value))
        taken.append((start, end))

    for m in _EMAIL_RE.finditer(text):
        add(m.start(), m.end(), EMAIL, m.group(0))
    # ID numbers before bank cards: an 18-digit ID can pass Luhn by chance.
    for m in _ID_RE.finditer(text):
        value = "".join(m.groups()).upper()
        if id_card_valid(value) and free(m.start(), m.end()):
            add(m.start(), m.end(), ID_CARD, value)
    for m in _CARD_RE.finditer(text):
        value = _digits(m.group(0))
        if 16 <= len(value) <= 19 and luhn_valid(value) and free(m.start(), m.end()):
            add(m.start(), m.end(), BANK_CARD, value)
    for m in _PHONE_RE.finditer(text):
        if free(m.start(), m.end()):
            add(m.start(), m.end(), PHONE, "".join(m.groups()))
    spans = []
    for start, end, kind, value in sorted(found):
        raw_start, raw_end = norm.raw_span(start, end)
        spans.append(PiiSpan(kind, raw_start, raw_end, value))
    return spans


def find_pii(text: str) -> list[PiiSpan]:
    """PII spans of the raw ``text``."""
    return find_pii_normalized(normalize(text))


def _mask_span(kind: str, raw: str) -> str:
    if kind == EMAIL:
        local, _, domain = raw.partition("@")
        return f"{local[:1]}***@{domain}"
    keep_head, keep_tail = {PHONE: (3, 4), ID_CARD: (3, 4), BANK_CARD: (4, 4)}[kind]
    # Mask digits only, keeping separators and a "+86" prefix where they were.
    positions = [i for i, c in enumerate(raw) if c.isalnum()]
    if kind == PHONE and len(positions) > 11:
        positions = positions[-11:]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(raw))


def mask_spans(text: str, spans: list[PiiSpan] | tuple[PiiSpan, ...]) -> str:
    """``text`` with each span masked (spans as ``find_pii`` returns them)."""
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[last : span.start])
        out.append(_mask_span(span.kind, text[span.start : span.end]))
        last = span.end
    out.append(text[last:])
    return "".join(out)


def mask_pii(text: str) -> str:
    """``text`` with phones, ID numbers, bank cards and e-mails masked (always masks)."""
    return mask_spans(text, find_pii(text))


def store_text(text: str) -> str:
    """The form of a visitor message to store: masked when ``settings.CSBOT_MASK_PII`` is on (default)."""
    from django.conf import settings

    return mask_pii(text) if getattr(settings, "CSBOT_MASK_PII", True) else text
