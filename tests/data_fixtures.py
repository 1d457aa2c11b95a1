"""Data files the data-tool tests write into their temporary repositories."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from de_agent.config import Settings
from de_agent.tools.base import ToolContext
from de_agent.workspace import Workspace

ORDERS_CSV = """order_id,customer,amount,code,status,email
1,alice,10.5,7,paid,alice.smith@example.com
2,bob,,A2,paid,
3,carol,7.25,3.5,new,carol@example.org
4,,12.0,9,,dave@example.net
5,erin,3.0,x,refunded,
"""

# Personal data seeded per column, with lookalikes that must not count.
PEOPLE_COLUMNS = ["id", "email", "phone", "card", "iban", "ssn", "ip", "notes",
                  "payment_ref", "bank_ref", "case_code", "version", "build_info", "order_no"]
PEOPLE_ROWS = [
    [1, "ann.lee@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
     "123-45-6789", "192.168.10.20", "call me at (555) 234-5678", "4111 1111 1111 1112",
     "DE89 3704 0044 0532 0130 01", "000-12-3456", "1.2.3.4", "build 10.0.19041.1", "2024-000123"],
    [2, "bo@shop.example.org", "(555) 234-9876", "5555555555554444", "GB82WEST12345698765432",
     "234-56-7890", "10.0.0.5", "no contact details", "5555555555554445",
     "GB82WEST12345698765433", "666-12-3456", "2.10.3.1", "v3.2.1.0 released", "2024-000124"],
    [3, "cy@example.net", "555-345-6789", "378282246310005", "FR14 2004 1010 0505 0001 3M02 606",
     "345-67-8901", "2001:db8::8a2e:370:7334", "mail cy@example.net please", "1234567890123456",
     "FR14 2004 1010 0505 0001 3M02 607", "900-12-3456", "4.3.2.1", "requests==2.31.0.1", "2024-000125"],
    [4, None, None, None, None, None, None, "icon@2x.png and 12:30:45", None, None, None,
     "10.4.1.2", "see 1.2.3.4-rc1", "2024-000126"],
]
# Columns that hold personal data (the scanner should flag exactly these, by value).
PEOPLE_PII = {"email": "email", "phone": "phone", "card": "card", "iban": "iban", "ssn": "ssn", "ip": "ip"}


def context(repo: Path, **settings) -> ToolContext:
    return ToolContext(Workspace(repo), Settings(**settings))


def write_orders_csv(repo: Path, name: str = "data/orders.csv") -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ORDERS_CSV)
    return path


def write_ndjson(repo: Path, name: str = "data/events.ndjson") -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    events = [{"id": i, "kind": "click" if i % 3 else "view", "props": {"page": f"/p/{i % 4}"},
               "user_ip": None if i % 5 == 0 else f"172.16.0.{i}"} for i in range(1, 21)]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def write_parquet(repo: Path, name: str, sql: str) -> Path:
    import duckdb

    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
    con.close()
    return path


def write_partitioned(repo: Path, folder: str = "data/sales") -> Path:
    base = repo / folder
    for year in (2023, 2024):
        for month in (1, 2):
            write_parquet(repo, f"{folder}/year={year}/month={month}/part-0.parquet",
                          f"SELECT range AS sale_id, {year * 100 + month} * 1.0 + range AS amount "
                          f"FROM range({year - 2020})")
    (base / "_SUCCESS").write_text("")
    (base / ".part-0.parquet.crc").write_text("junk")
    return base


def write_people(repo: Path, name: str = "data/people.csv") -> Path:
    import csv

    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(PEOPLE_COLUMNS)
        for row in PEOPLE_ROWS:
            writer.writerow(["" if v is None else v for v in row])
    return path


def write_sqlite(repo: Path, name: str = "db/app.sqlite") -> Path:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
    conn.executemany("INSERT INTO users VALUES (?, ?, ?)", [(1, "ann", 3.5), (2, "bo", None), (3, "cy", 9.0)])
    conn.commit()
    conn.close()
    return path


def write_duckdb(repo: Path, name: str = "db/warehouse.duckdb") -> Path:
    import duckdb

    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE dim_customer AS SELECT range AS id, 'c' || range AS name FROM range(5)")
    con.close()
    return path


DBT_FILES = {
    "shop/dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\nmodel-paths: ['models']\nseed-paths: ['seeds']\n",
    "shop/models/sources.yml": """version: 2
sources:
  - name: raw
    schema: raw_data
    tables:
      - name: orders
        columns: [{name: id}, {name: customer_id}, {name: amount}, {name: status}]
      - name: customers
        identifier: customer_master
        columns: [{name: id}, {name: name}, {name: country}]
""",
    "shop/models/schema.yml": """version: 2
models:
  - name: fct_orders
    description: One row per paid order.
""",
    "shop/models/staging/stg_orders.sql": """{{ config(materialized='view') }}
-- staging: rename and filter
select id as order_id, customer_id, amount, status
from {{ source('raw', 'orders') }}
where status != 'test'
""",
    "shop/models/staging/stg_customers.sql": """select id as customer_id, upper(name) as customer_name, country
from {{ source("raw", "customers") }}
""",
    "shop/models/marts/fct_orders.sql": """{{ config(materialized='incremental') }}
with o as (select * from {{ ref('stg_orders') }}),
     c as (select * from {{ ref('stg_customers') }})
select o.order_id, c.customer_name, o.amount * {{ var('fx_rate', 1) }} as amount_eur, r.region
from o
join c on o.customer_id = c.customer_id
left join {{ ref('country_regions') }} r on r.country = c.country
{% if is_incremental() %}
where o.order_id > (select max(order_id) from {{ this }})
{% endif %}
""",
    "shop/models/marts/customer_ltv.sql": """select customer_name, sum(amount_eur) as lifetime_value
from {{ ref('fct_orders') }}
group by 1
""",
    "shop/models/marts/broken.sql": "select from where {{ ref('fct_orders') }} ((\n",
    "shop/models/marts/uses_missing.sql": "select * from {{ ref('not_a_model') }}\n",
    "shop/models/staging/stg_clicks.sql": "select page, ts from {{ source('events', 'clicks') }}\n",
    "shop/models/bad.yml": "models: [unclosed\n",
    "shop/seeds/country_regions.csv": "country,region\nDE,EU\nUS,NA\n",
}


def write_tree(repo: Path, files: dict[str, str]) -> None:
    """Write {relative path: text} into repo, making folders as needed."""
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_dbt_project(repo: Path) -> Path:
    write_tree(repo, DBT_FILES)
    return repo / "shop"
