"""Detectors of personal data and secrets in a document's text.

Each detector returns the spans it found, never a copy of the text it matched. Every detector
checks a candidate before it reports it (a checksum, a parser or a context word): precision
matters as much as recall. Library checks are used where one exists offline:
``phonenumbers`` (Google's libphonenumber) finds and validates phone numbers, and
``python-stdnum`` checks Luhn, IBAN (mod 97 and length per country) and US SSN rules.
The rest are patterns written here; docs/guardrails.md says why.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn


@dataclass(frozen=True)
class Match:
    """One finding: which detector and where (``text[start:end]``). It holds no matched text."""

    detector: str
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Personal data


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)


# Image names for high-density screens (icon@2x.png) look like addresses.
_DENSITY_SUFFIX = re.compile(r"@\d+(?:\.\d+)?x\.")


def _email(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        if not _DENSITY_SUFFIX.search(m.group()):
            yield m.start(), m.end()


# A number counts as a phone number only when it is written like one: a leading +, brackets,
# or separators between digit groups. A bare run of digits is more often an order number.
_PHONE_FORMATTED = re.compile(r"^\+|[()\s.\-]")


def _phone(text: str, region: str) -> Iterator[tuple[int, int]]:
    # STRICT_GROUPING: the digit groups must be those of the number's national format
    # (INV-2023-000451 is a valid US number by its digits, not by its grouping).
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
    )
    for m in matcher:
        if _PHONE_FORMATTED.search(m.raw_string.strip()):
            yield m.start, m.end


_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Issuer prefixes and lengths of the major networks; Luhn alone passes one random number in ten.
_CARD_NETWORKS = (
    (re.compile(r"4"), (13, 16, 19)),                                      # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),          # Mastercard
    (re.compile(r"3[47]"), (15,)),                                         # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), (16, 17, 18, 19)),                  # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), (16, 17, 18, 19)),                # JCB
    (re.compile(r"3(?:0[0-5]|[68])"), (14, 16, 17, 18, 19)),               # Diners Club
)


def _card(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        raw = m.group()
        # Groups are split by one kind of separator only (4111 1111-1111 is not a card).
        if " " in raw and "-" in raw:
            continue
        # Separated digits must be grouped as cards print them (4-4-4-4, Amex 4-6-5, Diners 4-6-4):
        # a reference list's "2002 45 597 604 12139608" (year, volume, pages, id) is not a card.
        groups = [len(g) for g in re.split(r"[ -]", raw)]
        if len(groups) > 1 and not (all(n == 4 for n in groups[:-1]) and 1 <= groups[-1] <= 4) \
                and groups not in ([4, 6, 5], [4, 6, 4]):
            continue
        digits = re.sub(r"\D", "", raw)
        if len(set(digits)) < 2:  # 0000 0000 0000 0000 fillers pass Luhn
            continue
        if not any(p.match(digits) and len(digits) in lengths for p, lengths in _CARD_NETWORKS):
            continue
        if luhn.is_valid(digits):
            yield m.start(), m.end()


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])")
_IBAN_BODY = re.compile(r"(?:[ ]?[A-Z0-9]){11,30}")


def _iban(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _IBAN_START.finditer(text):
        body = _IBAN_BODY.match(text, m.end())
        if body is None:
            continue
        # The body may run into a following word in capitals: try the longest valid prefix
        # that ends at a word boundary (the IBAN's own length is fixed per country).
        end = body.end()
        while end > m.end():
            candidate = text[m.start():end]
            boundary = end == len(text) or not text[end].isalnum()
            if boundary and stdnum_iban.is_valid(candidate):
                yield m.start(), end
                break
            end -= 1


_SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")


def _ssn(text: str, region: str) -> Iterator[tuple[int, int]]:
    # Only the dashed form: nine bare digits are too often something else.
    for m in _SSN.finditer(text):
        if stdnum_ssn.is_valid(m.group()):
            yield m.start(), m.end()


_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_VERSION_WORD = re.compile(r"(?:\bv|version|release|ver\.?)\s*$", re.IGNORECASE)


def _ip(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _IPV4.finditer(text):
        # "v1.2.3.4" and "version 10.0.0.1" are versions, not addresses.
        if _VERSION_WORD.search(text[max(0, m.start() - 12):m.start()]):
            continue
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield m.start(), m.end()
    for m in _IPV6.finditer(text):
        raw = m.group()
        # At least three hex groups: "::" alone, "a::b" or a clock time are not addresses.
        if sum(1 for g in raw.split(":") if g) < 3 and "::" not in raw:
            continue
        if sum(1 for g in raw.split(":") if g) < 2:
            continue
        try:
            ipaddress.IPv6Address(raw)
        except ValueError:
            continue
        yield m.start(), m.end()


# ---------------------------------------------------------------------------------------------
# Secrets


_CLOUD_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}"  # AWS key ids
    r"|AIza[0-9A-Za-z_-]{35}"                                                  # Google API keys
    r")(?![A-Za-z0-9])"
)


def _cloud_key(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _CLOUD_KEY.finditer(text):
        yield m.start(), m.end()


_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"|[\sA-Za-z0-9+/=:,-]*)",  # no END line: the base64 body that follows
    re.DOTALL,
)


def _private_key(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _PRIVATE_KEY.finditer(text):
        yield m.start(), len(m.group().rstrip()) + m.start()


_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])(?:"
    r"gh[pousr]_[A-Za-z0-9]{36,255}"                 # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[A-Za-z0-9_-]{20,}"                      # GitLab
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"                 # Slack
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"      # Stripe
    r"|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"          # OpenAI, Anthropic
    r"|hf_[A-Za-z0-9]{30,}"                           # Hugging Face
    r"|npm_[A-Za-z0-9]{36}"                           # npm
    r")(?![A-Za-z0-9_-])"
)
# The token after "Bearer" (the word itself stays: it says what was there).
_BEARER = re.compile(r"\bBearer\s+([A-Za-z0-9\-._~+/]{16,}=*)(?![A-Za-z0-9\-._~+/=])")


def _token(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _TOKEN.finditer(text):
        if any(c.isdigit() for c in m.group()):  # "sk-learn-compatible-pipeline..." is prose
            yield m.start(), m.end()
    for m in _BEARER.finditer(text):
        value = m.group(1)
        if not _JWT.fullmatch(value) and _looks_random(value, min_len=16):
            yield m.start(1), m.end(1)


_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def _b64json(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _jwt(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _JWT.finditer(text):
        header = _b64json(m.group().split(".", 1)[0])
        if isinstance(header, dict) and ("alg" in header or "typ" in header):
            yield m.start(), m.end()


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(value: str, min_len: int, bits: float = 3.0) -> bool:
    """Long, varied and mixing character classes: what a generated secret looks like."""
    if len(value) < min_len:
        return False
    classes = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value),
         any(c.isdigit() for c in value), any(not c.isalnum() for c in value))
    )
    return classes >= 2 and _entropy(value) >= bits


# A secret word, an assignment (= or :), then the value, quoted or not.
_ASSIGNED = re.compile(
    # The word may end a snake_case name (db_password, aws_secret_access_key); a password word
    # must end it (password_policy is a setting, not a password).
    # Bounded, possessive pieces: a long run of name_name_... must cost linear time.
    r"(?i:(?<![A-Za-z0-9])(?:"
    r"(?P<pw>passwords?|passwd|pwd|passphrase)(?![A-Za-z0-9_])"
    r"|(?P<word>secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|token|key)"
    r"(?:_[A-Za-z0-9]{1,40}){0,4}+(?![A-Za-z0-9])))"
    r"[\"']?\s*(?::|=|=>|:=)\s*(?P<q>[\"']?)(?P<value>[^\s\"',;`]{6,}+)(?P=q)"
)
# A name built of words (created_at, user_profile_v2, CacheKeyName), not a generated value.
# Pieces split by a separator, or camelCase words of three letters or more.
_IDENTIFIER = re.compile(r"[A-Za-z][a-z]*\d*(?:[_.\-/][A-Za-z0-9][a-z0-9]*|[A-Z][a-z]{2,}\d*)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PLACEHOLDER = re.compile(r"^(?:<.*>|\$\{.*\}|\{\{.*\}\}|%\(.*\)s|\*+|x+|\[[A-Z_]+\]|\.\.\.)$", re.I)


def _keyword_secret(text: str, region: str) -> Iterator[tuple[int, int]]:
    for m in _ASSIGNED.finditer(text):
        value = m.group("value")
        if _PLACEHOLDER.match(value) or _UUID.fullmatch(value) or value.isdigit():
            continue
        if m.group("pw"):
            # Whatever is assigned to a password is one, random-looking or not.
            ok = len(set(value)) >= 4
        else:
            ok = not _IDENTIFIER.fullmatch(value) and _looks_random(value, min_len=16, bits=3.5)
        if ok:
            yield m.start("value"), m.end("value")


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detector:
    name: str
    placeholder: str
    kind: str  # "personal" or "secret"
    find: Callable[[str, str], Iterator[tuple[int, int]]]


# Order matters only where two detectors claim overlapping text. Then the earlier one in this
# tuple wins a tie. (A JWT is reported as a JWT, not as a bearer token or a high-entropy value.)
DETECTORS: dict[str, Detector] = {
    d.name: d
    for d in (
        Detector("private_key", "[PRIVATE_KEY]", "secret", _private_key),
        Detector("jwt", "[JWT]", "secret", _jwt),
        Detector("cloud_key", "[CLOUD_KEY]", "secret", _cloud_key),
        Detector("api_token", "[TOKEN]", "secret", _token),
        Detector("keyword_secret", "[SECRET]", "secret", _keyword_secret),
        Detector("email", "[EMAIL]", "personal", _email),
        Detector("iban", "[IBAN]", "personal", _iban),
        Detector("payment_card", "[CARD]", "personal", _card),
        Detector("us_ssn", "[SSN]", "personal", _ssn),
        Detector("ip_address", "[IP]", "personal", _ip),
        Detector("phone", "[PHONE]", "personal", _phone),
    )
}
DETECTOR_NAMES: tuple[str, ...] = tuple(DETECTORS)


def detect(text: str, detectors: tuple[str, ...] = DETECTOR_NAMES, region: str = "US") -> list[Match]:
    """Every finding of the named detectors in ``text``, sorted and never overlapping.

    Where two findings overlap, the one that starts first wins, then the longer one, then the
    detector listed first in :data:`DETECTORS`. ``region`` is the default country of phone
    numbers written without a country code.
    """
    rank = {name: i for i, name in enumerate(DETECTOR_NAMES)}
    found = [
        Match(name, start, end)
        for name in detectors
        for start, end in DETECTORS[name].find(text, region)
        if end > start
    ]
    found.sort(key=lambda m: (m.start, -(m.end - m.start), rank[m.detector]))
    kept: list[Match] = []
    for m in found:
        if not kept or m.start >= kept[-1].end:
            kept.append(m)
    return kept
