"""KB search backend: the local in-process index unless ELASTICSEARCH_URL is set."""
from .env import env

ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
CSBOT_SEARCH_BACKEND = env.str("CSBOT_SEARCH_BACKEND", default="elasticsearch" if ELASTICSEARCH_URL else "local")
# Name of the alias that always points at the live versioned index.
ELASTICSEARCH_INDEX_ALIAS = env.str("ELASTICSEARCH_INDEX_ALIAS", default="csbot-kb")
# Seconds before a search request gives up and the local index answers instead.
ELASTICSEARCH_TIMEOUT = env.float("ELASTICSEARCH_TIMEOUT", default=2.0)
