"""Settings package: ``base`` holds everything and is driven by environment variables.

``base`` star-imports the integration blocks (``channels``, ``celery``, ``search``) at its end;
``test`` only makes the test run faster. Nothing exists only in production.
"""
