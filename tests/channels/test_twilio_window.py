"""WhatsApp's 24-hour window, with the clock moved by hand."""

from __future__ import annotations

from datetime import timedelta

from bot.channels.twilio.window import WINDOW_MARGIN, in_window
from tests.conftest import FIXED_NOW


def test_inside_the_window_until_a_margin_before_24_hours() -> None:
    last = FIXED_NOW
    assert in_window(last, FIXED_NOW + timedelta(hours=23))
    assert in_window(last, FIXED_NOW + timedelta(hours=24) - WINDOW_MARGIN - timedelta(seconds=1))
    assert not in_window(last, FIXED_NOW + timedelta(hours=24) - WINDOW_MARGIN)
    assert not in_window(last, FIXED_NOW + timedelta(hours=25))


def test_someone_who_never_wrote_is_outside() -> None:
    assert not in_window(None, FIXED_NOW)
