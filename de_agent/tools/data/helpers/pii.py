"""Detectors for personal data in values and column names, and masks that never echo a value.

Each detector pairs a pattern with a check that rules out lookalikes: card numbers must
pass Luhn and start with a card network prefix, IBANs must pass mod-97, SSNs must be in
the issued ranges, IP addresses must have valid octets and not read as a version string.

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

KINDS = ("email", "phone", "card", "iban", "ssn", "ip")

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.([A-Za-z]{2,24})(?![\w-])")
_FILE_SUFFIXES = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ico", "pdf"}
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
_SSN_SHAPE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_PHONES = (
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\w])"),
    re.compile(r"(?<![\w.-])(?<!\d[ -])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w-]|\.\d)"),
    re.compile(r"(?<![\w.-])(?<!\d[ -])0[1-9]\d{0,3}(?:[ -]\d{2,8}){1,4}(?![\w-])"),
)
_VERSION_BEFORE = re.compile(
    r"(?i)(?:\bv|\b(?:version|ver|release|rel|build|rev|revision|tag|firmware|fw|sdk)\b\s*[:=]?\s*"
    r"|[=<>~^!]=?\s*|@\s*)$")
_VERSION_AFTER = re.compile(r"^(?:[-+][A-Za-z0-9]|\.\d)")
_VERSION_COLUMN = re.compile(r"(?i)(version|^ver$|_ver$|release|build|revision|^rev$|semver|^tag$|firmware)")

# IBAN lengths by country, for the common ones; others are tried at every length.
_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LT": 20, "LU": 20, "LV": 21, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "SE": 24, "SI": 19, "SK": 24, "TR": 26, "AE": 23, "SA": 24, "BR": 29,
}
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6011|65|64[4-9]|35|62)")

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


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    if not 15 <= len(candidate) <= 34:
        return False
    moved = candidate[4:] + candidate[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


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

    def free(start: int, end: int) -> bool:
        return all(end <= m.start or start >= m.end for m in found)

    def add(kind: str, start: int, end: int) -> None:
        if free(start, end):
            found.append(Match(kind, start, end, text[start:end]))

    if "@" in text:
        for m in _EMAIL.finditer(text):
            if m.group(1).lower() not in _FILE_SUFFIXES:
                add("email", m.start(), m.end())
    for m in _IBAN.finditer(text):
        iban = _iban_in(m.group(0))
        if iban:
            add("iban", m.start(), m.start() + len(iban))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) and _luhn(digits):
            add("card", m.start(), m.end())
    for m in _SSN.finditer(text):
        if _ssn_ok(*m.groups()):
            add("ssn", m.start(), m.end())
    for m in _IPV4.finditer(text):
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
    for pattern in _PHONES:
        for m in pattern.finditer(text):
            n_digits = sum(ch.isdigit() for ch in m.group(0))
            if _SSN_SHAPE.match(m.group(0)):
                continue
            if 7 <= n_digits <= 15 and (m.group(0).startswith(("+", "(")) or n_digits >= 9
                                        or pattern is _PHONES[1]):
                add("phone", m.start(), m.end())
    return sorted(found, key=lambda m: m.start)


def column_hint(name: str) -> str | None:
    """The kind of personal data a column name suggests (``email``, ``birth_date``, ...), if any."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
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


def scan_column(column: str, values: Iterable[object], max_examples: int = 3) -> list[ColumnFinding]:
    """Findings for one column's sampled values, plus one for a telling column name."""
    findings: dict[str, ColumnFinding] = {}
    checked = 0
    for value in values:
        if value is None:
            continue
        checked += 1
        text = str(value)
        for kind in {m.kind: m for m in find_pii(text, column)}.values():
            f = findings.setdefault(kind.kind, ColumnFinding(column, kind.kind))
            f.matches += 1
            example = mask(kind.kind, kind.text)
            if len(f.examples) < max_examples and example not in f.examples:
                f.examples.append(example)
    for f in findings.values():
        f.checked = checked
    hint = column_hint(column)
    if hint and hint not in findings:
        findings[hint] = ColumnFinding(column, hint, checked=checked, by_name=True)
    elif hint:
        findings[hint].by_name = True
    return sorted(findings.values(), key=lambda f: -f.matches)


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
