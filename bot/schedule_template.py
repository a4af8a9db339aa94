"""The schedule template (`bot schedule template`): every column, one example row per kind of
call, ready to fill in a spreadsheet and import (CSV or XLSX)."""

from __future__ import annotations

import csv
import io

from bot.i18n.catalogs import LANGUAGES

COLUMNS = (
    "id",
    "kind",
    "country",
    "starts",
    "time_zone",
    "duration",
    "join_url",
    "meeting_id",
    "passcode",
    "dial_in",
    *(f"title_{language}" for language in LANGUAGES),
    *(f"agenda_{language}" for language in LANGUAGES),
)

# What each column holds, for `bot schedule import --help`.
HELP = {
    "id": "letters, digits, - and _; importing again updates the event with this id",
    "kind": "national, international or ga",
    "country": "national calls only: BR, CI, GH, ID, MM, TH or VN",
    "starts": "2027-07-29 14:00 with a time_zone, or 2027-07-29T14:00:00+07:00",
    "time_zone": "e.g. Asia/Bangkok, America/Sao_Paulo, UTC (when starts has no offset)",
    "duration": "minutes (default 90)",
    "join_url": "https://...",
    "meeting_id, passcode": "as the participants type them",
    "dial_in": "TH:+66 2 555 0101|+66 2 555 0102;VN:+84 24 5555 0101",
    ", ".join(f"title_{language}" for language in LANGUAGES): "the title per language; en needed",
    ", ".join(f"agenda_{language}" for language in LANGUAGES): "the agenda per language",
}

EXAMPLES = (
    {
        "id": "th-national-1",
        "kind": "national",
        "country": "TH",
        "starts": "2027-07-29 14:00",
        "time_zone": "Asia/Bangkok",
        "duration": "90",
        "join_url": "https://meet.example.org/th-1",
        "meeting_id": "811 5520 127",
        "passcode": "202727",
        "dial_in": "TH:+66 2 555 0101|+66 2 555 0102",
        "title_en": "National call 1",
        "title_th": "ประชุมระดับประเทศ ครั้งที่ 1",
        "agenda_en": "Learn the video call tool. The GA and the election.",
    },
    {
        "id": "international-1",
        "kind": "international",
        "starts": "2027-08-05T12:00:00Z",
        "duration": "120",
        "join_url": "https://meet.example.org/international-1",
        "meeting_id": "831 777 2017",
        "passcode": "intl1",
        "dial_in": "TH:+66 2 555 0111;VN:+84 24 5555 0111;BR:+55 11 5550 0111",
        "title_en": "International call 1",
        "agenda_en": "Smallholders from every country, with interpreters.",
    },
    {
        "id": "ga-2027",
        "kind": "ga",
        "starts": "2027-09-23 12:00",
        "time_zone": "UTC",
        "duration": "240",
        "join_url": "https://meet.example.org/ga-2027",
        "title_en": "General Assembly 2027",
    },
)


def template_csv() -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheets keep Thai and Burmese intact."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(EXAMPLES)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """Every cell is text, so a spreadsheet never turns a time into its own date format."""
    # Imported here: `bot` reads this module's column help at start, for every command.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "events"
    sheet.append(COLUMNS)
    for example in EXAMPLES:
        sheet.append([example.get(column) for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(len(str(cell.value)) + 2, 14)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FORMATS = {"csv": template_csv, "xlsx": template_xlsx}
