"""``manage.py nlu_train_encoder``: train the matcher's sentence encoder on a deployment's own paraphrase pairs.

Thin: arguments → ``nlp.matcher.encoder.encoder_train_from_file``. The result is a directory
to point ``NLP_EMBEDDING_MODEL`` at; nothing is activated by the command itself.
"""
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from nlp.matcher.encoder import EncoderConfig, PairsError, encoder_train_from_file, is_encoder_dir


class Command(BaseCommand):
    help = "用同义问法对（如聊天记录中整理出的问法对）训练知识库匹配用的句向量编码器"

    def add_arguments(self, parser):
        parser.add_argument(
            "--pairs", required=True, action="append",
            help="问法对文件，可重复：TSV（text_a<TAB>text_b[<TAB>label]，可带表头，label 为 0 的行跳过）、"
            "JSONL（{\"a\": …, \"b\": …}），或 kb_export 导出的 JSONL（标准问题与每个相似问法成对）",
        )
        parser.add_argument("--out", help="保存目录（默认 CSBOT_MODEL_DIR/encoders/<时间戳>）")
        parser.add_argument("--epochs", type=int, default=EncoderConfig.epochs, help=f"训练轮数（默认 {EncoderConfig.epochs}）")
        parser.add_argument("--dim", type=int, default=EncoderConfig.dim, help=f"向量维数（默认 {EncoderConfig.dim}）")
        parser.add_argument("--seed", type=int, default=EncoderConfig.seed, help="随机种子（相同数据和种子得到相同模型）")
        parser.add_argument("--force", action="store_true", help="允许覆盖 --out 中已有的编码器")

    def handle(self, *args, **options):
        if options["epochs"] < 1 or options["dim"] < 2:
            raise CommandError("--epochs 至少为 1，--dim 至少为 2")
        if options["out"]:
            out = Path(options["out"])
        else:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            out = Path(settings.CSBOT_MODEL_DIR) / "encoders" / stamp
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out 不是目录：{out}")
        if is_encoder_dir(out) and not options["force"]:
            raise CommandError(f"{out} 中已有编码器；换一个目录，或加 --force 覆盖")
        config = EncoderConfig(epochs=options["epochs"], dim=options["dim"], seed=options["seed"])
        verbose = options["verbosity"] >= 2
        try:
            encoder = encoder_train_from_file(
                options["pairs"], out, config, progress=(lambda msg: self.stdout.write(f"  {msg}")) if verbose else None,
            )
        except PairsError as exc:
            raise CommandError(str(exc)) from exc
        s = encoder.summary
        self.stdout.write(f"编码器已保存到 {out}")
        self.stdout.write(
            f"{s['pairs']} 对问法（跳过 {s['skipped_pairs']} 对），{s['vocab']} 个字符 n-gram，{config.dim} 维，"
            f"{config.epochs} 轮，最终 loss {s['loss_by_epoch'][-1]:.3f}，用时 {s['train_seconds']:.1f} 秒；"
            f"启用：NLP_EMBEDDING_MODEL={out}"
        )
