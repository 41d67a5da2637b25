"""Start-up warm-up shared by the ASGI and WSGI entry points."""
import logging

logger = logging.getLogger(__name__)


def warm_up_if_enabled() -> None:
    """Load jieba, the intent model and the KB matcher before the process serves.

    Loading holds the GIL for seconds; done lazily on the first visitor message it would
    stall every other socket of a daphne process. ``CSBOT_WARM_UP=0`` turns it off.
    A failure is logged, never fatal: the chat falls back to lazy loading.
    """
    from django.conf import settings

    if not settings.CSBOT_WARM_UP:
        return
    try:
        from conversations.services.understanding import warm_up

        seconds = warm_up()
        logger.info("csbot warm-up finished in %.1f s", seconds)
    except Exception:  # noqa: BLE001 - a cold model must not keep the server from starting
        logger.exception("csbot warm-up failed; models will load on first use")
