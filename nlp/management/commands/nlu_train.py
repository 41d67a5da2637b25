"""``manage.py nlu_train``: train a new intent-model version (thin: arguments → ``model_train``)."""
import json

from django.core.management.base import BaseCommand, CommandError

from csbot.errors import ApplicationError
from nlp.classifier import BACKENDS, DEFAULT_BACKEND
from nlp.services.training import active_version, model_train


class Command(BaseCommand):
    help = "训练新的意图模型版本（默认使用数据库中已启用意图的例句）"

    def add_arguments(self, parser):
        parser.add_argument("--data", help="训练数据：TSV（表头含 text 和 label 列）或 JSONL（text、label 键）；不填则用数据库中的例句")
        parser.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKENDS, help=f"算法（默认 {DEFAULT_BACKEND}）")
        parser.add_argument("--activate", action="store_true", help="训练成功后设为当前模型")
        parser.add_argument("--if-none-active", action="store_true", help="已有启用的模型时什么都不做（make run 使用）")
        parser.add_argument("--config", default="", help='后端参数 JSON，例如 \'{"epochs": 10}\'')

    def handle(self, *args, **options):
        if options["if_none_active"]:
            current = active_version()
            if current is not None:
                self.stdout.write(f"已有启用的意图模型 #{current.pk}（{current.backend}），跳过训练")
                return
        try:
            config = json.loads(options["config"]) if options["config"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config 不是合法的 JSON：{exc}") from exc
        verbose = options["verbosity"] >= 2
        try:
            version = model_train(
                backend=options["backend"], data_path=options["data"], activate=options["activate"], config=config,
                progress=(lambda msg: self.stdout.write(f"  {msg}")) if verbose else None,
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        m = version.metrics
        parts = [f"模型版本 #{version.pk}（{version.backend}）：{version.n_intents} 个意图，{version.n_examples} 条例句，训练 {version.training_seconds:.1f} 秒"]
        if "accuracy" in m:
            parts.append(f"留出评估（{m.get('n_heldout')} 条）：准确率 {m['accuracy']:.3f}，macro-F1 {m['macro_f1']:.3f}，ECE {m.get('ece', 0):.3f}")
        parts.append("已设为当前模型" if version.is_active else "未启用（在后台“意图模型版本”中设为当前模型，或加 --activate）")
        for line in parts:
            self.stdout.write(line)
