"""Answers are written in Markdown by managers and shown as HTML to visitors and agents.

``render_answer`` is the one place Markdown becomes HTML: the output passes nh3 (an HTML
sanitiser) with a small allow-list, so an answer can never carry scripts, event handlers or
``javascript:`` links into the widget or the admin, whoever wrote it.
"""
from __future__ import annotations

import re

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "img", "span",
}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
_EXTENSIONS = ["extra", "sane_lists", "nl2br"]


def render_answer(text: str) -> SafeString:
    """Markdown → sanitised HTML that is safe to insert into any page unescaped.

    Raw HTML in the Markdown is sanitised too (kept only when on the allow-list); links get
    ``rel="noopener noreferrer nofollow"`` and only http(s)/mailto/tel URLs survive.
    """
    html = markdown.markdown(text or "", extensions=_EXTENSIONS, output_format="html")
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # sanitised by nh3 just above


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"(\*\*|__|[*_`#>|~])")


def answer_plain_text(text: str) -> str:
    """An answer's words without Markdown markup (what its sentence embedding is taken of).

    Links keep their label, emphasis/heading/quote/table markers go; the arrows and list
    numbers managers write stay, as they read in the widget.
    """
    return _MARKUP.sub("", _LINK.sub(r"\1", text or "")).strip()
