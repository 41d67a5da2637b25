"""The curation loop of the knowledge base (issue 7).

- ``grouping``: pure similarity grouping of question texts (character n-gram + jieba TF-IDF).
- ``unanswered``: READS — visitor questions the bot did not answer well, grouped, minus the
  ones a manager already handled; prefill data for a new FAQ (from a group or an agent reply).
- ``actions``: WRITES — create-FAQ bookkeeping, add questions as similar questions of an
  entry (through ``knowledge.services`` so revisions and the index follow), ignore.
- ``evaluation_runs``: re-running a ``kb_evaluate`` file from admin and comparing with the
  previous run of the same file.
"""
