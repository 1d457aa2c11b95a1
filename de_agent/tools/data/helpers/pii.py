"""Detectors for personal data in values and column names, and masks that never echo a value.

Each detector pairs a pattern with a check that rules out lookalikes: card numbers must
pass Luhn (python-stdnum), start with a card network's IIN range at a length that network
issues, and not be a valid EAN-13/UPC product code; IBANs are validated by python-stdnum;
phone numbers by Google's libphonenumber (``phonenumbers``) and a phone-like shape; SSNs
must be in the issued ranges, IP addresses must have valid octets and not read as a
version string. Whole-value detectors for columns (person names, postal addresses, dates
of birth, national ids) live in ``pii_values.py``.

Version rule for IPv4: a dotted quad is not an IP address when its column is named like a
version (``version``, ``release``, ``build``, ...), when it directly follows ``v``, a word
such as ``version``/``release``/``build``/``tag`` or a requirement operator (``==``,
``>=``, ``@``, ...), or when a pre-release suffix (``-rc1``, ``+build``) or a fifth number
follows it. Loopback, unspecified and broadcast addresses are not personal data either.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

KINDS = ("email", "phone", "card", "iban", "ssn", "ip", "person_name", "address", "birth_date", "national_id")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.([A-Za-z]{2,24})(?![\w-])")
_FILE_SUFFIXES = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "pdf"}
_CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){11,18}(?![\w-]|[.,]\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
_SSN_SHAPE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# A run that could be a phone number: optional + or 00, digits with the usual separators,
# an optional extension. phonenumbers and the shape rules in _phone_ok decide.
_PHONE = re.compile(
    r"(?<![\w+.:/(-])(?<!\d[ -])\+?\(?\d[\d ().\-/]{5,22}\d"
    r"(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\w-]|\.\d|:\d)")
_NANP = re.compile(r"^(?:\+?1[ .-]?|001[ .-])?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])\d{3}[ .-]\d{4}$")
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|#)\s?\d{1,6}$")
# Regions tried for a national number written with its trunk prefix (0...).
_TRUNK_REGIONS = ("DE", "GB", "FR", "IT", "NL", "BE", "AT", "CH", "SE", "DK", "FI", "IE", "PT", "PL", "CZ",
                  "AU", "IN", "BR", "MX", "TR")
_VERSION_BEFORE = re.compile(
    r"(?i)(?:\bv|\w/|\b(?:version|ver|release|rel|build|rev|rv|revision|tag|firmware|fw|sdk)\b\s*[:=]?\s*"
    r"|(?:==|>=|<=|~=|!=|[<>~^])\s*|@\s*)$")
_VERSION_AFTER = re.compile(r"^(?:[-+][A-Za-z0-9]|\.\d)")
_VERSION_COLUMN = re.compile(r"(?i)(version|^ver$|_ver$|release|build|revision|^rev$|semver|^tag$|firmware)")

# IBAN lengths by country, for the common ones; others are tried at every length.
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LT": 20, "LU": 20, "LV": 21, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "SE": 24, "SI": 19, "SK": 24, "TR": 26, "AE": 23, "SA": 24, "BR": 29,
}
# (IIN range low, high, lengths the network issues), compared on the first six digits.
_CARD_RANGES = (
    (400000, 499999, (13, 16, 19)),           # Visa
    (510000, 559999, (16,)), (222100, 272099, (16,)),  # Mastercard
    (340000, 349999, (15,)), (370000, 379999, (15,)),  # American Express
    (601100, 601199, range(16, 20)), (644000, 659999, range(16, 20)),  # Discover
    (300000, 305999, range(14, 20)), (360000, 369999, range(14, 20)), (380000, 399999, range(14, 20)),
    (352800, 358999, range(16, 20)),           # JCB
    (180000, 180099, (15,)), (213100, 213199, (15,)),  # JCB, 15 digits
    (500000, 509999, range(12, 20)), (560000, 699999, range(12, 20)),  # Maestro (and others in 6)
    (220000, 220499, (16,)),                   # Mir
)

_NO_DIGITS = str.maketrans("", "", "0123456789")

# Column-name hints: the kind each word (or pair of words) suggests.
_NAME_WORDS = {
    "email": "email", "mail": "email", "emailaddress": "email",
    "phone": "phone", "mobile": "phone", "tel": "phone", "telephone": "phone", "fax": "phone",
    "msisdn": "phone", "cellphone": "phone",
    "ssn": "ssn", "nino": "national_id", "passport": "national_id", "tin": "national_id",
    "taxid": "national_id", "nationalid": "national_id", "sin": "national_id",
    "dob": "birth_date", "birthday": "birth_date", "birthdate": "birth_date", "birth": "birth_date",
    "surname": "person_name", "firstname": "person_name", "lastname": "person_name",
    "fullname": "person_name", "givenname": "person_name", "maidenname": "person_name",
    "address": "address", "street": "address", "postcode": "address", "zipcode": "address",
    "zip": "address", "postalcode": "address",
    "ip": "ip", "ipaddress": "ip", "ipv4": "ip", "ipv6": "ip",
    "iban": "iban", "creditcard": "card", "cardnumber": "card", "ccnumber": "card", "pan": "card",
    "password": "credential", "passwd": "credential", "apikey": "credential", "secret": "credential",
}
_NOT_POSTAL = {"mac", "hw", "hardware", "ethernet", "wallet", "bitcoin", "btc", "eth", "contract", "memory",
               "mem", "web", "url", "host", "server", "node", "bluetooth", "ble", "multicast", "broadcast",
               "base", "return", "start", "end", "physical", "virtual", "bus", "device", "register"}
_NAME_PAIRS = {
    ("first", "name"): "person_name", ("last", "name"): "person_name", ("full", "name"): "person_name",
    ("given", "name"): "person_name", ("middle", "name"): "person_name", ("date", "birth"): "birth_date",
    ("social", "security"): "ssn", ("national", "id"): "national_id", ("tax", "id"): "national_id",
    ("credit", "card"): "card", ("card", "number"): "card", ("cc", "number"): "card",
    ("ip", "address"): "ip", ("email", "address"): "email", ("e", "mail"): "email",
    ("phone", "number"): "phone", ("api", "key"): "credential", ("account", "number"): "iban",
    ("remote", "addr"): "ip", ("client", "ip"): "ip",
}


@dataclass(frozen=True)
class Match:
    kind: str
    start: int
    end: int
    text: str


def _card_ok(digits: str, separated: bool) -> bool:
    from stdnum import ean, luhn

    if not 12 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    head = int(digits[:6])
    if not any(lo <= head <= hi and len(digits) in lengths for lo, hi, lengths in _CARD_RANGES):
        return False
    # An unseparated 12- or 13-digit number that is a valid UPC/EAN is a product code.
    return separated or len(digits) > 13 or not ean.is_valid(digits.zfill(13))


def _iban_ok(candidate: str) -> bool:
    from stdnum import iban

    return 15 <= len(candidate) <= 34 and iban.is_valid(candidate)


@lru_cache(maxsize=65536)
def _phone_ok(candidate: str) -> bool:
    """Whether a phone-like run is a phone number (libphonenumber plus a shape rule)."""
    import phonenumbers

    body = _EXTENSION.sub("", candidate).strip()
    digits = sum(ch.isdigit() for ch in body)
    if not 7 <= digits <= 15:
        return False
    separated = any(ch in body for ch in " ().-/")
    try:
        if body.startswith(("+", "00")) and not body.startswith("001"):
            number = phonenumbers.parse("+" + body.lstrip("+")[2 if body.startswith("00") else 0:], None)
            return phonenumbers.is_possible_number(number) and (separated or phonenumbers.is_valid_number(number))
        if _NANP.match(body):
            return phonenumbers.is_possible_number(phonenumbers.parse(body.replace("001", "+1", 1), "US"))
        if separated and "." in body and digits < 10 or not separated and not 10 <= digits <= 11:
            return False
        if body.lstrip("(").startswith("0") and not body.startswith("00"):
            for region in _TRUNK_REGIONS:
                number = phonenumbers.parse(body, region)
                if phonenumbers.is_valid_number(number) or (separated and phonenumbers.is_possible_number(number)
                                                            and region == "DE"):
                    return True
    except phonenumbers.NumberParseException:
        return False
    return False


def _iban_in(text: str) -> str | None:
    """The valid IBAN at the start of text (spaces allowed), else None."""
    compact = text.replace(" ", "")
    lengths = [_IBAN_LENGTHS[compact[:2]]] if compact[:2] in _IBAN_LENGTHS else range(len(compact), 14, -1)
    for n in lengths:
        if len(compact) >= n and _iban_ok(compact[:n]):
            # Map n compact characters back onto the spaced text.
            seen = 0
            for i, ch in enumerate(text):
                seen += ch != " "
                if seen == n:
                    return text[: i + 1]
    return None


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    a = int(area)
    if a == 0 or a == 666 or a >= 900 or group == "00" or serial == "0000":
        return False
    return f"{area}-{group}-{serial}" not in ("078-05-1120", "219-09-9999")


def _ipv4_is_version(text: str, start: int, end: int, column: str | None) -> bool:
    if column and _VERSION_COLUMN.search(column):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 24):start]
    return bool(_VERSION_BEFORE.search(before) or _VERSION_AFTER.match(text[end:end + 2]))


def _ipv4_ok(octets: tuple[str, ...]) -> bool:
    if any(len(o) > 1 and o[0] == "0" for o in octets) or any(int(o) > 255 for o in octets):
        return False
    addr = ipaddress.IPv4Address(".".join(octets))
    return not (addr.is_loopback or addr.is_unspecified or str(addr) == "255.255.255.255")


def find_pii(text: str, column: str | None = None) -> list[Match]:
    """Every personal-data match in text, without overlaps, in order of position."""
    found: list[Match] = []
    n_digits = len(text) - len(text.translate(_NO_DIGITS))
    if len(text) < 7 or (n_digits < 4 and "@" not in text and text.count(":") < 2):
        return found  # nothing personal fits (the shortest, an IPv4 address, has 4 digits and 7 characters)

    def free(start: int, end: int) -> bool:
        return all(end <= m.start or start >= m.end for m in found)

    def add(kind: str, start: int, end: int) -> None:
        if free(start, end):
            found.append(Match(kind, start, end, text[start:end]))

    if "@" in text:
        for m in _EMAIL.finditer(text):
            if m.group(1).lower() not in _FILE_SUFFIXES:
                add("email", m.start(), m.end())
    for m in _IBAN.finditer(text) if n_digits >= 4 and len(text) >= 15 else ():
        iban = _iban_in(m.group(0))
        if iban:
            add("iban", m.start(), m.start() + len(iban))
    for m in _CARD.finditer(text) if n_digits >= 12 else ():
        digits = re.sub(r"\D", "", m.group(0))
        if _card_ok(digits, separated=len(digits) != len(m.group(0))):
            add("card", m.start(), m.end())
    for m in _SSN.finditer(text) if "-" in text else ():
        if _ssn_ok(*m.groups()):
            add("ssn", m.start(), m.end())
    for m in _IPV4.finditer(text) if text.count(".") >= 3 else ():
        if _ipv4_ok(m.groups()) and not _ipv4_is_version(text, m.start(), m.end(), column):
            add("ip", m.start(), m.end())
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            try:
                addr = ipaddress.IPv6Address(m.group(0))
            except ValueError:
                continue
            if not (addr.is_loopback or addr.is_unspecified):
                add("ip", m.start(), m.end())
    if n_digits >= 7:
        for m in _PHONE.finditer(text):
            if not _SSN_SHAPE.match(m.group(0)) and _phone_ok(m.group(0)):
                add("phone", m.start(), m.end())
    return sorted(found, key=lambda m: m.start)


@lru_cache(maxsize=4096)
def column_hint(name: str) -> str | None:
    """The kind of personal data a column name suggests (``email``, ``birth_date``, ...), if any."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    # A MAC, wallet or memory address is not where someone lives.
    words = [w for i, w in enumerate(words)
             if not (w in ("address", "addr") and i and words[i - 1] in _NOT_POSTAL)]
    if "".join(words).endswith(("macaddress", "macaddr")):
        return None
    for pair, kind in _NAME_PAIRS.items():
        for i in range(len(words) - 1):
            if (words[i], words[i + 1]) == pair:
                return kind
    for word in words:
        if word in _NAME_WORDS:
            return _NAME_WORDS[word]
    joined = "".join(words)
    return _NAME_WORDS.get(joined)


def mask(kind: str, value: str) -> str:
    """A masked form of value that shows its shape but at most a few characters of it."""
    value = value.strip()
    if kind == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}"
    if kind in ("card", "ssn", "phone"):
        digits = [i for i, ch in enumerate(value) if ch.isdigit()]
        keep = set(digits[-4:] if kind in ("card", "ssn") else digits[-2:])
        return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(value))
    if kind == "iban":
        compact = value.replace(" ", "")
        return compact[:2] + "*" * (len(compact) - 6) + compact[-4:]
    if kind == "ip":
        sep = ":" if ":" in value else "."
        head = value.split(sep)[0]
        return head + sep + sep.join("***" for _ in value.split(sep)[1:])
    if len(value) <= 1:
        return "*"
    shown = value[0] + "".join("*" if ch.isalnum() else ch for ch in value[1:12])
    return shown + ("…" if len(value) > 12 else "")


def mask_text(text: str, column: str | None = None) -> str:
    """text with every detected value masked; wholly masked when the column name suggests PII."""
    matches = find_pii(text, column)
    if column and column_hint(column):
        whole = len(matches) == 1 and matches[0].text == text.strip()
        return mask(matches[0].kind, text) if whole else mask("generic", text)
    if not matches:
        return text
    out, pos = [], 0
    for m in matches:
        out.append(text[pos:m.start])
        out.append(mask(m.kind, m.text))
        pos = m.end
    out.append(text[pos:])
    return "".join(out)


@dataclass
class ColumnFinding:
    """What was found in one column (or a text file, as column ``None``)."""

    column: str | None
    kind: str
    matches: int = 0
    checked: int = 0
    examples: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    by_name: bool = False

    @property
    def share(self) -> float:
        return self.matches / self.checked if self.checked else 0.0

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "matches": self.matches, "checked": self.checked,
                "share": round(self.share, 4), "examples": self.examples, "lines": self.lines,
                "by_name": self.by_name}


def scan_lines(lines: Iterable[str], max_lines: int = 20, max_examples: int = 3) -> list[ColumnFinding]:
    """Findings for a text file scanned line by line (1-based line numbers)."""
    findings: dict[str, ColumnFinding] = {}
    total = 0
    for number, line in enumerate(lines, 1):
        total += 1
        for m in find_pii(line):
            f = findings.setdefault(m.kind, ColumnFinding(None, m.kind))
            if not f.lines or f.lines[-1] != number:
                f.matches += 1
                if len(f.lines) < max_lines:
                    f.lines.append(number)
            example = mask(m.kind, m.text)
            if len(f.examples) < max_examples and example not in f.examples:
                f.examples.append(example)
    for f in findings.values():
        f.checked = total
    return sorted(findings.values(), key=lambda f: -f.matches)
