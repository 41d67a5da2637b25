"""The one ``environ.Env`` instance every settings module reads from.

``.env`` in the project root is read when present, so a developer can keep local overrides
out of their shell; real environment variables always win.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
