"""Makes the app's fixtures available to its own tests (other apps can list
``conversations.tests.fixtures`` in the root ``pytest_plugins``)."""
from conversations.tests.fixtures import *  # noqa: F401,F403
