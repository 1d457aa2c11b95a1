"""Common given names and family names, for telling a column of person names by its values.

The lists live in ``pii_names.txt.gz`` next to this module: one name a line, lower case,
a ``#given`` and a ``#family`` section. They were generated from the person-name data of
Faker (MIT licence, https://github.com/joke2k/faker) for the Latin-script locales in
``LOCALES``; run ``python -m de_agent.tools.data.helpers.pii_names`` with Faker installed to
regenerate them. Faker itself is not needed at run time.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("pii_names.txt.gz")
LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH", "es_ES", "es_MX",
           "it_IT", "nl_NL", "pt_BR", "pt_PT", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "cs_CZ", "sk_SK",
           "hu_HU", "ro_RO", "hr_HR", "sl_SI", "tr_TR", "lt_LT", "lv_LV", "et_EE")


@lru_cache(maxsize=1)
def names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), lower case."""
    given: set[str] = set()
    family: set[str] = set()
    target = given
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            word = line.strip()
            if word == "#given":
                target = given
            elif word == "#family":
                target = family
            elif word:
                target.add(word)
    return frozenset(given), frozenset(family)


def _generate() -> None:
    import importlib

    given: set[str] = set()
    family: set[str] = set()
    for locale in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_female", "first_names_male"):
            given |= {str(n).lower() for n in getattr(provider, attr, ()) or ()}
        for attr in ("last_names", "last_names_female", "last_names_male"):
            family |= {str(n).lower() for n in getattr(provider, attr, ()) or ()}
    text = "#given\n" + "\n".join(sorted(given)) + "\n#family\n" + "\n".join(sorted(family)) + "\n"
    with gzip.open(DATA, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write(text)
    print(f"{DATA}: {len(given)} given names, {len(family)} family names")


if __name__ == "__main__":
    _generate()
