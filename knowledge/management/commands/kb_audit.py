"""``manage.py kb_audit [--json] [--top N] [--min-probability P]``: entries the bot confuses."""
import json

from django.core.management.base import BaseCommand, CommandError

from knowledge.audit import kb_confusions


class Command(BaseCommand):
    help = "找出机器人容易混淆的条目：每个标准问/相似问（隐藏自身）被匹配到其他条目的情况，按条目对汇总"

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--top", type=int, default=20, help="列出的条目对数量（默认 20）")
        parser.add_argument("--examples", type=int, default=3, help="每对列出的例句数量")
        parser.add_argument("--min-probability", type=float, default=0.0, help="只统计错配概率不低于此值的情况（如回答阈值）")

    def handle(self, *args, **options):
        if not 0.0 <= options["min_probability"] <= 1.0:
            raise CommandError("--min-probability 须在 0 到 1 之间")
        if options["top"] < 0 or options["examples"] < 0:
            raise CommandError("--top 与 --examples 不能为负数")
        audit = kb_confusions(min_probability=options["min_probability"])
        report = audit.as_dict(examples=options["examples"])
        report["pairs"] = report["pairs"][: options["top"]]
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        sample = f"（从 {report['total_texts']} 条中抽样）" if report["sampled"] else ""
        self.stdout.write(f"问法 {report['texts']} 条{sample}，其中 {report['confused']} 条被匹配到其他条目（{report['confused_share']:.1%}）")
        for pair in report["pairs"]:
            a, b = pair["a"], pair["b"]
            self.stdout.write(f"\n{pair['count']:>3} 条  {a['id']}「{a['question']}」 ⇄ {b['id']}「{b['question']}」")
            for example in pair["examples"]:
                self.stdout.write(f"      {example['from']} → {example['to']}  p={example['probability']:.2f}  {example['text']}")
