"""Start-up warm-up shared by the ASGI and WSGI entry points."""
import gc
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
        frozen = _gc_freeze()
        logger.info("csbot warm-up finished in %.1f s (%d objects moved out of the cyclic GC's reach)", seconds, frozen)
    except Exception:  # noqa: BLE001 - a cold model must not keep the server from starting
        logger.exception("csbot warm-up failed; models will load on first use")


def _gc_freeze() -> int:
    """Move every object alive after the warm-up (jieba's dictionary, the intent model, the
    KB index and matcher, Django's import graph: ~190k objects) into the permanent
    generation, so the cyclic collector stops walking them.

    Without it each full collection walked them all, ~80 ms with the GIL held while every
    socket of the process waited (~13 ms after the freeze; measured in process, too rare to
    show in the chat bench: bench/results/chat.md, session 9). Reference counting still frees frozen objects;
    only cycles among them (a replaced KB index holding a reference to itself) stay until
    the process ends. Returns how many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
