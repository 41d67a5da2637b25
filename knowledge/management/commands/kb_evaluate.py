"""``manage.py kb_evaluate PATH --json``: recall, MRR and answer precision on labelled questions."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.evaluation import kb_evaluate, read_eval_rows


class Command(BaseCommand):
    help = '评估检索与匹配：PATH 为 JSONL，每行 {"query": ..., "expected": 条目编号或 null}'

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象（含逐条结果）")

    def handle(self, *args, path: str, **options):
        try:
            rows = read_eval_rows(Path(path))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        report = kb_evaluate(rows)
        if options["json"]:
            self.stdout.write(_dumps(report))
            return
        for key in ("n", "recall_at_1", "recall_at_3", "mrr", "answer_rate", "answer_precision", "suggest_rate", "oos_false_answer_rate", "latency_ms_p50"):
            self.stdout.write(f"{key:>24}: {report[key]}")


def _dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False)
