"""Character-level views of normalised text shared by the local index and the matcher features."""
from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65536)
def content_chars(text: str) -> str:
    """``text`` without spaces and punctuation/symbols: what character n-grams are taken over."""
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c)[0] in "PSZC"))


def char_ngrams(text: str, n: int) -> list[str]:
    """Character n-grams of the content characters (the whole string when it is shorter than n)."""
    chars = content_chars(text)
    if len(chars) < n:
        return [chars] if chars and n == 1 else []
    return [chars[i : i + n] for i in range(len(chars) - n + 1)]
