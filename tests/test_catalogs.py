"""The seven catalogs: complete, consistent with the code and flows, and really loaded."""

from __future__ import annotations

import gettext

import pytest

from bot.i18n.catalogs import LANGUAGES, SOURCE_LANGUAGE, read_catalog, translations
from bot.i18n.tools import PLURAL_FORMS, _check_catalog, check, extract


def test_every_catalog_is_complete_and_consistent() -> None:
    problems = check()
    assert not problems, "\n".join(map(str, problems))


def test_extraction_finds_messages_in_code_and_in_flow_files() -> None:
    template = extract()
    sources = {location[0].split("/")[0] for message in template for location in message.locations}
    assert {"bot", "flows"} <= sources
    assert "Menu: what would you like to do?" in template  # flows/menu.yaml
    assert "You will get no more messages from GPSNR. To start again, send START." in template
    comments = template[
        "Reply with the number of your choice. You can send these words any time: "
        "MENU for the menu, LANGUAGE to change language, STOP to stop messages. "
        "Your Country Champion can also help you."
    ].auto_comments
    assert any("keywords" in c for c in comments)  # the translator comment travels


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_each_language_is_really_loaded(language: str) -> None:
    """A missing catalog silently falls back to English: make sure that is not what happens."""
    loaded = translations(language)
    assert isinstance(loaded, gettext.GNUTranslations)
    assert loaded.gettext("Change language") != "Change language"


def test_the_checker_catches_each_kind_of_mistake() -> None:
    template = extract()
    catalog = read_catalog("th")
    first, second, third, fourth = [m for m in catalog if m.id][:4]
    first.string = ""
    second.flags.add("fuzzy")
    third.string = third.string + " %(oops)s"
    catalog.delete(fourth.id)
    issues = {p.issue.split(" ")[0] for p in _check_catalog("th", catalog, template)}
    assert {"untranslated", "fuzzy", "placeholders", "missing"} <= issues


def test_plural_headers_follow_cldr() -> None:
    # pybabel writes two plural forms for Burmese and Indonesian; CLDR has one.
    assert PLURAL_FORMS["my"].startswith("nplurals=1")
    assert PLURAL_FORMS["id"].startswith("nplurals=1")
    for language in LANGUAGES:
        assert read_catalog(language).num_plurals == int(PLURAL_FORMS[language][9])


def test_every_text_a_flow_can_show_is_extracted(flows) -> None:  # type: ignore[no-untyped-def]
    """Catches an extractor that skips a key: the text would show in English everywhere."""
    template = extract()
    shown = set()
    for flow in flows.flows.values():
        for step in flow.steps.values():
            specs = [step.text, step.label, *(o.label for o in step.options)]
            shown |= {s.msgid for s in specs if s is not None and s.msgid is not None}
    missing = sorted(m for m in shown if m not in template)
    assert not missing, missing


def test_parameter_sources_in_flow_files_are_not_taken_for_text() -> None:
    """`params: {text: "$fact statement_text"}` names a value; it is not something to translate."""
    assert not [m.id for m in extract() if isinstance(m.id, str) and m.id.startswith("$")]
