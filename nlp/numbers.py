"""Chinese numerals → numbers (一百二十 → 120, 两千零五 → 2005, 三点五 → 3.5, 十二 → 12)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["CN_DIGITS", "CN_NUMERAL_CHARS", "parse_number"]

CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
             "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join(CN_DIGITS) + "".join(_UNITS) + "".join(_BIG)


def _parse_cn_integer(text: str) -> int | None:
    if not text:
        return None
    if all(c in CN_DIGITS for c in text) and len(text) > 1:
        return int("".join(str(CN_DIGITS[c]) for c in text))  # 二〇二四 → 2024
    total, section, digit = 0, 0, None
    for char in text:
        if char in CN_DIGITS:
            if digit is not None and CN_DIGITS[char] != 0:
                return None  # "三四" inside a unit number is not a number
            digit = CN_DIGITS[char] if CN_DIGITS[char] != 0 else None
        elif char in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[char]
            digit = None
        elif char in _BIG:
            section += digit or 0
            total += (section or 1) * _BIG[char]
            section, digit = 0, None
        elif char.isdigit():
            return None
        else:
            return None
    return total + section + (digit or 0)


def parse_number(text: str) -> Decimal | None:
    """A number written in Arabic digits, Chinese numerals or a mix (3万, 1.5万); None if it is not one."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    for big, factor in _BIG.items():
        if text.endswith(big) and len(text) > 1:
            head = parse_number(text[:-1])
            if head is not None:
                return head * factor
    try:
        return Decimal(text)
    except InvalidOperation:
        pass
    whole, sep, frac = text.partition("点")
    integer = _parse_cn_integer(whole)
    if integer is None:
        return None
    if not sep:
        return Decimal(integer)
    if not frac or not all(c in CN_DIGITS for c in frac):
        return None
    return Decimal(f"{integer}.{''.join(str(CN_DIGITS[c]) for c in frac)}")
