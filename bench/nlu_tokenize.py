"""Speed of the per-message text pipeline: jieba start-up, normalize, tokenize, entities,
sentiment and the whole ``analyze`` (without a model and without a database).

Messages: SMP2017 test utterances (short, 8 characters on average) when ../shared/data is
there, plus the demo intents' examples. Run: .venv/bin/python bench/nlu_tokenize.py
"""
from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMP = ROOT.parent / "shared" / "data" / "smp2017_intent" / "test.tsv"
DEMO = ROOT / "nlp" / "fixtures" / "demo_intents.json"
NOW = datetime(2026, 11, 21, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def messages() -> list[str]:
    texts = [e for row in json.loads(DEMO.read_text(encoding="utf-8")) for e in row["examples"]]
    if SMP.is_file():
        with SMP.open(encoding="utf-8") as handle:
            texts += [r["text"] for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    return texts


def per_message(fn, texts: list[str], repeat: int = 3) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter()
            fn(text)
            times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return {"mean_us": round(statistics.fmean(times), 1), "p50_us": round(statistics.median(times), 1), "p99_us": round(times[int(len(times) * 0.99) - 1], 1)}


def main() -> None:
    # jieba start-up in a fresh process (its prefix dictionary is cached in /tmp after the first run).
    code = "import time,sys;sys.path.insert(0,%r);t=time.perf_counter();from nlp.tokens import warm_up;warm_up();print(time.perf_counter()-t)" % str(ROOT)
    startup = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    from nlp.analysis import analyze
    from nlp.entities import extract_entities
    from nlp.sentiment import sentiment
    from nlp.text import normalize, normalize_text
    from nlp.tokens import tokenize, warm_up

    warm_up()
    texts = messages()
    normalized = [normalize_text(t) for t in texts]
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"{len(texts)} messages, {chars:.1f} characters on average")
    print(f"jieba warm_up in a fresh process: {min(startup):.2f}-{max(startup):.2f} s")
    rows = {
        "normalize": per_message(normalize, texts),
        "tokenize (normalised input)": per_message(tokenize, normalized),
        "entities": per_message(lambda t: extract_entities(t, now=NOW), texts),
        "sentiment": per_message(sentiment, texts),
        "analyze (no model)": per_message(lambda t: analyze(t, now=NOW), texts),
    }
    started = time.perf_counter()
    n_chars = 0
    for _ in range(3):
        for t in normalized:
            tokenize(t)
            n_chars += len(t)
    rate = n_chars / (time.perf_counter() - started)
    print("| step | mean µs | p50 µs | p99 µs |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['mean_us']} | {r['p50_us']} | {r['p99_us']} |")
    print(f"tokenize throughput: {rate / 1000:.0f}k characters/s")


if __name__ == "__main__":
    main()
