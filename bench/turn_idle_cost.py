"""What a turn's models cost when the process idles between turns, as a server's does.

A chat server does not answer questions back to back: at 200 visitors over 2 processes each
process waits a few milliseconds between turns, and a single visitor's turns come a second
apart. On a virtual machine the caches (and often the core) go cold in those gaps, so the same
Python work costs more CPU than a tight benchmark loop shows. This script measures that for the
turn's two model calls (``understanding.text_analyze`` + ``understanding.faq_match``, exactly
what ``turn_handle`` calls) on the demo KB: each held-out question is run after a sleep of
0, 1, 5, 20 and 100 ms (every question at every gap, the gaps in random order, so every gap
sees the same questions and the same machine load), and the calling thread's CPU time is
reported per gap.

    python bench/turn_idle_cost.py [--rounds 2]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kb_common import percentile, setup_django

GAPS_MS = (0, 1, 5, 20, 100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="passes over the held-out questions")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.utils import timezone

    from conversations.services import understanding
    from knowledge.evaluation import read_eval_rows
    from knowledge.services import demo_kb_load
    from nlp.services import demo_intents_load

    call_command("migrate", verbosity=0)
    demo_kb_load()
    demo_intents_load()
    call_command("nlu_train", "--activate", stdout=open(os.devnull, "w"))
    understanding.warm_up()
    questions = [row["query"] for row in read_eval_rows(Path(__file__).resolve().parent / "data" / "demo_kb_eval.jsonl")]
    for question in questions:  # first use of each path: caches, lazy structures
        understanding.faq_match(understanding.text_analyze(question, now=timezone.now()))

    cpu: dict[int, list[float]] = {gap: [] for gap in GAPS_MS}
    order = random.Random(0)
    for _ in range(args.rounds):
        for i, question in enumerate(questions):
            for gap in order.sample(GAPS_MS, len(GAPS_MS)):  # every question at every gap, in random order
                if gap:
                    time.sleep(gap / 1000)
                else:  # back to back: another question runs just before, as in a tight loop
                    understanding.faq_match(understanding.text_analyze(questions[i - 1], now=timezone.now()))
                started = time.thread_time()
                understanding.faq_match(understanding.text_analyze(question, now=timezone.now()))
                cpu[gap].append((time.thread_time() - started) * 1000)

    print(f"analysis + FAQ match, thread CPU per question (ms), {args.rounds} passes over {len(questions)} questions, every question at every gap\n")
    print("| idle before the question | n | mean | p50 | p90 | × back to back (mean) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base = sum(cpu[0]) / len(cpu[0])
    for gap in GAPS_MS:
        values = cpu[gap]
        mean = sum(values) / len(values)
        label = "none (back to back)" if gap == 0 else f"{gap} ms"
        print(f"| {label} | {len(values)} | {mean:.2f} | {percentile(values, 50):.2f} | {percentile(values, 90):.2f} | {mean / base:.2f} |")


if __name__ == "__main__":
    main()
