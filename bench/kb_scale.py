"""Search + match latency, index build time and memory for generated KBs of 1k / 10k / 100k entries.

Entries are generated from the demo KB: each generated entry takes a demo entry's question
and similar questions and puts a generated product phrase (brand × item × model number)
into them, so texts stay realistic Chinese while the vocabulary grows with the KB. Rows are
bulk-inserted (this measures search, not import); the index is then built exactly as a
running process builds it (``knowledge.search.local.current_index``: read the database,
normalise + tokenise every text, build the BM25/centroid matrices), the matcher trained as
in production (capped number of pseudo-queries), and the demo eval questions (analysed once
up front) timed through ``faq_match`` — wall time and the calling thread's CPU time (the
latter is what a query costs when other processes are not competing for the two cores).

    python bench/kb_scale.py [--sizes 1000 10000 100000]
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import ROOT, percentile, rss_mb, setup_django

BRANDS = "云朵 星河 青禾 极光 北辰 南风 山海 木棉 晨曦 蓝鲸 橙子 麦田 松果 白鹭 雪松 锦鲤 知更 鲸落 远山 青柠".split()
ITEMS = "空气炸锅 扫地机器人 蓝牙耳机 保温杯 电饭煲 洗碗机 行李箱 羽绒服 跑步鞋 咖啡机 电动牙刷 台灯 机械键盘 显示器 路由器 加湿器 吸尘器 电热水壶 破壁机 投影仪 平板电脑 智能手表 运动手环 充电宝 床垫 枕头 四件套 儿童座椅 婴儿车 奶粉".split()


def product(rng: random.Random) -> str:
    return f"{rng.choice(BRANDS)}{rng.choice(ITEMS)}{rng.choice('ABCDEFGHKMNPRSTX')}{rng.randint(1, 99)}"


def generate(n: int, demo_rows: list[dict], seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        base = demo_rows[i % len(demo_rows)]
        name = product(rng)
        questions = [base["question"], *base.get("similar_questions", [])][:6]
        texts = [f"{name}{q}" if rng.random() < 0.5 else f"{q.rstrip('？?')}（{name}）" for q in questions]
        out.append({"id": f"GEN-{i:06d}", "category": base["category"], "question": texts[0], "similar": texts[1:], "answer": base["answer"], "keywords": base.get("keywords", [])})
    return out


def load(rows: list[dict]) -> float:
    from django.db import transaction

    from knowledge.models import Category, Entry, SimilarQuestion
    from knowledge.services.demo import DEMO_CATEGORIES

    started = time.perf_counter()
    with transaction.atomic():
        SimilarQuestion.objects.all().delete()
        Entry.objects.all().delete()
        categories = {}
        for name, slug in DEMO_CATEGORIES.items():
            categories[name], _ = Category.objects.get_or_create(name=name, parent=None, defaults={"slug": slug})
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            entries = Entry.objects.bulk_create(
                [Entry(external_id=r["id"], category=categories[r["category"]], question=r["question"][:200], answer=r["answer"], keywords=", ".join(r["keywords"]), status="published") for r in chunk]
            )
            SimilarQuestion.objects.bulk_create(
                [SimilarQuestion(entry=e, text=t[:200]) for e, r in zip(entries, chunk) for t in dict.fromkeys(r["similar"]) if t != r["question"]]
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from knowledge import matching
    from knowledge.evaluation import read_eval_rows
    from knowledge.search import local
    from knowledge.selectors import faq_match
    from knowledge.services.demo import demo_kb_rows
    from nlp.analysis import analyze
    from nlp.tokens import warm_up

    call_command("migrate", verbosity=0)
    warm_up()
    demo = demo_kb_rows()
    questions = [r["query"] for r in read_eval_rows(ROOT / "bench" / "data" / "demo_kb_eval.jsonl")][: args.queries]
    analyses = [analyze(q, now=timezone.now()) for q in questions]
    results = []
    for size in args.sizes:
        rows = generate(size, demo)
        insert_seconds = load(rows)
        del rows
        local._state = None
        matching.matcher_reset()
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        built = local.current_index()
        build_seconds = time.perf_counter() - started
        after_index = rss_mb()
        started = time.perf_counter()
        matcher = matching.current_matcher(built, wait=True)
        train_seconds = time.perf_counter() - started
        after_matcher = rss_mb()
        timings, cpu = [], []
        for _ in range(2):
            for analysis in analyses:
                t0, c0 = time.perf_counter(), time.thread_time()
                faq_match(analysis, limit=3)
                timings.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
        results.append(
            {
                "entries": len(built.documents),
                "texts": built.index.n_units,
                "vocabulary": len(built.index.vocab),
                "db_insert_s": round(insert_seconds, 1),
                "index_build_s": round(build_seconds, 2),
                "index_matrices_mb": round(built.index.memory_bytes() / 2**20, 1),
                "rss_index_delta_mb": round(after_index - before, 1),
                "matcher_train_s": round(train_seconds, 2),
                "matcher_pairs": matcher.model.n_train if matcher else 0,
                "rss_total_mb": round(after_matcher, 1),
                "search_match_p50_ms": round(percentile(timings, 50), 2),
                "search_match_p99_ms": round(percentile(timings, 99), 2),
                # CPU time of the calling thread: what the query costs when the machine is not shared
                "search_match_cpu_p50_ms": round(percentile(cpu, 50), 2),
                "search_match_cpu_p99_ms": round(percentile(cpu, 99), 2),
            }
        )
        print(json.dumps(results[-1]), flush=True)
        del built, matcher
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
