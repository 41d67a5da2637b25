"""Starting and opening visitor sessions (= conversations) and their tokens."""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csbot.errors import ApplicationError

from ..enums import Channel
from ..models import Conversation, SiteKey, Visitor
from ..selectors import conversation_for_token, site_key_active, token_hash
from .ratelimit import rate_limit_hit


@dataclass(frozen=True)
class SessionGrant:
    """A conversation and the plaintext token proving ownership (only known at creation)."""

    conversation: Conversation
    token: str | None
    created: bool


def _visitor_for(user_id: str | None) -> Visitor:
    now = timezone.now()
    if not user_id:
        return Visitor.objects.create(last_seen_at=now)
    try:
        with transaction.atomic():
            visitor, _created = Visitor.objects.get_or_create(external_id=user_id, defaults={"last_seen_at": now})
    except IntegrityError:  # another request created it between the get and the create
        visitor = Visitor.objects.get(external_id=user_id)
    Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)
    return visitor


def session_start(
    *, channel: str = Channel.API, site_key: SiteKey | None = None, user_id: str | None = None, client_ip: str | None = None
) -> SessionGrant:
    """Create a visitor (or find the host site's user ``user_id``) and a new conversation.

    Returns the only copy of the session token; its SHA-256 is stored. Limited per client IP
    (``CSBOT_RATE_LIMIT_SESSIONS``), raising ``rate_limited`` (429).
    """
    if client_ip:
        rate_limit_hit(
            "session", client_ip, getattr(settings, "CSBOT_RATE_LIMIT_SESSIONS", "30/60"), detail=_("新建会话太频繁，请稍后再试")
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        visitor = _visitor_for((user_id or "").strip() or None)
        conversation = Conversation.objects.create(
            visitor=visitor, site_key=site_key, channel=channel, token_hash=token_hash(token), last_activity_at=timezone.now()
        )
    return SessionGrant(conversation=conversation, token=token, created=True)


def origin_check(*, site: SiteKey, origin: str | None, own_origin: str | None) -> None:
    """Refuse a browser page the site key does not allow (``origin_not_allowed``, 403).

    csbot's own pages (same origin as the server, such as the demo page) may use any key;
    a request without an Origin header is not a browser page and is refused too, since the
    widget always sends one.
    """
    if not origin:
        raise ApplicationError("origin_not_allowed", _("缺少来源（Origin），请从网页中使用客服组件"), status=403)
    if own_origin and origin.rstrip("/").lower() == own_origin.rstrip("/").lower():
        return
    if not site.origin_allowed(origin):
        raise ApplicationError("origin_not_allowed", _("该网站未被允许使用此站点密钥：%(origin)s") % {"origin": origin}, status=403)


def widget_session_open(
    *,
    site_key: str | None,
    origin: str | None,
    own_origin: str | None = None,
    session_id: uuid.UUID | str | None = None,
    token: str | None = None,
    client_ip: str | None = None,
) -> SessionGrant:
    """What the chat socket does on connect: check the site and origin, then resume the
    visitor's session (with its token) or start a new one.

    Raises ``site_not_found`` (404), ``origin_not_allowed`` (403), ``session_not_found``
    (404, also for a session of another site), ``token_required`` (401), ``invalid_token``
    (403) or ``rate_limited`` (429).
    """
    site = site_key_active(site_key)
    origin_check(site=site, origin=origin, own_origin=own_origin)
    if session_id:
        conversation = conversation_for_token(session_id=session_id, token=token)
        if conversation.site_key_id != site.pk:
            raise ApplicationError("session_not_found", _("会话不存在"), status=404)
        return SessionGrant(conversation=conversation, token=None, created=False)
    return session_start(channel=Channel.WEB, site_key=site, client_ip=client_ip)
