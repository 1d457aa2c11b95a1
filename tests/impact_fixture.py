"""A small dbt-duckdb project written by the tests, with seeded data and hand-computed lineage.

``jaffle/``: sources raw.orders and raw.customers (in ``jaffle/warehouse.duckdb``, the
dbt-duckdb target named in ``jaffle/profiles.yml``, which tests point DBT_PROFILES_DIR at,
as a person's own profiles.yml), staging models, a mart that joins them, a
mart reading it through ``select *``, a report that aggregates, and YAML with tests, an
exposure, a semantic model and a metric. ``build_warehouse`` builds every model into the
target the way ``dbt run`` would (tables in schema main), so data diffs have upstream data.
"""

from __future__ import annotations

from pathlib import Path

P = "jaffle"

FILES = {
    f"{P}/dbt_project.yml": "name: jaffle\nversion: '1.0'\nprofile: jaffle\nmodel-paths: ['models']\n",
    f"{P}/profiles.yml": ("jaffle:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                          "      path: warehouse.duckdb\n"),
    f"{P}/models/sources.yml": """version: 2
sources:
  - name: raw
    tables:
      - name: orders
        columns: [{name: id}, {name: customer_id}, {name: amount}, {name: status}]
      - name: customers
        columns: [{name: id}, {name: name}, {name: email}]
""",
    f"{P}/models/stg_orders.sql": """select id as order_id, customer_id, amount, status
from {{ source('raw', 'orders') }}
""",
    f"{P}/models/stg_customers.sql": """select id as customer_id, name, email
from {{ source('raw', 'customers') }}
""",
    f"{P}/models/orders.sql": """select o.order_id, o.customer_id, c.name as customer_name, o.amount, o.status
from {{ ref('stg_orders') }} o
join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id
""",
    f"{P}/models/orders_enriched.sql": """select *, amount * 100 as amount_cents
from {{ ref('orders') }}
""",
    f"{P}/models/customer_report.sql": """select customer_id, count(*) as order_count, sum(amount) as revenue
from {{ ref('orders') }}
group by customer_id
""",
    f"{P}/models/status_counts.sql": """select status, count(*) as n
from {{ ref('stg_orders') }}
group by status
""",
    f"{P}/models/schema.yml": """version: 2
models:
  - name: orders
    columns:
      - name: order_id
        data_tests: [unique, not_null]
      - name: amount
        data_tests: [not_null]
  - name: customer_report
    columns:
      - name: customer_id
        data_tests: [unique]
      - name: revenue
        data_tests: [not_null]
exposures:
  - name: revenue_dashboard
    type: dashboard
    owner: {name: Finance}
    depends_on: ["ref('customer_report')"]
semantic_models:
  - name: orders_sm
    model: ref('orders_enriched')
    measures:
      - name: total_cents
        agg: sum
        expr: amount_cents
metrics:
  - name: total_revenue_cents
    type: simple
    type_params:
      measure: total_cents
""",
}

# Model -> output column -> the columns it is computed from (written by hand, not by our lineage).
LINEAGE = {
    "stg_orders": {"order_id": ["raw.orders.id"], "customer_id": ["raw.orders.customer_id"],
                   "amount": ["raw.orders.amount"], "status": ["raw.orders.status"]},
    "orders": {"order_id": ["stg_orders.order_id"], "customer_id": ["stg_orders.customer_id"],
               "customer_name": ["stg_customers.name"], "amount": ["stg_orders.amount"],
               "status": ["stg_orders.status"]},
    "orders_enriched": {"order_id": ["orders.order_id"], "customer_id": ["orders.customer_id"],
                        "customer_name": ["orders.customer_name"], "amount": ["orders.amount"],
                        "status": ["orders.status"], "amount_cents": ["orders.amount"]},
    "customer_report": {"customer_id": ["orders.customer_id"], "order_count": [],
                        "revenue": ["orders.amount"]},
    "status_counts": {"status": ["stg_orders.status"], "n": []},
}

ORDERS = [(i, 1 + i % 50, round(10 + (i * 7) % 90 + 0.5, 2), "paid" if i % 4 else "refunded")
          for i in range(1, 1001)]
CUSTOMERS = [(i, f"Customer {i}", f"person{i}@example.com") for i in range(1, 51)]
ORDER_MODELS = ["stg_orders", "stg_customers", "orders", "orders_enriched", "customer_report", "status_counts"]


def write_project(root: Path, with_data: bool = True) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if with_data:
        build_warehouse(root)
    return root / P


def build_warehouse(root: Path) -> None:
    """raw.* tables with seeded rows and every model built in main, as dbt-duckdb would."""
    import duckdb

    from de_agent.tools.data.helpers.dbt_jinja import Renderer

    path = root / P / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema raw")
        con.execute("create table raw.orders (id integer, customer_id integer, amount decimal(10,2), status varchar)")
        con.executemany("insert into raw.orders values (?, ?, ?, ?)", ORDERS)
        con.execute("create table raw.customers (id integer, name varchar, email varchar)")
        con.executemany("insert into raw.customers values (?, ?, ?)", CUSTOMERS)
        renderer = Renderer({}, [], "jaffle")
        for name in ORDER_MODELS:
            sql = renderer.render((root / P / "models" / f"{name}.sql").read_text(), name).sql
            sql = sql.replace("raw__orders", "raw.orders").replace("raw__customers", "raw.customers")
            con.execute(f"create table main.{name} as {sql}")
    finally:
        con.close()
