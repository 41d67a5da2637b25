"""Shared helpers of the KB benchmarks: Django setup on a throw-away database, timing, memory."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CSBOT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def setup_django(*, database: Path | None = None) -> Path:
    """Configure Django on a fresh SQLite file (never the developer's var/ database)."""
    sys.path.insert(0, str(ROOT))
    workdir = Path(tempfile.mkdtemp(prefix="csbot-bench-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)  # a 100k-entry database is ~200 MB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csbot.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    os.environ["CSBOT_SQLITE_PATH"] = str(database or workdir / "bench.sqlite3")
    os.environ["CSBOT_MODEL_DIR"] = str(workdir / "models")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("CSBOT_SEARCH_BACKEND", "local")
    import django

    django.setup()
    return workdir


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
