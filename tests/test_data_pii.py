"""PII detectors (with their lookalikes), masks, and the ScanPII tool on data and text files."""

from __future__ import annotations

import json

import pytest

from de_agent.tools.base import READ, ToolError
from de_agent.tools.data.helpers.pii import column_hint, find_pii, mask, mask_text, scan_lines
from de_agent.tools.data.scan import ScanPII
from tests.data_fixtures import PEOPLE_COLUMNS, PEOPLE_PII, PEOPLE_ROWS, context, write_parquet, write_people

POSITIVES = [
    ("write to jane.doe+news@mail.example.co.uk", "email", "jane.doe+news@mail.example.co.uk"),
    ("+44 20 7946 0958", "phone", "+44 20 7946 0958"),
    ("call (555) 234-5678 today", "phone", "(555) 234-5678"),
    ("555.234.5678", "phone", "555.234.5678"),
    ("Tel. 030 12345678", "phone", "030 12345678"),
    ("visa 4111 1111 1111 1111", "card", "4111 1111 1111 1111"),
    ("mc 5555-5555-5555-4444", "card", "5555-5555-5555-4444"),
    ("amex 378282246310005", "card", "378282246310005"),
    ("IBAN DE89 3704 0044 0532 0130 00 (EUR)", "iban", "DE89 3704 0044 0532 0130 00"),
    ("GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
    ("ssn 123-45-6789", "ssn", "123-45-6789"),
    ("from 192.168.1.20 port 22", "ip", "192.168.1.20"),
    ("peer 2001:db8::8a2e:370:7334 closed", "ip", "2001:db8::8a2e:370:7334"),
    ("GET /a ip=25.140.220.21 status=200", "ip", "25.140.220.21"),
    ("jcb 2131 0000 0000 001", "card", "2131 0000 0000 001"),
    ("maestro 6759 0000 0000", "card", "6759 0000 0000"),
    ("+1-912-490-4047x96669", "phone", "+1-912-490-4047x96669"),
    ("001-883-237-8876x232", "phone", "001-883-237-8876x232"),
    ("Tel (0511) 123456", "phone", "(0511) 123456"),
]
LOOKALIKES = [
    "icon@2x.png",                   # image name, not an email
    "npm i left-pad@1.3.0",          # package version
    "4111 1111 1111 1112",           # Luhn fails
    "1234567890123456",              # Luhn fails, no card prefix
    "9111111111111111",              # no card network starts with 9
    "DE89 3704 0044 0532 0130 01",   # IBAN check digits fail
    "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "078-05-1120",  # never-issued SSNs
    "version 1.2.3.4", "v1.2.3.4", "requests==2.31.0.1", "release: 4.3.2.1", "1.2.3.4-rc1",
    "300.1.2.3", "1.2.3.4.5", "127.0.0.1", "0.0.0.0", "01.02.03.04",
    "2024-01-15", "15/01/2024", "12:30:45", "00:1A:2B:3C:4D:5E", "order 2024-000123",
    "build 10.0.19041.1",
    "550e8400-e29b-41d4-a716-446655440000",       # UUID
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",   # SHA-1
    "4006381333931", "036000291452",              # EAN-13 and UPC-A product codes
    "1Z999AA10123456784",                         # UPS tracking number
    "Mozilla/5.0 (X11; Linux i686; rv:1.9.6.20) Gecko/20100101",
    "6731658154566.79",                           # an amount, not a card
]


@pytest.mark.parametrize(("text", "kind", "value"), POSITIVES)
def test_detectors_find_real_personal_data(text, kind, value):
    matches = find_pii(text)
    assert [(m.kind, m.text) for m in matches] == [(kind, value)]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_personal_data(text):
    assert find_pii(text) == []


def test_version_rule_uses_the_column_name():
    assert find_pii("1.2.3.4") != []
    assert find_pii("1.2.3.4", column="app_version") == []
    assert find_pii("1.2.3.4", column="release") == []


@pytest.mark.parametrize(("text", "kind", "value"), POSITIVES)
def test_masks_never_echo_the_value(text, kind, value):
    masked = mask(kind, value)
    assert masked != value and value not in mask_text(text)
    assert sum(c.isdigit() for c in masked) <= 4
    if kind == "email":
        local, domain = value.split("@")
        assert local not in masked and domain.rsplit(".", 1)[0] not in masked


@pytest.mark.parametrize(("name", "kind"), [
    ("email", "email"), ("customerEmail", "email"), ("e_mail", "email"), ("first_name", "person_name"),
    ("DateOfBirth", "birth_date"), ("dob", "birth_date"), ("ssn", "ssn"), ("phone_number", "phone"),
    ("client_ip", "ip"), ("zip", "address"), ("api_key", "credential"),
    ("amount", None), ("product_name", None), ("mac_address", None), ("macAddress", None),
    ("wallet_address", None), ("home_address", "address"), ("created_at", None), ("version", None), ("zipper_size", None),
])
def test_column_name_hints(name, kind):
    assert column_hint(name) == kind


def test_text_lines_report_line_numbers():
    lines = ["ok", "mail ann@example.com", "nothing", "ann@example.com and bo@example.org", "v1.2.3.4"]
    (finding,) = scan_lines(lines)
    assert (finding.kind, finding.matches, finding.lines) == ("email", 2, [2, 4])
    assert finding.examples == ["a***@e***.com", "b***@e***.org"]


async def scan(repo, **args):
    action = await ScanPII().prepare(args, context(repo))
    assert action.kind == READ and not action.asks
    return await action.run(None)


def by_column(outcome) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in outcome.display["rows"]:
        found.setdefault(row[0], set()).add(row[1])
    return found


async def test_scan_csv_flags_seeded_columns_and_not_lookalikes(repo):
    write_people(repo)
    out = await scan(repo, path="data/people.csv")
    found = by_column(out)
    for column, kind in PEOPLE_PII.items():
        assert kind in found[column], column
    assert found["notes"] == {"email", "phone"}
    for clean in ("payment_ref", "bank_ref", "case_code", "version", "build_info", "order_no", "id"):
        assert clean not in found, clean
    email_row = next(r for r in out.display["rows"] if r[0] == "email")
    assert email_row[2].startswith("3 of 3") and email_row[3] == "100.0%"
    everything = out.output + json.dumps(out.display)
    for row in PEOPLE_ROWS:
        for value, column in zip(row, PEOPLE_COLUMNS, strict=True):
            if column in PEOPLE_PII and value:
                assert str(value) not in everything


async def test_scan_selected_columns_and_unknown_columns(repo):
    write_people(repo)
    out = await scan(repo, path="data/people.csv", columns=["ip", "version"])
    assert by_column(out) == {"ip": {"ip"}}
    action = await ScanPII().prepare({"path": "data/people.csv", "columns": ["nope"]}, context(repo))
    with pytest.raises(ToolError, match="no column 'nope'"):
        await action.run(None)


async def test_scan_parquet_glob_and_name_only_hints(repo):
    write_parquet(repo, "lake/a.parquet", "SELECT range AS id, DATE '1990-01-01' + range::INT AS dob, "
                  "'user' || range || '@corp.example.com' AS contact FROM range(50)")
    write_parquet(repo, "lake/b.parquet", "SELECT range + 50 AS id, DATE '1991-01-01' AS dob, "
                  "NULL AS contact FROM range(50)")
    out = await scan(repo, path="lake/*.parquet")
    assert "sampled 100 of 100 rows" in out.output
    found = by_column(out)
    assert found == {"dob": {"birth_date"}, "contact": {"email"}}
    contact = next(r for r in out.display["rows"] if r[0] == "contact")
    assert contact[2] == "50 of 50" and contact[3] == "100.0%"


async def test_scan_text_file_with_line_numbers(repo):
    (repo / "logs").mkdir()
    (repo / "logs" / "app.log").write_text(
        "INFO started version 1.2.3.4\n"
        "INFO login user=ann@example.com from 203.0.113.7\n"
        "WARN card 4111111111111112 rejected\n"
        "INFO refund to 4111 1111 1111 1111\n")
    out = await scan(repo, path="logs/app.log")
    rows = {r[0]: r for r in out.display["rows"]}
    assert set(rows) == {"email", "ip", "card"}
    assert out.display["columns"][2] == "line numbers"
    assert (rows["email"][2], rows["ip"][2], rows["card"][2]) == ("2", "2", "4")
    assert "ann@example.com" not in out.output and "203.0.113.7" not in out.output


async def test_scan_refuses_paths_outside_and_binary_files(repo):
    with pytest.raises(ToolError, match="outside the repository"):
        await ScanPII().prepare({"path": "/etc/passwd"}, context(repo))
    (repo / "blob.bin").write_bytes(b"\x00\x01binary")
    action = await ScanPII().prepare({"path": "blob.bin"}, context(repo))
    with pytest.raises(ToolError, match="binary"):
        await action.run(None)
    with pytest.raises(ToolError, match="data files only"):
        await ScanPII().prepare({"path": "README.md", "columns": ["x"]}, context(repo))


async def test_scan_reads_the_python_formats_too(repo):
    import pyarrow as pa
    import pyarrow.feather as feather

    (repo / "data").mkdir()
    feather.write_feather(pa.table({"contact": ["ann.lee@example.com", "bo@example.org"], "n": [1, 2]}),
                          str(repo / "data" / "people.feather"))
    action = await ScanPII().prepare({"path": "data/people.feather"}, context(repo))
    out = await action.run(None)
    assert "1 column look personal: contact" in out.output
    assert "ann.lee@example.com" not in out.output
