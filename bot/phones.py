"""Phone numbers: E.164 form, the country and language they suggest, masking for logs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezone

# The seven countries of the smallholder onboarding, and the language we greet them in.
COUNTRY_LANGUAGE = {
    "BR": "pt_BR",
    "CI": "fr",
    "GH": "en",
    "ID": "id",
    "MM": "my",
    "TH": "th",
    "VN": "vi",
}
PROJECT_COUNTRIES = tuple(COUNTRY_LANGUAGE)
# phonenumbers still uses some old tz names; the tz database keeps them only as links.
_CANONICAL_ZONES = {"Asia/Rangoon": "Asia/Yangon", "Asia/Saigon": "Asia/Ho_Chi_Minh"}


@dataclass(frozen=True)
class PhoneInfo:
    e164: str
    country: str | None
    language: str | None
    timezone: str | None  # only when the number allows one zone


# Numbers read lately: every message reads its sender's number (the webhook, then a
# newcomer's person row), and phonenumbers takes longer than the rest of the form. A few
# hundred bytes each.
PHONE_CACHE_SIZE = 4096


@lru_cache(maxsize=PHONE_CACHE_SIZE)
def parse_phone(raw: str) -> PhoneInfo | None:
    """Read an international number ("+66 81 234 5678"); None if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    country = phonenumbers.region_code_for_number(number)
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    zone = _CANONICAL_ZONES.get(zones[0], zones[0]) if len(zones) == 1 else None
    return PhoneInfo(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=country,
        language=COUNTRY_LANGUAGE.get(country or ""),
        timezone=zone,
    )


def mask(address: str | None) -> str:
    """A phone number or chat id safe for logs and lists: +66•••••5678 keeps country and end."""
    if not address:
        return "-"
    visible_end = 4 if len(address) > 8 else 2
    start = 3 if address.startswith("+") else 0
    hidden = len(address) - start - visible_end
    if hidden <= 0:
        return "•" * len(address)
    return address[:start] + "•" * hidden + address[-visible_end:]
