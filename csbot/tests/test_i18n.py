"""The English catalogue (locale/en) and the admin language switcher.

The UI's source strings are Chinese; English comes from locale/en/LC_MESSAGES/django.po,
compiled to django.mo (committed, so a machine without GNU gettext still serves English).
These tests keep the catalogue complete, compiled and faithful (placeholders, markup), and
check that the admin actually switches language.
"""
from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

BASE_DIR = Path(settings.BASE_DIR)
PO_PATH = BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
# The same command line as in the README (makemessages -l en --ignore=...).
MAKEMESSAGES_IGNORE = [".venv", "bench", "var", "staticfiles", "node_modules"]

PYTHON_FORMAT = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrx]")
BRACE_FORMAT = re.compile(r"\{\w*(?:![rsa])?(?::[^{}]*)?\}")
HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def load_po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


def is_untranslated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return not entry.msgstr_plural or not all(entry.msgstr_plural.values())
    return not entry.msgstr


def describe(entries: list[polib.POEntry]) -> str:
    return "\n".join(f"  {e.msgid!r} ({', '.join(f'{f}:{n}' for f, n in e.occurrences[:2])})" for e in entries)


def placeholders(text: str, flags: list[str]) -> Counter:
    found = Counter(m.group(0) for m in PYTHON_FORMAT.finditer(text.replace("%%", "")))
    if "python-brace-format" in flags:
        found.update(m.group(0) for m in BRACE_FORMAT.finditer(text))
    return found


def translation_pairs(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source, translation) pairs: singular against msgid, other plural forms against msgid_plural."""
    if entry.msgid_plural:
        return [(entry.msgid if int(i) == 0 else entry.msgid_plural, s) for i, s in sorted(entry.msgstr_plural.items())]
    return [(entry.msgid, entry.msgstr)]


# --- the catalogue file ---------------------------------------------------------------------


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    po = load_po()
    entries = live_entries(po)
    assert len(entries) > 500, "the English catalogue looks truncated"
    untranslated = [e for e in entries if is_untranslated(e)]
    fuzzy = [e for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"untranslated entries in {PO_PATH}:\n{describe(untranslated)}"
    assert not fuzzy, f"fuzzy entries (check, then drop the flag) in {PO_PATH}:\n{describe(fuzzy)}"


def test_catalogue_declares_english_and_its_plural_forms():
    po = load_po()
    assert po.metadata["Language"] == "en" and not po.metadata_is_fuzzy
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    for entry in live_entries(po):
        if entry.msgid_plural:
            assert sorted(int(i) for i in entry.msgstr_plural) == [0, 1], entry.msgid


def test_every_translation_keeps_its_placeholders():
    bad = []
    for entry in live_entries(load_po()):
        for source, translated in translation_pairs(entry):
            if placeholders(source, entry.flags) != placeholders(translated, entry.flags):
                bad.append(f"  {source!r} -> {translated!r}")
    assert not bad, "placeholders differ between msgid and msgstr:\n" + "\n".join(bad)


def test_every_translation_keeps_its_html_tags():
    bad = []
    for entry in live_entries(load_po()):
        for source, translated in translation_pairs(entry):
            if Counter(HTML_TAG.findall(source)) != Counter(HTML_TAG.findall(translated)):
                bad.append(f"  {source!r} -> {translated!r}")
    assert not bad, "HTML tags differ between msgid and msgstr:\n" + "\n".join(bad)


def test_english_text_contains_no_chinese():
    """A Chinese character left in a msgstr is a half-done translation (the source text is Chinese)."""
    han = re.compile(r"[\u4e00-\u9fff]")
    # Examples the user types literally (synonyms of a Chinese product) stay Chinese.
    allowed = {"多个用逗号分隔，例如：退钱，返款"}
    bad = [
        f"  {e.msgid!r} -> {s!r}"
        for e in live_entries(load_po())
        if e.msgid not in allowed
        for _, s in translation_pairs(e)
        if han.search(s)
    ]
    assert not bad, "Chinese left in English translations:\n" + "\n".join(bad)


def test_compiled_catalogue_is_in_sync_with_the_po_file():
    """django.mo is committed: it must be compiled from the current django.po (compilemessages)."""
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run manage.py compilemessages --ignore=.venv"

    def as_dict(entries) -> dict:
        table = {}
        for e in entries:
            if e.msgid == "" or getattr(e, "obsolete", False) or "fuzzy" in e.flags:
                continue
            value = tuple(v for _, v in sorted(e.msgstr_plural.items())) if e.msgid_plural else e.msgstr
            table[(e.msgctxt, e.msgid, e.msgid_plural or None)] = value
        return table

    po_table = as_dict(load_po())
    mo_table = as_dict(polib.mofile(str(MO_PATH)))
    missing = sorted(k[1] for k in po_table.keys() - mo_table.keys())
    stale = sorted(k[1] for k in mo_table.keys() - po_table.keys())
    changed = sorted(k[1] for k in po_table.keys() & mo_table.keys() if po_table[k] != mo_table[k])
    assert not (missing or stale or changed), (
        "django.mo is out of date; run manage.py compilemessages --ignore=.venv\n"
        f"missing from .mo: {missing[:10]}\nonly in .mo: {stale[:10]}\ndifferent: {changed[:10]}"
    )


@pytest.mark.skipif(shutil.which("xgettext") is None or shutil.which("msgmerge") is None, reason="needs GNU gettext (xgettext, msgmerge)")
def test_catalogue_covers_every_string_in_the_source(tmp_path, settings, monkeypatch):
    """Re-extract the strings (makemessages, as the README says) into a scratch copy of the
    catalogue: anything new in the code shows up untranslated or fuzzy there. Fails on purpose
    when someone adds a string without updating locale/en; the fix is the README's
    makemessages + translate + compilemessages."""
    # A scratch tree of symlinks to the project, with its own copy of locale/, so makemessages
    # writes nowhere in the repository.
    for child in BASE_DIR.iterdir():
        if child.name != "locale":
            (tmp_path / child.name).symlink_to(child)
    scratch_po = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    scratch_po.parent.mkdir(parents=True)
    shutil.copy(PO_PATH, scratch_po)
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    monkeypatch.chdir(tmp_path)

    call_command("makemessages", locale=["en"], ignore_patterns=MAKEMESSAGES_IGNORE, symlinks=True, verbosity=0)

    merged = live_entries(polib.pofile(str(scratch_po)))
    assert len(merged) > 500, "makemessages found almost nothing: is the scratch tree right?"
    known = {(e.msgctxt, e.msgid) for e in live_entries(load_po())}
    new = [e for e in merged if (e.msgctxt, e.msgid) not in known or is_untranslated(e) or "fuzzy" in e.flags]
    assert not new, (
        "strings in the code that locale/en/LC_MESSAGES/django.po does not translate yet "
        "(run makemessages -l en, translate, compilemessages; see README):\n" + describe(new)
    )


# --- translations at run time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "english"),
    [
        ("知识库", "Knowledge base"),
        ("会话", "Conversation"),
        ("坐席工作台", "Agent console"),
        ("兜底回复", "Fallback reply"),
        ("满意度", "CSAT"),
        ("csbot 智能客服", "csbot customer service"),
    ],
)
def test_known_strings_come_out_in_english(source, english):
    with translation.override("en"):
        assert translation.gettext(source) == english
    with translation.override("zh-hans"):
        assert translation.gettext(source) == source


def test_placeholders_and_plurals_work_in_english():
    with translation.override("en"):
        assert translation.gettext("客服 %(name)s 已接入，很高兴为您服务。") % {"name": "Amy"} == "Agent Amy has joined and is happy to help you."
        assert translation.ngettext("%(n)s 组", "%(n)s 组", 1) % {"n": 1} == "1 group"
        assert translation.ngettext("%(n)s 组", "%(n)s 组", 3) % {"n": 3} == "3 groups"


def test_model_labels_and_choices_follow_the_active_language():
    from conversations.enums import ConversationStatus
    from knowledge.models import Entry

    with translation.override("en"):
        assert str(Entry._meta.verbose_name) == "FAQ entry"
        assert str(ConversationStatus.QUEUED.label) == "Queued"
    with translation.override("zh-hans"):
        assert str(Entry._meta.verbose_name) == "FAQ 条目"


# --- the admin ------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-root-1"))
    return client


def test_admin_index_is_chinese_by_default(superuser_client):
    html = superuser_client.get(reverse("admin:index")).content.decode()
    assert '<html lang="zh-hans"' in html
    assert "csbot 智能客服" in html and "运营看板" in html and "知识库" in html
    assert "Knowledge base" not in html


def test_admin_index_follows_accept_language_english(superuser_client):
    response = superuser_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert "csbot customer service" in html and "Dashboard" in html and "Knowledge base" in html
    assert "Agent performance" in html  # the dashboard include, translated too
    assert "csbot 智能客服" not in html and "知识库" not in html


def test_switching_language_through_set_language(superuser_client):
    changelist = reverse("admin:knowledge_entry_changelist")

    response = superuser_client.post(reverse("set_language"), {"language": "en", "next": changelist})
    assert response.status_code == 302 and response["Location"] == changelist
    html = superuser_client.get(changelist).content.decode()
    assert "Select FAQ entry to change" in html and "Published" in html and "Try it" in html
    assert "已发布" not in html

    superuser_client.post(reverse("set_language"), {"language": "zh-hans", "next": changelist})
    html = superuser_client.get(changelist).content.decode()
    assert "已发布" in html and "试一试" in html
    assert "Published" not in html


def switcher(html: str) -> str:
    match = re.search(r'<form id="language-form".*?</form>', html, re.S)
    assert match, "no language switcher on the page"
    return match.group(0)


def test_switcher_is_on_the_admin_pages_with_both_languages(superuser_client):
    url = reverse("admin:knowledge_entry_changelist") + "?status__exact=published"
    html = superuser_client.get(url).content.decode()
    form = switcher(html)
    assert f'action="{reverse("set_language")}"' in form and 'method="post"' in form
    assert "csrfmiddlewaretoken" in form
    assert 'name="next" value="/admin/knowledge/entry/?status__exact=published"' in form
    assert re.search(r'value="zh-hans"[^>]*aria-current="true"[^>]*>中文</button>', form)
    assert re.search(r'value="en"[^>]*>English</button>', form)
    # Django's own user links stay next to it.
    assert 'id="logout-form"' in html and reverse("admin:password_change") in html


@pytest.mark.parametrize("url_name", ["admin:index", "admin:handoff_agentconsole_changelist", "admin:knowledge_entry_changelist"])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_of_other_areas_still_render_with_header_and_switcher(superuser_client, url_name, language):
    """base_site.html is shared: the dashboard index and the agent console keep their header."""
    response = superuser_client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    header = "csbot 智能客服" if language == "zh-hans" else "csbot customer service"
    assert f'<div id="site-name"><a href="{reverse("admin:index")}">{header}</a></div>' in html
    switcher(html)


def test_agent_sees_the_switcher_too(agent_user, client):
    client.force_login(agent_user)
    html = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Open the agent console" in html
    switcher(html)


def test_login_page_renders_in_both_languages(client, db):
    assert "csbot 智能客服" in client.get(reverse("admin:login")).content.decode()
    assert "csbot customer service" in client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_model_and_app_names_are_plural_in_english_and_unchanged_in_chinese():
    from django.apps import apps
    from django.utils import translation

    from conversations.models import Conversation
    from knowledge.models import Entry

    with translation.override("en"):
        assert str(Conversation._meta.verbose_name_plural) == "Conversations"
        assert str(Entry._meta.verbose_name_plural) == "FAQ entries"
        assert str(apps.get_app_config("conversations").verbose_name) == "Conversations"
    with translation.override("zh-hans"):
        assert str(Conversation._meta.verbose_name_plural) == "会话"
        assert str(apps.get_app_config("conversations").verbose_name) == "会话"


# --- the agent console's JavaScript (djangojs domain, served by /jsi18n/) -------------------

JS_PO_PATH = PO_PATH.with_name("djangojs.po")
CONSOLE_JS = BASE_DIR / "static" / "handoff" / "console.js"
_JS_GETTEXT = re.compile(r'gettext\("((?:[^"\\]|\\.)*)"\)')
_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_console_string_is_wrapped_and_translated():
    source = CONSOLE_JS.read_text(encoding="utf-8")
    unwrapped = [line for line in source.splitlines() if _HAN.search(_JS_GETTEXT.sub("", line)) and not line.lstrip().startswith(("//", "*", "/*"))]
    assert not unwrapped, "Chinese outside gettext() in console.js:\n" + "\n".join(unwrapped)
    catalogue = {e.msgid: e.msgstr for e in polib.pofile(str(JS_PO_PATH)) if not e.obsolete}
    wanted = set(_JS_GETTEXT.findall(source))
    assert wanted and all(catalogue.get(text) for text in wanted), sorted(t for t in wanted if not catalogue.get(t))
    compiled = {e.msgid: e.msgstr for e in polib.mofile(str(JS_PO_PATH.with_suffix(".mo"))) if e.msgid}
    assert compiled == {k: v for k, v in catalogue.items() if k}, "djangojs.mo is stale: run compilemessages"


@pytest.mark.django_db
def test_the_javascript_catalogue_speaks_the_request_language(client):
    english = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Disconnected, reconnecting" in english and "django.gettext" in english
    chinese = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Disconnected, reconnecting" not in chinese
