"""``manage.py kb_export PATH``: write every entry to CSV / XLSX / JSONL (format from the extension)."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from csbot.errors import ApplicationError
from knowledge.models import Entry
from knowledge.services import format_from_name, kb_export


class Command(BaseCommand):
    help = "导出全部 FAQ 到 CSV/XLSX/JSONL 文件（可再次导入）"

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        try:
            fmt = format_from_name(path)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        Path(path).write_bytes(kb_export(fmt))
        self.stdout.write(f"已导出 {Entry.objects.count()} 条到 {path}")
