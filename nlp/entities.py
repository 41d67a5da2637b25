"""Entities in a visitor message: order numbers, phones, ID cards, bank cards, e-mails,
amounts and dates, with normalised values (dates → ISO dates resolved against the message
time in the shop's time zone, amounts → decimal strings).

Extraction runs on the normalised text (half-width, simplified, lower case) and reports
spans on the raw text. Order-number patterns are data (``EntityPattern`` rows managers edit
in admin), reloaded in every process when they change; without a database the demo shop's
default pattern ``YD\\d{14}`` is used.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from .numbers import CN_DIGITS, parse_number
from .pii import BANK_CARD, EMAIL, ID_CARD, PHONE, find_pii_normalized
from .text import NormalizedText, normalize

__all__ = [
    "Entity", "extract_entities", "extract_entities_normalized", "DEFAULT_ORDER_PATTERNS",
    "ORDER_NUMBER", "AMOUNT", "DATE", "PHONE", "ID_CARD", "BANK_CARD", "EMAIL", "decimal_str",
]

logger = logging.getLogger(__name__)

ORDER_NUMBER, AMOUNT, DATE, PRODUCT = "order_number", "amount", "date", "product"
DEFAULT_ORDER_PATTERNS: tuple[str, ...] = (r"YD\d{14}",)
PATTERN_TIMEOUT = 0.05  # seconds; a manager's pathological regex must not stall a chat turn


@dataclass(frozen=True)
class Entity:
    """``kind`` found at ``raw[start:end]`` (= ``text``); ``value`` is its normalised form."""

    kind: str
    value: str
    text: str
    start: int
    end: int


def decimal_str(value: Decimal) -> str:
    """``Decimal`` → plain string without exponent or trailing zeros (120, 12.5)."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


# --- order numbers -------------------------------------------------------------------------

class _PatternCache:
    """Active order-number patterns, reloaded at most every ``interval`` seconds when rows change."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._stamp: object = None
        self._compiled: list = []

    def patterns(self) -> list:
        now = time.monotonic()
        if self._stamp is not None and now - self._checked_at < self.interval:
            return self._compiled
        with self._lock:
            self._checked_at = now
            try:
                from .djangoenv import django_ready

                if not django_ready():
                    raise LookupError("Django is not set up")
                from django.db.models import Count, Max

                from .models import EntityPattern

                rows = EntityPattern.objects.filter(kind=ORDER_NUMBER, enabled=True)
                stamp = tuple(EntityPattern.objects.aggregate(n=Count("pk"), last=Max("updated_at")).values())
                if stamp != self._stamp:
                    self._compiled = _compile([r.pattern for r in rows])
                    self._stamp = stamp
            except Exception as exc:  # noqa: BLE001 - no database: the demo default still works
                logger.debug("entity patterns unavailable, using defaults: %s", exc)
                if self._stamp is None or not self._compiled:
                    self._compiled = _compile(list(DEFAULT_ORDER_PATTERNS))
                    self._stamp = "default"
            return self._compiled

    def reset(self) -> None:
        with self._lock:
            self._stamp = None
            self._checked_at = 0.0


def _compile(patterns: list[str]) -> list:
    import regex

    compiled = []
    for pattern in patterns:
        try:
            compiled.append(regex.compile(rf"(?<![0-9a-z])(?:{pattern})(?![0-9a-z])", regex.IGNORECASE))
        except regex.error as exc:
            logger.warning("invalid order-number pattern %r skipped: %s", pattern, exc)
    return compiled


order_patterns = _PatternCache()


def _order_numbers(norm: NormalizedText) -> list[Entity]:
    found = []
    for pattern in order_patterns.patterns():
        try:
            for m in pattern.finditer(norm.text, timeout=PATTERN_TIMEOUT, concurrent=False):
                start, end = norm.raw_span(m.start(), m.end())
                value = unicodedata_nfkc(norm.raw[start:end]).upper().replace(" ", "")
                found.append(Entity(ORDER_NUMBER, value, norm.raw[start:end], start, end))
        except TimeoutError:
            logger.warning("order-number pattern %r timed out", pattern.pattern)
    return found


def unicodedata_nfkc(value: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", value)


# --- amounts -------------------------------------------------------------------------------

_CN = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
_CN_D = "零〇一二两三四五六七八九"
_NUM = rf"(?:\d+(?:\.\d+)?万?|[{_CN}]+(?:点[{_CN_D}]+)?)"
_AMOUNT_RES = [
    # ¥12.5, $3, rmb 100, 人民币100
    re.compile(r"(?:[¥$]|rmb|人民币)\s*(?P<num>\d+(?:\.\d+)?万?)(?:\s*(?:元|块钱|块))?"),
    # 12块5, 12元5角3分, 一百二十元, 3.5元, 12块钱, 5毛
    re.compile(
        rf"(?<![\d.])(?P<num>{_NUM})\s*(?P<unit>元|块钱|块(?!儿)|圆|rmb)"
        rf"(?:(?P<jiao>\d|[{_CN_D}])[角毛]?(?![\d{_CN}]))?(?:(?P<fen>\d|[{_CN_D}])分)?"
    ),
    re.compile(rf"(?<![\d.{_CN}])(?P<jiao_only>\d|[{_CN_D}])\s*[角毛]钱?(?:(?P<fen>\d|[{_CN_D}])分)?"),
]
# "块" is also a measure word ("两块蛋糕"): with Chinese numerals accept it only before these.
_KUAI_OK_AFTER = re.compile(rf"$|[\d{_CN_D}毛角钱,.!?;:~)\]\s]|的|多|左右|吗|呢|啊|吧|了|呀|嘛|而已|以|运费")


def _digit(value: str | None) -> int:
    if not value:
        return 0
    return int(value) if value.isdigit() else CN_DIGITS.get(value, 0)


def _amounts(norm: NormalizedText) -> list[Entity]:
    text = norm.text
    found = []
    for regex_index, pattern in enumerate(_AMOUNT_RES):
        for m in pattern.finditer(text):
            groups = m.groupdict()
            if groups.get("jiao_only"):
                value = Decimal(_digit(groups["jiao_only"])) / 10 + Decimal(_digit(groups.get("fen"))) / 100
            else:
                number = parse_number(groups["num"])
                if number is None:
                    continue
                unit = groups.get("unit")
                if unit == "块" and not groups["num"][0].isdigit() and not _KUAI_OK_AFTER.match(text, m.end("unit")):
                    continue
                value = number + Decimal(_digit(groups.get("jiao"))) / 10 + Decimal(_digit(groups.get("fen"))) / 100
            start, end = norm.raw_span(m.start(), m.end())
            found.append(Entity(AMOUNT, decimal_str(value), norm.raw[start:end], start, end))
    return found


# --- dates ---------------------------------------------------------------------------------

_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨儿": -1, "今天": 0, "今日": 0, "今儿": 0,
                  "明天": 1, "明日": 1, "明儿": 1, "后天": 2, "大后天": 3}
_WEEK_SHIFT = {"上上": -14, "上": -7, "下下": 14, "下": 7, "这": 0, "本": 0, "": 0}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_N = rf"(?:\d{{1,2}}|[{_CN_D}十]{{1,3}})"
_DATE_RES: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(rf"(?<!\d)(?P<y>\d{{4}}|[{_CN_D}]{{4}})\s*(?:年|-|/|\.)\s*(?P<m>{_N})\s*(?:月|-|/|\.)\s*(?P<d>{_N})\s*(?:日|号)?(?!\d)")),
    ("md", re.compile(rf"(?<![\d年])(?P<m>{_N})\s*月\s*(?P<d>{_N})\s*(?:日|号)")),
    ("rel", re.compile("|".join(sorted(_RELATIVE_DAYS, key=len, reverse=True)))),
    ("week", re.compile(r"(?P<shift>上上|下下|上|下|这|本)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])")),
    ("ago", re.compile(rf"(?P<n>\d{{1,3}}|[{_CN_D}十]{{1,3}})\s*天\s*(?P<dir>以前|之前|前|以后|之后|后)")),
]


def _small_int(value: str) -> int | None:
    number = parse_number(value)
    return int(number) if number is not None and number == int(number) else None


def _closest_year(month: int, day: int, today: date) -> date | None:
    """A month/day without a year: the next occurrence if it is within 60 days, else the last one.

    Customers mostly name past days (order and delivery dates), so 3月5号 said in November is
    this March, while 1月5号 said on 20 December is the coming January.
    """
    options = []
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            options.append(date(year, month, day))
        except ValueError:
            continue
    upcoming = [d for d in options if 0 <= (d - today).days <= 60]
    if upcoming:
        return upcoming[0]
    past = [d for d in options if d <= today]
    return max(past) if past else None


def _resolve_date(kind: str, m: re.Match[str], today: date) -> date | None:
    g = m.groupdict()
    if kind == "ymd":
        year, month, day = _small_int(g["y"]), _small_int(g["m"]), _small_int(g["d"])
        if year is None or month is None or day is None:
            return None
        try:
            return date(year, month, day)
        except ValueError:
            return None
    if kind == "md":
        month, day = _small_int(g["m"]), _small_int(g["d"])
        if month is None or day is None or not (1 <= month <= 12):
            return None
        return _closest_year(month, day, today)
    if kind == "rel":
        return today + timedelta(days=_RELATIVE_DAYS[m.group(0)])
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=_WEEK_SHIFT[g["shift"] or ""] + _WEEKDAY[g["wd"]])
    if kind == "ago":
        n = _small_int(g["n"])
        if n is None:
            return None
        return today + timedelta(days=-n if "前" in g["dir"] else n)
    return None


def local_today(now: datetime) -> date:
    """The calendar date of ``now`` in the shop's time zone (settings.TIME_ZONE, else Asia/Shanghai)."""
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(_zone()).date()


def _zone() -> ZoneInfo:
    from django.conf import settings

    # ``configured`` never triggers settings loading: benchmarks and pure tests run without Django.
    name = (settings.TIME_ZONE if settings.configured else None) or "Asia/Shanghai"
    return _zoneinfo(name)


@lru_cache(maxsize=8)
def _zoneinfo(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _dates(norm: NormalizedText, now: datetime) -> list[Entity]:
    today = local_today(now)
    found = []
    for kind, pattern in _DATE_RES:
        for m in pattern.finditer(norm.text):
            resolved = _resolve_date(kind, m, today)
            if resolved is None:
                continue
            start, end = norm.raw_span(m.start(), m.end())
            found.append(Entity(DATE, resolved.isoformat(), norm.raw[start:end], start, end))
    return found


# --- product names -------------------------------------------------------------------------

_product_regex: tuple[object, object] = (None, None)  # (names dict it was built from, compiled pattern)


def _products(norm: NormalizedText) -> list[Entity]:
    """Product names from the KB dictionary (synonym groups marked 商品名); value = the standard name."""
    from .tokens import product_names

    global _product_regex
    names = product_names()
    if not names:
        return []
    if _product_regex[0] is not names:
        import regex

        alternatives = "|".join(regex.escape(n) for n in sorted(names, key=len, reverse=True))
        _product_regex = (names, regex.compile(alternatives))
    found = []
    for m in _product_regex[1].finditer(norm.text, concurrent=False):
        start, end = norm.raw_span(m.start(), m.end())
        found.append(Entity(PRODUCT, names[m.group(0)], norm.raw[start:end], start, end))
    return found


# --- all -----------------------------------------------------------------------------------

_PRIORITY = {EMAIL: 0, ORDER_NUMBER: 1, ID_CARD: 2, BANK_CARD: 3, PHONE: 4, DATE: 5, AMOUNT: 6, PRODUCT: 7}


def extract_entities_normalized(norm: NormalizedText, *, now: datetime) -> list[Entity]:
    """Entities of a normalised message, left to right; overlaps go to the longer, then the more specific kind."""
    candidates: list[Entity] = []
    for span in find_pii_normalized(norm):
        candidates.append(Entity(span.kind, span.value, norm.raw[span.start : span.end], span.start, span.end))
    candidates += _order_numbers(norm)
    candidates += _dates(norm, now)
    candidates += _amounts(norm)
    candidates += _products(norm)
    chosen: list[Entity] = []
    for entity in sorted(candidates, key=lambda e: (-(e.end - e.start), _PRIORITY.get(e.kind, 9), e.start)):
        if all(entity.end <= c.start or entity.start >= c.end for c in chosen):
            chosen.append(entity)
    return sorted(chosen, key=lambda e: e.start)


def extract_entities(text: str, *, now: datetime) -> list[Entity]:
    """Entities of the raw ``text`` resolved against ``now`` (an aware datetime)."""
    return extract_entities_normalized(normalize(text), now=now)
