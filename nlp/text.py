"""Text normalisation: one canonical form of a visitor message for matching and classifying.

The rules (in order): NFKC (full-width → half-width, compatibility forms), traditional →
simplified (OpenCC t2s), lower case, emoji removed from the text but reported, Chinese
punctuation mapped to ASCII, runs of punctuation collapsed to one mark, whitespace collapsed
(and dropped next to CJK characters, where it carries no meaning), and runs of three or more
of the same non-digit character collapsed to two (好好好好 → 好好, 哈哈哈哈 → 哈哈, but
13800000000 keeps its zeros).

Every character of the result remembers which raw character it came from (``offsets``), so
entity and PII spans found on the normalised text can be reported on the raw text.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["NormalizedText", "normalize", "normalize_text", "is_cjk"]

# Emoji and pictographs (incl. flags, keycap parts, skin tones, ZWJ and variation selectors).
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # mahjong … symbols & pictographs extended-A (incl. emoticons, transport, flags)
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2b00-\u2bff"  # arrows, stars (⭐)
    "\u2300-\u23ff"  # technical (⌚ ⏰)
    "\u2190-\u21ff"  # arrows
    "\u3030\u303d\u3297\u3299"
    "\u00a9\u00ae\u203c\u2049\u2122\u2139"
    "]"
)
# Parts of an emoji sequence that are not visible on their own.
_EMOJI_JOINERS = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}
_SKIN_TONES = range(0x1F3FB, 0x1F400)

# Chinese punctuation NFKC leaves alone, mapped to the ASCII mark customers mean.
_PUNCT_MAP = {
    "。": ".", "｡": ".", "、": ",", "，": ",", "；": ";", "：": ":", "？": "?", "！": "!",
    "“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"',
    "【": "[", "】": "]", "〔": "[", "〕": "]", "《": "<", "》": ">", "〈": "<", "〉": ">",
    "（": "(", "）": ")", "～": "~", "〜": "~", "—": "-", "–": "-", "－": "-", "―": "-",
    "…": ".", "·": "·", "・": "·",
}


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph (the characters around which spaces mean nothing)."""
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F or 0xF900 <= code <= 0xFAFF


def _is_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P") or char in "~^`|<>=+$"


@dataclass(frozen=True)
class NormalizedText:
    """A normalised message: ``text`` is what matching and classifying use."""

    raw: str
    text: str
    emojis: tuple[str, ...]
    # offsets[i] is the index in ``raw`` of the character text[i] came from.
    offsets: tuple[int, ...]

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span [start, end) of ``text`` back to a span of ``raw``."""
        if start >= end or not self.offsets:
            return (0, 0)
        return self.offsets[start], self.offsets[end - 1] + 1


@lru_cache(maxsize=1)
def _t2s():
    """OpenCC's traditional→simplified converter, built once per process (about 50 ms)."""
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters OpenCC would change: lets plain simplified text skip the converter."""
    from pathlib import Path

    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            source = line.split("\t", 1)[0].strip()
            if len(source) == 1:
                chars.add(source)
    return frozenset(chars)


def _to_simplified(chars: list[str]) -> list[str]:
    traditional = _traditional_chars()
    if not any(c in traditional for c in chars):
        return chars
    converter = _t2s()
    converted = converter.convert("".join(chars))
    if len(converted) == len(chars):
        return list(converted)
    # A phrase rule changed the length: convert character by character to keep offsets exact.
    return [converter.convert(c) if c in traditional else c for c in chars]


@lru_cache(maxsize=8192)
def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` (see the module docstring); never raises on any ``str``.

    Cached (the result is immutable): a turn normalises the same text more than once
    (analysis, then the classifier), and customers ask the same questions over and over.
    """
    raw = text or ""
    # 1. NFKC per raw character, remembering where each output character came from.
    chars: list[str] = []
    sources: list[int] = []
    for index, char in enumerate(raw):
        for out in unicodedata.normalize("NFKC", char):
            chars.append(out)
            sources.append(index)
    # 2. Traditional → simplified (length-preserving by construction).
    chars = _to_simplified(chars)
    # 3. Lower case, emoji out, punctuation mapped.
    emojis: list[str] = []
    stage: list[tuple[str, int]] = []
    pending_emoji = ""
    for char, source in zip(chars, sources):
        code = ord(char)
        if _EMOJI.match(char) and code not in _SKIN_TONES:
            if pending_emoji and not pending_emoji.endswith("\u200d"):
                emojis.append(pending_emoji)  # a new emoji, not joined to the previous one
                pending_emoji = ""
            pending_emoji += char
            continue
        if pending_emoji and (code in _SKIN_TONES or char in _EMOJI_JOINERS):
            pending_emoji += char
            continue
        if char in _EMOJI_JOINERS or code in _SKIN_TONES:
            continue
        if pending_emoji:
            emojis.append(pending_emoji)
            pending_emoji = ""
        char = _PUNCT_MAP.get(char, char)
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            char = " "
        for low in char.lower():
            stage.append((low, source))
    if pending_emoji:
        emojis.append(pending_emoji)
    # 4. Whitespace, punctuation runs and repeated characters.
    out: list[tuple[str, int]] = []
    for i, (char, source) in enumerate(stage):
        if char == " ":
            if not out or out[-1][0] == " ":
                continue
            out.append((char, source))
            continue
        if out and out[-1][0] == " " and (is_cjk(char) or (len(out) > 1 and is_cjk(out[-2][0]))):
            out.pop()  # a space next to Chinese text carries no meaning ("我 要 退款")
        if _is_punct(char) and out and out[-1][0] == char:
            continue  # "???" → "?"
        if not char.isdigit() and len(out) >= 2 and out[-1][0] == char and out[-2][0] == char:
            continue  # "好好好好" → "好好"
        out.append((char, source))
    while out and out[-1][0] == " ":
        out.pop()
    return NormalizedText(
        raw=raw,
        text="".join(c for c, _ in out),
        emojis=tuple(e for e in emojis if e.strip("".join(_EMOJI_JOINERS))),
        offsets=tuple(s for _, s in out),
    )


def normalize_text(text: str) -> str:
    """Shortcut: the normalised text alone."""
    return normalize(text).text
