"""``manage.py kb_reindex``: rebuild the search index from the database.

Elasticsearch: a new versioned index, bulk-loaded, then the alias is swapped atomically and
the old indices deleted (searches keep working throughout). Local backend: rebuilds this
process's index (other processes refresh by themselves) and trains/persists the matcher.
"""
import json

from django.core.management.base import BaseCommand

from knowledge.matching import current_matcher, matcher_reset
from knowledge.search import get_backend


class Command(BaseCommand):
    help = "重建知识库检索索引（Elasticsearch：新建版本索引并原子切换别名）"

    def handle(self, *args, **options):
        report = get_backend().rebuild()
        matcher_reset()
        matcher = current_matcher(wait=True)
        report["matcher_pairs"] = matcher.model.n_train if matcher else 0
        self.stdout.write(json.dumps(report, ensure_ascii=False))
