"""A labelled personal-data set generated with Faker (fixed seed): 26 PII and 22 decoy columns.

Each column is (name, label, generator); label is the kind of personal data, or None for a
decoy that looks technical or personal but is not. Locales: en_US, de_DE, fr_FR, en_GB,
it_IT, es_ES and nl_NL. Nothing here is copied from anywhere: every value is generated.
"""

from __future__ import annotations

import uuid
from typing import Any

ROWS = 300
SEED = 1414


def columns() -> list[tuple[str, str | None, Any]]:
    from faker import Faker

    fk = {loc: Faker(loc) for loc in ("en_US", "de_DE", "fr_FR", "en_GB", "it_IT", "es_ES", "nl_NL")}
    for i, f in enumerate(fk.values()):
        f.seed_instance(SEED + i)
    us, de, fr, gb, it, es, nl = fk.values()

    def uid() -> str:
        return str(uuid.UUID(int=us.random.getrandbits(128), version=4))

    def tracking() -> str:
        if us.random.random() < 0.5:
            return "1Z" + us.bothify("???###").upper() + str(us.random_number(10, fix_len=True))
        return str(us.random_number(12, fix_len=True))

    return [
        # personal data
        ("customer", "person_name", us.name),
        ("kunde", "person_name", de.name),
        ("client", "person_name", fr.name),
        ("contactpersoon", "person_name", nl.name),
        ("cliente", "person_name", es.name),
        ("ship_to", "address", lambda: us.address().replace("\n", ", ")),
        ("lieferadresse", "address", lambda: de.address().replace("\n", ", ")),
        ("adresse", "address", lambda: fr.address().replace("\n", ", ")),
        ("street", "address", gb.street_address),
        ("born_on", "birth_date", lambda: us.date_of_birth(minimum_age=18, maximum_age=90).isoformat()),
        ("geburtstag", "birth_date", lambda: de.date_of_birth(minimum_age=18, maximum_age=90).strftime("%d.%m.%Y")),
        ("contact", "email", us.email),
        ("kontakt", "email", de.free_email),
        ("phone_us", "phone", us.phone_number),
        ("telefon", "phone", de.phone_number),
        ("tel_fr", "phone", fr.phone_number),
        ("landline_gb", "phone", gb.phone_number),
        ("numero_es", "phone", es.phone_number),
        ("pan", "card", lambda: us.credit_card_number("visa16")),
        ("jcb", "card", lambda: us.credit_card_number("jcb15")),
        ("maestro", "card", lambda: us.credit_card_number("maestro")),
        ("konto", "iban", de.iban),
        ("rib", "iban", fr.iban),
        ("ssn_us", "ssn", us.ssn),
        ("codice", "national_id", it.ssn),
        ("access_log", "ip", lambda: f"GET /{us.uri_path()} ip={us.ipv4_public()} status=200"),
        # decoys
        ("order_uuid", None, uid),
        ("sha1", None, us.sha1),
        ("checksum", None, us.md5),
        ("ean", None, us.ean13),
        ("ean8", None, us.ean8),
        ("tracking_no", None, tracking),
        ("mac_address", None, us.mac_address),
        ("company", None, us.company),
        ("firma", None, de.company),
        ("city", None, us.city),
        ("stadt", None, de.city),
        ("ville", None, fr.city),
        ("job", None, us.job),
        ("slogan", None, us.catch_phrase),
        ("order_date", None, lambda: us.date_between("-3y", "today").isoformat()),
        ("amount", None, lambda: f"{us.pyfloat(left_digits=5, right_digits=2, positive=True)}"),
        ("app_version", None, lambda: ".".join(str(us.random_int(0, 20)) for _ in range(4))),
        ("user_agent", None, us.user_agent),
        ("url", None, us.url),
        ("isbn", None, us.isbn13),
        ("country_code", None, us.country_code),
        ("sku", None, lambda: us.bothify("SKU-#####-??").upper()),
    ]


def generate(rows: int = ROWS) -> tuple[list[str], list[str | None], list[list[str]]]:
    """(column names, labels, rows of string values)."""
    cols = columns()
    data = [[str(gen()) for _, _, gen in cols] for _ in range(rows)]
    return [c[0] for c in cols], [c[1] for c in cols], data
