"""``manage.py kb_import PATH``: upsert FAQ entries from CSV / XLSX / JSONL (format from the extension)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from csbot.errors import ApplicationError
from knowledge.services import format_from_name, kb_import


class Command(BaseCommand):
    help = "导入 FAQ（CSV/XLSX/JSONL，按 id 新建或更新）；文件有任何错误时不写入任何数据"

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="只校验并显示将发生的变化，不写入")

    def handle(self, *args, path: str, dry_run: bool, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            plan = kb_import(file.read_bytes(), format_from_name(file.name), dry_run=dry_run)
        except ApplicationError as exc:
            for line in exc.extra.get("errors", []):
                self.stderr.write(f"  第 {line}")
            raise CommandError(exc.detail) from exc
        counts = plan.counts
        verb = "将" if dry_run else "已"
        self.stdout.write(f"{verb}新建 {counts['create']} 条，{verb}更新 {counts['update']} 条，未变 {counts['unchanged']} 条")
