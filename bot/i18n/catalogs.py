"""The gettext catalogs, read from the .po files under locales/.

The .po files are compiled in memory when first needed, so a deployment never runs on stale
.mo files and fuzzy entries are never shown (Babel skips them when compiling).
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.paths import data_dir

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "pt_BR", "fr", "id", "my", "th", "vi")
DOMAIN = "messages"


def po_path(language: str, locales: Path | None = None) -> Path:
    return (locales or data_dir("locales")) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str, locales: Path | None = None) -> Catalog:
    with po_path(language, locales).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


@cache
def translations(language: str | None) -> gettext.NullTranslations:
    """The language's translations; English (the msgids) for an unknown language."""
    if language not in LANGUAGES:
        return gettext.NullTranslations()
    try:
        catalog = read_catalog(language)
    except FileNotFoundError:
        log.error("no catalog for %s: answering in English", language)
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def match_language(code: str | None) -> str | None:
    """One of our languages for a tag like Telegram's `pt-br` or `fr`, else None."""
    if not code:
        return None
    tag = code.replace("-", "_").lower()
    base = tag.split("_")[0]
    if base == "pt":
        return "pt_BR"  # our Portuguese speakers are Brazilian
    return next((lang for lang in LANGUAGES if lang.lower() == base), None)
