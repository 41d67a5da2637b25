"""Admin of the handoff app: ModelAdmins (``models``) and the live agent console (``views``)."""
from . import models  # noqa: F401 - registers the ModelAdmins
