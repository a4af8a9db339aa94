"""Catalog maintenance: extract every msgid, merge into the .po files, and check them.

`bot i18n update` runs extract + merge; `bot i18n check` (and the test suite) fails on an
untranslated or fuzzy entry, a placeholder mismatch, a wrong plural header, or a catalog that
does not compile.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE, po_path, read_catalog
from bot.i18n.extract import COMMENT_TAGS, KEYWORDS

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%[sdif]|%%")
# CLDR plural categories, written as gettext headers. pybabel init gets my and id wrong (2).
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "pt_BR": "nplurals=2; plural=(n > 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "id": "nplurals=1; plural=0;",
    "my": "nplurals=1; plural=0;",
    "th": "nplurals=1; plural=0;",
    "vi": "nplurals=1; plural=0;",
}


def extract(root: Path = ROOT) -> Catalog:
    """Every msgid in the code and the flow files, as a template catalog."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog(project="gpsnr-smallholder-bot", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=lambda path: ".venv" not in Path(path).parts,
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update(root: Path = ROOT) -> list[str]:
    """Write messages.pot and merge it into every catalog; returns the files written."""
    template = extract(root)
    locales = root / "locales"
    _write(template, locales / "messages.pot")
    written = []
    for language in LANGUAGES:
        path = po_path(language, locales)
        catalog = read_catalog(language, locales) if path.exists() else _new_catalog(language)
        # update() shares Message objects with the template: give each catalog its own copy.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == SOURCE_LANGUAGE:
            _fill_source(catalog)
        _write(catalog, path, plural_forms=PLURAL_FORMS[language])
        written.append(str(path.relative_to(root)))
    return written


@dataclass(frozen=True)
class Problem:
    language: str
    msgid: str
    issue: str

    def __str__(self) -> str:
        return f"{self.language}: {self.issue}: {self.msgid!r}"


def check(root: Path = ROOT) -> list[Problem]:
    template = extract(root)
    problems: list[Problem] = []
    for language in LANGUAGES:
        try:
            catalog = read_catalog(language, root / "locales")
        except FileNotFoundError:
            problems.append(Problem(language, "", "catalog missing"))
            continue
        problems.extend(_check_catalog(language, catalog, template))
    return problems


def _check_catalog(language: str, catalog: Catalog, template: Catalog) -> list[Problem]:
    problems = []
    header = catalog.mime_headers and dict(catalog.mime_headers).get("Plural-Forms", "")
    if header != PLURAL_FORMS[language]:
        problems.append(Problem(language, "", f"Plural-Forms should be {PLURAL_FORMS[language]}"))
    expected_forms = int(PLURAL_FORMS[language].split(";")[0].split("=")[1])
    for wanted in template:
        if not wanted.id:
            continue
        found = catalog.get(wanted.id, context=wanted.context)
        key = _first(wanted.id)
        if found is None:
            problems.append(Problem(language, key, "missing"))
            continue
        problems.extend(Problem(language, key, issue) for issue in _issues(found, expected_forms))
    try:
        write_mo(io.BytesIO(), catalog, use_fuzzy=False)
    except Exception as error:  # compiling is the last word on a catalog's health
        problems.append(Problem(language, "", f"does not compile: {error}"))
    return problems


def _issues(message: Message, plural_forms: int) -> list[str]:
    issues = []
    if message.fuzzy:
        issues.append("fuzzy")
    translations = (
        list(message.string) if isinstance(message.string, tuple | list) else [message.string]
    )
    if message.pluralizable and len(translations) != plural_forms:
        issues.append(f"{len(translations)} plural forms instead of {plural_forms}")
    if not all(translations):
        issues.append("untranslated")
        return issues
    wanted = {p for p in PLACEHOLDER.findall(_first(message.id)) if p}
    for text in translations:
        found = {p for p in PLACEHOLDER.findall(text or "") if p}
        if found != wanted:
            issues.append(f"placeholders {sorted(found)} instead of {sorted(wanted)}")
            break
    return issues


def _first(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _new_catalog(language: str) -> Catalog:
    return Catalog(
        locale=language,
        project="gpsnr-smallholder-bot",
        copyright_holder="GPSNR smallholder assistant contributors",
        fuzzy=False,
    )


def _fill_source(catalog: Catalog) -> None:
    """English is the source: a new entry starts as its own msgid, edits are kept."""
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            if not all(message.string or ()):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id


def _write(catalog: Catalog, path: Path, plural_forms: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=False)
    text = buffer.getvalue().decode("utf-8")
    if plural_forms:
        text = re.sub(r'"Plural-Forms: [^"]*\\n"', f'"Plural-Forms: {plural_forms}\\\\n"', text)
    path.write_text(text, encoding="utf-8")


def set_translations(language: str, translations: dict[str, str], root: Path = ROOT) -> int:
    """Fill in translations by msgid (for scripted edits); returns how many were set."""
    catalog = read_catalog(language, root / "locales")
    done = 0
    for msgid, text in translations.items():
        message = catalog.get(msgid)
        if message is None:
            raise KeyError(f"{language}: no entry {msgid!r}; run `bot i18n update` first")
        message.string = text
        message.flags.discard("fuzzy")
        done += 1
    _write(catalog, po_path(language, root / "locales"), plural_forms=PLURAL_FORMS[language])
    return done
