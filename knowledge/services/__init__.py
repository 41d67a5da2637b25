"""Writes to the knowledge base. Every change to entries goes through here so revisions,
index sync and dictionary refresh happen in one place."""
from .entries import EntryData, category_get_or_create_path, entry_upsert
from .demo import demo_kb_load

__all__ = ["EntryData", "category_get_or_create_path", "entry_upsert", "demo_kb_load"]
