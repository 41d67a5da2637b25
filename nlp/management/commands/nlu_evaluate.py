"""``manage.py nlu_evaluate PATH [--json]``: evaluate the active (or a given) model version on a labelled file."""
import json

from django.core.management.base import BaseCommand, CommandError

from csbot.errors import ApplicationError
from nlp.models import ModelVersion
from nlp.services.training import model_evaluate


class Command(BaseCommand):
    help = "在标注文件（TSV 或 JSONL，含 text 与 label）上评估当前意图模型"

    def add_arguments(self, parser):
        parser.add_argument("path", help="评估数据文件")
        parser.add_argument("--json", action="store_true", help="输出一个 JSON 对象")
        parser.add_argument("--model-version", dest="model_version", type=int, help="评估指定的模型版本（默认当前模型）")
        parser.add_argument("--no-save", action="store_true", help="不把报告保存到模型版本（默认保存，可在后台查看）")

    def handle(self, *args, **options):
        version = None
        if options["model_version"] is not None:
            version = ModelVersion.objects.filter(pk=options["model_version"]).first()
            if version is None:
                raise CommandError(f"模型版本 #{options['model_version']} 不存在")
        try:
            report = model_evaluate(path=options["path"], version=version, save=not options["no_save"])
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        w = self.stdout.write
        w(f"模型版本 #{report['version']}，{report['n']} 条：准确率 {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  ECE {report.get('ece', 0):.4f}")
        w("")
        w(f"{'意图':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for name, row in sorted(report["per_intent"].items()):
            w(f"{name:<20}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9}")
        if report["confusions"]:
            w("")
            w("最常见的混淆（真实 → 预测）：")
            for c in report["confusions"]:
                w(f"  {c['true']} → {c['predicted']}: {c['count']}")
