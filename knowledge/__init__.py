"""The FAQ knowledge base: categories, entries, similar questions, synonyms; search backends,
indexing tasks, import/export and the managers' admin tools."""
