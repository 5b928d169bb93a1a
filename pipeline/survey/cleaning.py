"""Cleaning of survey records (raw → cleaned), the seed's rules (seed-facts §6) with its defects fixed:

- country: the first run of letters, spaces and hyphens that starts with a letter; trimmed; lowercase;
- campus, alternative_choice: letter words joined by `_`, space or `-`; trimmed; lowercase;
- mobility, advertisement: alphanumeric words with spaces or hyphens; lowercase (advertisement is new: the seed
  dropped it; its form's "fiends" is read as "friends");
- contracts: an integer; a negative or non-numeric count becomes null (the seed meant negatives to become null,
  but its UDF did not);
- distance: the first number, decimals kept (`12,5 km` is 12.5; the seed kept the first run of digits, 12);
  a negative one is refused;
- pro_contract: a boolean (true/false, yes/no, 1/0, on/off); absent means false, as in the seed's model.

Also fixed: the seed inserted one hard-coded demo row into every cleaning, and deleted the raw records after
cleaning; here nothing is added, and the raw zone keeps every record. A record that cannot be cleaned (not a JSON
object, no submission id, or a country, campus, mobility or distance with nothing usable left) is quarantined
with the reason, never dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

COLUMNS = ("submission_id", "country", "campus", "mobility", "contracts", "alternative_choice", "distance",
           "pro_contract", "advertisement")
REQUIRED = ("country", "campus", "mobility", "distance")

_COUNTRY = re.compile(r"[A-Za-z][A-Za-z \-]*")
_LETTER_WORDS = re.compile(r"[A-Za-z]+(?:[_ \-]+[A-Za-z]+)*")
_WORDS = re.compile(r"[A-Za-z0-9]+(?:[ \-]+[A-Za-z0-9]+)*")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
_ADVERTISEMENT_TYPOS = {"fiends": "friends"}


def _text(value) -> str | None:
    return None if value is None else str(value)


def clean_country(value) -> str | None:
    match = _COUNTRY.search(_text(value) or "")
    return match.group(0).strip().lower() if match else None


def clean_letter_words(value) -> str | None:
    match = _LETTER_WORDS.search(_text(value) or "")
    return match.group(0).strip().lower() if match else None


def clean_words(value) -> str | None:
    match = _WORDS.search(_text(value) or "")
    return match.group(0).strip().lower() if match else None


def clean_advertisement(value) -> str | None:
    words = clean_words(value)
    return _ADVERTISEMENT_TYPOS.get(words, words)


def clean_contracts(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if number >= 0 else None


def clean_distance(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    match = _NUMBER.search(_text(value) or "")
    number = float(match.group(0).replace(",", ".")) if match else None
    return number if number is not None and number >= 0 else None


def clean_pro_contract(value) -> bool | None:
    """True or False; None when the value says neither (the record is then quarantined)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass(frozen=True)
class Cleaned:
    row: dict | None  # the cleaned record, COLUMNS in order; None when quarantined
    reason: str | None = None  # why it was quarantined
    detail: str | None = None


def clean_record(raw: bytes | str | None) -> Cleaned:
    """One raw Kafka value: its cleaned row, or the reason it is quarantined. Never raises."""
    if not raw:
        return Cleaned(None, "empty_message", None)
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: nested too deeply
        return Cleaned(None, "invalid_json", str(error)[:200])
    if not isinstance(record, dict):
        return Cleaned(None, "not_an_object", type(record).__name__)
    if not isinstance(record.get("submission_id"), str) or not record["submission_id"].strip():
        return Cleaned(None, "missing_submission_id", None)
    row = {
        "submission_id": record["submission_id"].strip(),
        "country": clean_country(record.get("country")),
        "campus": clean_letter_words(record.get("campus")),
        "mobility": clean_words(record.get("mobility")),
        "contracts": clean_contracts(record.get("contracts")),
        "alternative_choice": clean_letter_words(record.get("alternative_choice")),
        "distance": clean_distance(record.get("distance")),
        "pro_contract": clean_pro_contract(record.get("pro_contract")),
        "advertisement": clean_advertisement(record.get("advertisement")),
    }
    for field in REQUIRED:
        if row[field] is None:
            return Cleaned(None, f"invalid_{field}", repr(record.get(field))[:200])
    if row["pro_contract"] is None:
        return Cleaned(None, "invalid_pro_contract", repr(record.get("pro_contract"))[:200])
    return Cleaned(row)
