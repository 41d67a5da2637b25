"""jieba tokenisation with the knowledge base's terms as a custom dictionary.

jieba is initialised lazily, once per process (about 0.5 s: call ``warm_up()`` before the
first message). The KB dictionary (keywords, synonyms, category names from
``knowledge.selectors.kb_dictionary_terms``) is added on top of jieba's own, and every
process refreshes it when the KB changes (``KbChangeWatcher``: one cheap fingerprint query
at most every few seconds), so a term a manager adds in admin is kept whole everywhere
without a restart.

Without a database (pure unit tests, benchmarks, an unmigrated install) tokenisation falls
back to plain jieba instead of failing.
"""
from __future__ import annotations

import logging
import threading
import time
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import jieba

__all__ = ["tokenize", "warm_up", "stopwords", "kb_terms", "refresh_kb_dictionary", "kb_dictionary_forget"]

logger = logging.getLogger(__name__)

_STOPWORDS_FILE = Path(__file__).resolve().parent / "data" / "stopwords.txt"
_lock = threading.RLock()
_tokenizer: "jieba.Tokenizer | None" = None
_watcher = None  # knowledge.selectors.KbChangeWatcher, created on first use
# KB term -> the frequency jieba's own dictionary had for it (None: jieba did not know it).
_added: dict[str, int | None] = {}
# After a database failure, wait this long before trying again (keeps benchmarks and
# database-less tests at plain-jieba speed).
_RETRY_AFTER = 30.0
_failed_at: float | None = None
_products: dict[str, str] = {}  # normalised product name -> standard name (KB groups marked 商品名)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stop-word list shipped in ``nlp/data/stopwords.txt``."""
    words = set()
    with _STOPWORDS_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(line)
    return frozenset(words)


def _get_tokenizer() -> "jieba.Tokenizer":
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _set_terms(tokenizer: "jieba.Tokenizer", terms: list[str]) -> None:
    """Make the KB terms exactly ``terms``: add new ones, restore removed ones to jieba's value."""
    from .text import normalize_text

    wanted: dict[str, None] = {}
    for term in terms:
        term = normalize_text(term).replace(" ", "")
        if 1 < len(term) <= 20:
            wanted.setdefault(term, None)
    freq = tokenizer.FREQ
    for term in [t for t in _added if t not in wanted]:
        original = _added.pop(term)
        tokenizer.total += (original or 0) - freq.get(term, 0)
        freq[term] = original or 0  # 0 keeps the prefix entry but makes it no word
    for term in wanted:
        if term in _added:
            continue
        original = freq.get(term) or None
        # Never lower a word jieba already knows well; otherwise make sure it is cut out whole.
        new = max(original or 0, tokenizer.suggest_freq(term, False))
        _added[term] = original
        tokenizer.total += new - (original or 0)
        freq[term] = new
        for i in range(1, len(term)):
            freq.setdefault(term[:i], 0)


def kb_terms() -> tuple[str, ...]:
    """The KB terms currently in this process's dictionary (normalised)."""
    return tuple(_added)


def refresh_kb_dictionary(*, force: bool = False) -> bool:
    """Reload the KB terms if the KB changed (rate-limited); True if the dictionary was rebuilt.

    Any database problem (no database configured, tables not migrated, access blocked in a
    unit test) leaves the dictionary as it is: tokenisation must never fail because of it.
    """
    global _watcher, _failed_at, _products
    tokenizer = _get_tokenizer()
    if _failed_at is not None and not force and time.monotonic() - _failed_at < _RETRY_AFTER:
        return False
    from .djangoenv import django_ready

    if not django_ready():
        return False
    try:
        from knowledge.selectors import KbChangeWatcher, kb_dictionary_terms

        with _lock:
            if _watcher is None:
                _watcher = KbChangeWatcher()
            if force:
                _watcher.reset()
            if not _watcher.changed():
                return False
            terms = kb_dictionary_terms()
            _set_terms(tokenizer, terms)
            from knowledge.selectors import product_names as kb_product_names

            from .text import normalize_text

            _products = {normalize_text(name): normalize_text(standard) for name, standard in kb_product_names().items() if name.strip()}
        _failed_at = None
        logger.info("jieba KB dictionary loaded: %d terms", len(_added))
        return True
    except Exception as exc:  # noqa: BLE001 - no database must never break tokenisation
        _failed_at = time.monotonic()
        logger.debug("KB dictionary unavailable, using plain jieba: %s", exc)
        return False


def kb_dictionary_forget() -> None:
    """Make the next ``tokenize`` reload the KB terms from the database, whatever the watcher saw.

    For tests: a test's KB rows vanish with its transaction, but the words they gave this
    process's jieba would stay until the watcher's next check (seconds later) and cut the next
    test's questions differently.
    """
    global _watcher, _failed_at
    with _lock:
        _watcher = None
        _failed_at = None


def product_names() -> dict[str, str]:
    """Product names of the KB (normalised name -> standard name), refreshed with the dictionary."""
    refresh_kb_dictionary()
    return _products


def warm_up() -> None:
    """Initialise jieba and load the KB dictionary now (idempotent); call before the first message."""
    _get_tokenizer()
    refresh_kb_dictionary()
    stopwords()


def _is_word(token: str) -> bool:
    return any(not (c.isspace() or unicodedata.category(c)[0] in "PSZC") for c in token)


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """jieba tokens of already-normalised ``text``: no punctuation or spaces, stop words removed.

    Pass ``normalize(text).text``: the KB terms are stored normalised (simplified, lower case).
    """
    if not text:
        return []
    tokenizer = _get_tokenizer()
    refresh_kb_dictionary()
    tokens = [t for t in tokenizer.lcut(text) if _is_word(t)]
    if keep_stopwords:
        return tokens
    stop = stopwords()
    return [t for t in tokens if t not in stop]
