"""Personal data told from a whole column: person names, postal addresses, dates of birth, national ids.

These kinds have no checksum, so one value proves little; a column is flagged when most
of its sampled values have the shape. Person names: two to five capitalised words whose
first is a common given name or whose last is a common family name (``pii_names``), with
titles and suffixes allowed and company words (Inc, GmbH, S.A., "and") ruling a value out.
Postal addresses: a house number beside a street word in one of several languages, or a
postcode next to a place name. Dates of birth: dates spread over decades, none in the
future, most of them more than 16 years back, in a table that holds other personal data
or under a birth-like column name. National ids: python-stdnum validators.

``scan_table`` combines these with the value detectors of ``pii.py`` and the column-name
hints; ``Masker`` applies its verdict to every value a data tool is about to show.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from de_agent.tools.data.helpers.pii import ColumnFinding, column_hint, find_pii, mask, mask_text

COLUMN_SHARE = 0.5          # share of values with the shape before a whole-value kind is flagged
WEAK_SHARE = 0.2            # share for value kinds that lookalikes hit now and then
JUDGE_VALUES = 300         # values per column the Masker judges a column by
WHOLE_VALUE_SAMPLE = 2000  # values per column tried as names and addresses
STRONG = {"email", "iban", "ssn"}
PERSONAL_NEIGHBOURS = {"person_name", "email", "phone", "address", "ssn", "national_id", "iban", "card"}

_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau", "m", "mme", "mlle",
           "sig", "sig.ra", "sigra", "dott", "dott.ssa", "sr", "sra", "srta", "don", "doña", "dhr", "mevr",
           "ir", "drs", "ing", "mag", "univ", "dipl", "pan", "pani"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "phd", "dds", "dvm", "esq", "mba", "cpa", "rn"}
_PARTICLES = {"van", "von", "der", "den", "de", "da", "di", "del", "della", "dos", "das", "du", "le", "la",
              "ter", "ten", "zu", "y", "e", "bin", "al", "el", "st", "mc", "mac", "'t", "vom", "zur"}
_COMPANY = {"inc", "llc", "ltd", "plc", "gmbh", "ag", "kg", "ohg", "co", "corp", "corporation", "group", "sa",
            "s.a", "s.a.s", "sas", "sarl", "srl", "s.r.l", "spa", "s.p.a", "sl", "s.l", "e.v", "ev", "bv",
            "b.v", "nv", "n.v", "oy", "ab", "as", "a/s", "and", "und", "et", "&", "hermanos", "groep",
            "holding", "holdings", "partners", "company", "gbr", "kgaa", "ug", "snc", "sasu", "ltda", "lda",
            "s.c", "sc", "s.l.l", "gruppe", "stiftung", "limited", "llp", "trust", "bank", "university",
            "sons", "associates", "industries", "solutions", "systems", "services", "consulting"}
_WORD = re.compile(r"^[A-ZÀ-ÖØ-ÞĀ-ž][\w'’.-]*$")

_STREET_WORDS = {
    "street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "boulevard", "blvd", "way",
    "court", "ct", "place", "pl", "square", "sq", "terrace", "crescent", "close", "grove", "gardens",
    "parkway", "highway", "hwy", "mews", "walk", "apt", "apt.", "suite", "unit", "flat", "studio", "route",
    "straße", "strasse", "str", "weg", "allee", "platz", "gasse", "ring", "damm", "ufer", "chaussee",
    "rue", "bd", "chemin", "allée", "impasse", "quai", "cours", "calle", "avenida", "av", "plaza", "paseo",
    "camino", "callejón", "carrera", "ronda", "vía", "pasaje", "glorieta", "cuesta", "urbanización",
    "via", "viale", "piazza", "corso", "vicolo", "largo", "strada", "contrada", "borgo", "piazzale",
    "straat", "laan", "plein", "gracht", "kade", "singel", "dijk", "steeg", "rua", "travessa", "praça",
    "estrada", "ul", "ulica", "aleja", "utca", "gatan", "vej", "gade", "katu", "tie", "cesta", "ulice",
}
_STREET_SUFFIX = re.compile(r"(?i)\w(?:straße|strasse|str\.|weg|allee|platz|gasse|straat|laan|plein|gracht|"
                            r"kade|baan|dijk|singel|gatan|vägen|vej|gade|katu|tie)\b")
_HOUSE_NUMBER = re.compile(r"(?<![\w.:/-])\d{1,5}[a-zA-Z]?(?![\w.:/-])")
_POSTCODE_PLACE = re.compile(
    r"(?:\b\d{4,5}\s+[A-ZÀ-Þ][\w'-]+"                       # 12345 Berlin, 1012 Amsterdam
    r"|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"                     # VA 12345
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"               # B40 7ZR
    r"|\b\d{4}\s?[A-Z]{2}\b)")                              # 9646 YK
_EN_STREET = re.compile(r"^\d{1,6}[a-zA-Z]?,?\s+(?:[A-Z][\w'-]+\s+){1,3}[A-Z][\w.'-]+"
                        r"(?:\s+(?:Apt\.|Suite|Unit|Flat)\s+\d+)?\s*$")
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y")
_DATE_SHAPE = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}(?:[ T]00:00(?::00)?)?$")
_BIRTH_WORDS = re.compile(r"(?i)(birth|born|dob|geburt|naissance|nascita|nacimiento|geboorte|urodzeni|"
                          r"fødsel|födelse|syntymä)")
_NATIONAL_ID_MODULES = ("fr.nir", "it.codicefiscale", "es.dni", "es.nie", "nl.bsn", "de.idnr",
                        "se.personnummer", "dk.cpr", "no.fodselsnummer", "fi.hetu", "pl.pesel", "be.nn",
                        "pt.cc", "ch.ssn", "at.vnr", "ie.pps", "ro.cnp", "cz.rc")


def looks_like_name(value: str) -> bool:
    from de_agent.tools.data.helpers.pii_names import names

    if " " not in value.strip() or len(value) > 80 or "@" in value or any(ch.isdigit() for ch in value):
        return False
    words = value.replace(",", " , ").split()
    if any(w.lower().strip(".") in _COMPANY or w.lower() in _COMPANY for w in words) or words.count(",") > 1:
        return False
    words = [w for w in words if w != ","]
    while words and words[0].lower().strip(".") in _TITLES:
        words = words[1:]
    while words and words[-1].lower().strip(".,") in _SUFFIXES:
        words = words[:-1]
    core = [w for w in words if w.lower() not in _PARTICLES]
    if not 2 <= len(core) <= 5 or not all(_WORD.match(w) for w in core):
        return False
    given, family = names()

    def parts(word: str) -> list[str]:
        return [p for p in re.split(r"[-'’]", word.lower().strip(".")) if p]

    return any(p in given for p in parts(core[0])) or any(p in family for p in parts(core[-1]))


def looks_like_address(value: str) -> bool:
    if len(value) > 200 or " " not in value or "@" in value or "://" in value or value.isdigit():
        return False
    if not any(ch.isdigit() for ch in value):
        return False
    text = " ".join(value.split())
    words = {w.lower().strip(".,") for w in text.split()}
    numbered = bool(_HOUSE_NUMBER.search(text))
    if numbered and (words & _STREET_WORDS or _STREET_SUFFIX.search(text)):
        return True
    if numbered and _POSTCODE_PLACE.search(text) and any(ch.isalpha() for ch in text):
        return True
    return any(_EN_STREET.match(line.strip()) for line in value.splitlines())


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not _DATE_SHAPE.match(text):
        return None
    text = text.split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def looks_like_birth_dates(values: Sequence[Any]) -> bool:
    """Dates spread over decades, none in the future, most of them more than 16 years back."""
    dates = [d for d in (_as_date(v) for v in values) if d is not None]
    if not dates or len(dates) < 0.9 * len(values):
        return False
    today = dt.date.today()
    if any(d > today or d.year < today.year - 120 for d in dates):
        return False
    adults = sum(d.year <= today.year - 16 for d in dates)
    span = max(d.year for d in dates) - min(d.year for d in dates)
    return adults >= 0.6 * len(dates) and (span >= 15 or len(dates) < 10)


def national_id_kind(values: Sequence[str]) -> str | None:
    """The stdnum module that validates most values (at least 80%), if any."""
    import importlib

    sample = [v.strip() for v in values if v.strip()][:200]
    if not sample or all(v.isdigit() and len(v) < 9 for v in sample):
        return None
    for name in _NATIONAL_ID_MODULES:
        module = importlib.import_module(f"stdnum.{name}")
        hits = 0
        for i, v in enumerate(sample):
            try:
                hits += bool(module.is_valid(v))
            except Exception:  # noqa: BLE001 - a validator must never stop the scan
                pass
            if i >= 9 and hits < 0.5 * (i + 1):
                break
        if hits >= (0.8 * len(sample) if len(sample) >= 3 else len(sample)):
            return name
    return None


def _whole_value_kinds(column: str, texts: list[str]) -> dict[str, int]:
    """Counts of values that are, as a whole, a name or an address."""
    out = {"person_name": 0, "address": 0}
    for t in texts[:WHOLE_VALUE_SAMPLE]:
        if looks_like_name(t):
            out["person_name"] += 1
        elif looks_like_address(t):
            out["address"] += 1
    return out


def scan_table(columns: Sequence[str], values: Sequence[Sequence[Any]], max_examples: int = 3,
               cautious: bool = False) -> dict[str, list[ColumnFinding]]:
    """Findings per column, from each column's sampled values, its name and its neighbours.

    values[i] holds the sampled values of columns[i]. A kind is reported when the share of
    values showing it reaches its threshold (any share for emails, IBANs and SSNs), or when
    the column name suggests it. ``cautious`` (used for masking) also takes dates that look
    like birth dates when nothing beside them is personal.
    """
    result: dict[str, list[ColumnFinding]] = {}
    date_like: list[int] = []
    for i, column in enumerate(columns):
        raw = [v for v in values[i] if v is not None and str(v).strip() != ""]
        # Small numbers and booleans are never personal; dates only as dates of birth (below).
        texts = [str(v) for v in raw if not (isinstance(v, bool | dt.date) or
                                             isinstance(v, int | float) and abs(v) < 1_000_000)]
        found: dict[str, ColumnFinding] = {}
        for text in texts:
            for m in {m.kind: m for m in find_pii(text, column)}.values():
                f = found.setdefault(m.kind, ColumnFinding(column, m.kind))
                f.matches += 1
                example = mask(m.kind, m.text)
                if len(f.examples) < max_examples and example not in f.examples:
                    f.examples.append(example)
        for kind, n in _whole_value_kinds(column, texts).items():
            if n:
                f = found.setdefault(kind, ColumnFinding(column, kind))
                f.matches += round(n * len(texts) / min(len(texts), WHOLE_VALUE_SAMPLE))
                f.examples += [mask(kind, t) for t in texts[:max_examples]
                               if (looks_like_name(t) if kind == "person_name" else looks_like_address(t))][:1]
        if texts and not found and national_id_kind(texts):
            found["national_id"] = ColumnFinding(column, "national_id", matches=len(texts),
                                                 examples=[mask("national_id", texts[0])])
        keep = {}
        for kind, f in found.items():
            f.checked = len(texts)
            need = 0 if kind in STRONG else COLUMN_SHARE if kind in ("person_name", "address") else WEAK_SHARE
            if f.share > need or (kind in STRONG and f.matches):
                keep[kind] = f
        hint = column_hint(column)
        if hint and hint not in keep:
            keep[hint] = ColumnFinding(column, hint, checked=len(texts), by_name=True)
        elif hint:
            keep[hint].by_name = True
        if raw and "birth_date" not in keep and sum(_as_date(v) is not None for v in raw[:200]) >= 0.9 * len(raw[:200]):
            date_like.append(i)
        result[column] = sorted(keep.values(), key=lambda f: -f.matches)
    personal = any(f.kind in PERSONAL_NEIGHBOURS for fs in result.values() for f in fs)
    for i in date_like:
        column = columns[i]
        raw = [v for v in values[i] if v is not None and str(v).strip() != ""]
        if looks_like_birth_dates(raw) and (personal or cautious or _BIRTH_WORDS.search(column)):
            result[column] = [ColumnFinding(column, "birth_date", matches=len(raw), checked=len(raw),
                                            examples=[mask("birth_date", str(raw[0]))],
                                            by_name=bool(_BIRTH_WORDS.search(column)))] + result[column]
    return result


def _flatten(column: str, values: Sequence[Any], out: dict[str, list[Any]], depth: int = 0) -> None:
    """Nested values judged by their parts: struct fields as ``col.field``, list items as ``col[]``."""
    out.setdefault(column, [])
    for v in values:
        if isinstance(v, dict) and depth < 4:
            for k, item in v.items():
                _flatten(f"{column}.{k}", [item], out, depth + 1)
        elif isinstance(v, list | tuple) and depth < 4:
            _flatten(f"{column}[]", list(v)[:20], out, depth + 1)
        else:
            out[column].append(v)


class Masker:
    """Masks every value a data tool shows: whole columns judged personal, and matches elsewhere.

    Struct fields and list items are judged and masked as columns of their own
    (``address.street``, ``emails[]``), so personal data nested in JSON is masked too.
    """

    def __init__(self, columns: Sequence[str], samples: Sequence[Sequence[Any]]):
        self.columns = list(columns)
        flat: dict[str, list[Any]] = {}
        for column, values in zip(columns, samples, strict=False):
            _flatten(column, list(values)[:JUDGE_VALUES], flat)
        # The judgement needs a few hundred values per column; every shown value is still masked.
        names = list(flat)
        self.findings = scan_table(names, [flat[n] for n in names], cautious=True)
        self.kind = {c: fs[0].kind for c, fs in self.findings.items() if fs}

    def value(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            return {k: self.value(f"{column}.{k}", v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(f"{column}[]", v) for v in value]
        kind = self.kind.get(column)
        text = str(value)
        if kind is not None:
            return mask(kind, text) if text.strip() else text
        if isinstance(value, bool) or isinstance(value, int | float) and abs(value) < 1_000_000:
            return value
        masked = mask_text(text, column.rsplit(".", 1)[-1].rstrip("[]"))
        return value if masked == text and not isinstance(value, str) else masked

    def rows(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        return [[self.value(self.columns[i], v) for i, v in enumerate(row)] for row in rows]

    @property
    def masked_columns(self) -> list[str]:
        return [c for c in self.kind if c.split(".")[0].split("[")[0] in self.columns]
