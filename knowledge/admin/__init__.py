"""Managers' admin for the knowledge base: model admins plus the import, export and 试一试 views.

``models`` registers the ModelAdmins (which call ``knowledge.services`` for every write);
``views`` holds the custom pages mounted through ``EntryAdmin.get_urls``.
"""
from . import models  # noqa: F401 - registers the ModelAdmins
