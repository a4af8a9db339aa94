"""The exports as the Secretariat opens them: the workbook printed through LibreOffice to PDF,
the CSV opened by LibreOffice.

LibreOffice and poppler are required (.ci/run installs them): without them these tests fail,
they never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.storage.db import make_engine
from tests.test_cli import _bot
from tests.test_export import INJECTIONS, _candidate

SENTENCES = (
    "I have grown rubber for twelve years on five hectares near Ilhéus with my wife and sons. ",
    "Our group of forty smallholders sells latex together, and I keep its accounts. ",
    "Prices change every week and we never know why; the buyers decide alone. ",
)


def _statement(number: int, paragraphs: int) -> str:
    text = "\n\n".join("".join(SENTENCES * 2).strip() for _ in range(paragraphs))
    return f"{text}\n\nI will report back to every member. END-{number:03d}"


def _export(tmp_path: Path, candidates: int, paragraphs: int) -> tuple[Path, list[str]]:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    texts = []
    for number in range(candidates):
        phone = f"+55739888{number:05d}"
        person = {"name": f"Maria {number}", "place": "Bahia, Ilhéus", "why": "x"}
        _candidate(engine, phone, "BR", "America/Bahia", "pt_BR", person)
        texts.append(_statement(number, paragraphs))
    _set_texts(engine, texts)
    engine.dispose()
    target = tmp_path / "statements.xlsx"
    result = _bot("export", "statements", "-o", str(target), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return target, texts


def _set_texts(engine: object, texts: list[str]) -> None:
    from sqlmodel import Session, col, select

    from bot.storage.models import StatementVersion

    with Session(engine) as db, db.begin():  # type: ignore[call-overload]
        versions = db.exec(select(StatementVersion).order_by(col(StatementVersion.id))).all()
        for version, text in zip(versions, texts, strict=True):
            version.text = text
            db.add(version)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed (apt-get install libreoffice-calc-nogui poppler-utils)")
    return found


def _convert(source: Path, to: str, *options: str) -> Path:
    """LibreOffice's own conversion, with its own profile: runs never share a lock."""
    profile = (source.parent / "lo-profile").as_uri()
    subprocess.run(
        [
            _tool("soffice"),
            f"-env:UserInstallation={profile}",
            "--headless",
            *options,
            "--convert-to",
            to,
            "--outdir",
            str(source.parent),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return source.with_suffix(f".{to}")


def _pdf(xlsx: Path, tmp_path: Path) -> Path:
    return _convert(xlsx, "pdf")


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(
        [_tool("pdftotext"), "-raw", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return text.split("\f")[:-1]  # one form feed after each page


def _squeezed(text: str) -> str:
    return "".join(text.split())


def test_the_workbook_prints_every_sheet_on_one_page_with_the_whole_statement(
    tmp_path: Path,
) -> None:
    xlsx, texts = _export(tmp_path, candidates=2, paragraphs=1)
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Statements", "All", "BR"]
    for sheet in book:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$1"
    printed = book["Statements"]
    assert [c.value for c in printed[1]][-2:] == ["Sent (their time)", "Statement"]
    assert printed["E2"].value == datetime(2027, 8, 21, 4, 30)  # 07:30 UTC in Bahia
    assert printed["E2"].is_date and printed.row_dimensions[2].height >= 15 * 6
    pages = _pages(_pdf(xlsx, tmp_path))
    assert len(pages) == len(book.sheetnames)
    everything = _squeezed("".join(pages))
    for text in texts:
        assert everything.count(_squeezed(text)) == 3  # Statements, All and BR


def test_a_long_export_repeats_the_header_on_every_printed_page(tmp_path: Path) -> None:
    xlsx, texts = _export(tmp_path, candidates=10, paragraphs=2)
    pages = _pages(_pdf(xlsx, tmp_path))
    printed = [page for page in pages if page.rstrip().splitlines()[0].startswith("Statements,")]
    assert 2 <= len(printed) <= len(texts) // 2, len(printed)  # and not one page a statement
    for page in printed:
        lines = page.strip().splitlines()
        assert lines[1].startswith("Candidate Country Region Version Sent (their time)"), lines
    first_sheet = _squeezed("".join(printed))
    assert all(_squeezed(text) in first_sheet for text in texts)


def test_the_csv_shows_phones_without_a_guard_and_keeps_it_for_typed_text(tmp_path: Path) -> None:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    answers = {"name": "สมชาย สุขใจ", "role": INJECTIONS[0], "challenges": "+1+1", "why": "x"}
    _candidate(engine, "+66812345678", "TH", "Asia/Bangkok", "th", answers)
    engine.dispose()
    full, masked = tmp_path / "full.csv", tmp_path / "masked.csv"
    assert _bot("export", "statements", "-o", str(masked), tmp_path=tmp_path).returncode == 0
    done = _bot("export", "statements", "-o", str(full), "--with-contacts", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    utf8 = "CSV:44,34,76,1"  # comma, double quote, UTF-8, from line 1
    sheet = load_workbook(_convert(full, "xlsx", f"--infilter={utf8}")).active
    assert sheet is not None
    opened = {str(h.value): c.value for h, c in zip(sheet[1], sheet[2], strict=True)}
    assert opened["phone"] == "66 81 234 5678"  # text as written: no apostrophe, no number
    assert opened["name"] == "สมชาย สุขใจ" and opened["version"] == 1
    assert opened["submitted_at_utc"] == "2027-08-21T07:30:00+00:00"
    assert opened["role"] == "'" + INJECTIONS[0] and opened["challenges"] == "'+1+1"
    plain = load_workbook(_convert(masked, "xlsx", f"--infilter={utf8}")).active
    assert plain is not None and plain["G2"].value == "66•••••5678"
