"""Writes to the knowledge base. Every change to entries goes through here so revisions,
index sync and cache refresh happen in one place."""
from .demo import demo_kb_load
from .entries import (
    KEEP,
    EntryData,
    category_get_or_create_path,
    entries_set_status,
    entry_upsert,
)
from .revisions import (
    entry_delete,
    entry_record_change,
    entry_snapshot,
    revision_restore,
)
from .thresholds import threshold_set
from .transfer import ImportPlan, format_from_name, kb_export, kb_import, kb_import_plan

__all__ = [
    "KEEP",
    "EntryData",
    "ImportPlan",
    "category_get_or_create_path",
    "demo_kb_load",
    "entries_set_status",
    "entry_delete",
    "entry_record_change",
    "entry_snapshot",
    "entry_upsert",
    "format_from_name",
    "kb_export",
    "kb_import",
    "kb_import_plan",
    "revision_restore",
    "threshold_set",
]
