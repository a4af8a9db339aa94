"""Languages: the gettext catalogs, Babel formatting in the reader's locale, extraction."""

from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE, translations
from bot.i18n.formatting import Reader

__all__ = ["LANGUAGES", "SOURCE_LANGUAGE", "Reader", "translations"]
