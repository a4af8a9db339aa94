"""`bot schedule ...` as the Secretariat uses it: files that come from spreadsheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import _bot

GA = "    kind: ga\n    starts: 2027-09-23T12:00:00Z\n    title: {en: General Assembly}\n"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    assert _bot("db", "upgrade", tmp_path=tmp_path).returncode == 0
    return tmp_path


@pytest.mark.parametrize(
    ("written", "shown"),
    [('"th-nl-1\\n"', "'th-nl-1\\n'"), ('"th nl 1"', "'th nl 1'"), ("th.nl.1", "'th.nl.1'")],
)
def test_an_id_is_letters_digits_dashes_and_underscores_only(
    db: Path, written: str, shown: str
) -> None:
    path = db / "schedule.yaml"
    path.write_text(f"events:\n  - id: ga-1\n{GA}  - id: {written}\n{GA}", encoding="utf-8")
    result = _bot("schedule", "import", str(path), tmp_path=db)
    assert result.returncode == 1
    assert f"schedule.yaml: line 6: id: {shown}: only letters, digits, - and _" in result.stderr
    assert "nothing was imported" in result.stderr
