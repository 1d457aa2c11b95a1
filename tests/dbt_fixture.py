"""A small multi-project dbt repository written by the tests (every file generated here).

``warehouses/logs/shop`` (under a folder named ``logs`` on purpose) exercises what dbt's
parser resolves: ``ref ('x')`` with a space, a ref inside a project macro, ``ref(var(...))``,
refs and columns made in ``{% for %}`` loops over the project's vars, a Python model,
versioned models, a YAML snapshot, disabled models (by config and by folder), exposures, a
semantic model and a metric, ``ref``/``source`` text in comments, a package macro we cannot
render, dbt_utils' star and surrogate key, and a schema.yml that documents one column only. ``warehouses/finance`` is a
second project, so the parent folder holds two.
"""

from __future__ import annotations

from pathlib import Path

SHOP = "warehouses/logs/shop"
FINANCE = "warehouses/finance"

FILES = {
    f"{SHOP}/dbt_project.yml": """name: shop
version: '1.0'
profile: shop
model-paths: ['models']
macro-paths: ['macros']
snapshot-paths: ['snapshots']
vars:
  payment_methods: ['card', 'cash', 'voucher']
  orders_model: stg_orders
models:
  shop:
    legacy:
      +enabled: false
""",
    f"{SHOP}/models/sources.yml": """version: 2
sources:
  - name: raw
    tables:
      - name: orders
        columns: [{name: id}, {name: customer_id}, {name: amount}, {name: status}, {name: method}]
      - name: customers
        columns: [{name: id}, {name: first_name}, {name: last_name}, {name: email}]
      - name: payments
""",
    f"{SHOP}/models/staging/stg_orders.sql": """-- also reads source('raw', 'refunds') in the old version (a comment, not a dependency)
select id as order_id, customer_id, amount, status, method
from {{ source ('raw', 'orders') }}
""",
    f"{SHOP}/models/staging/stg_customers.sql": """{# was: select * from {{ ref('old_customers') }} #}
select id as customer_id, first_name, last_name, email
from {{ source("raw", "customers") }}
""",
    f"{SHOP}/models/staging/stg_payments.py": """def model(dbt, session):
    dbt.config(materialized="table")
    return dbt.source("raw", "payments")
""",
    f"{SHOP}/macros/orders_base.sql": """{% macro orders_base() %}
select * from {{ ref('stg_orders') }}
{% endmacro %}
""",
    f"{SHOP}/models/marts/orders_via_macro.sql": "{{ orders_base() }}\n",
    f"{SHOP}/models/marts/order_payments.sql": """select order_id,
{% for m in var('payment_methods') %}
  sum(case when method = '{{ m }}' then amount else 0 end) as {{ m }}_amount{% if not loop.last %},{% endif %}
{% endfor %}
from {{ ref(var('orders_model')) }}
group by 1
""",
    f"{SHOP}/models/marts/all_orders.sql": """{% set parts = ['stg_orders', 'orders_via_macro'] %}
{% for p in parts %}
select order_id, amount from {{ ref(p) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
""",
    f"{SHOP}/models/marts/dim_customers_v1.sql": "select customer_id, first_name from {{ ref('stg_customers') }}\n",
    f"{SHOP}/models/marts/dim_customers_v2.sql": """select customer_id, first_name || ' ' || last_name as full_name
from {{ ref('stg_customers') }}
""",
    f"{SHOP}/models/marts/customer_report.sql": """select c.customer_id, c.full_name, count(*) as orders
from {{ ref('dim_customers') }} c join {{ ref('stg_orders') }} o on o.customer_id = c.customer_id
group by 1, 2
""",
    f"{SHOP}/models/marts/legacy_report.sql": "select * from {{ ref('dim_customers', v=1) }}\n",
    f"{SHOP}/models/marts/retired.sql": "{{ config(enabled=false) }}\nselect * from {{ ref('stg_orders') }}\n",
    f"{SHOP}/models/legacy/old_customers.sql": "select * from {{ ref('stg_customers') }}\n",
    f"{SHOP}/models/marts/pivoted.sql": """select order_id, {{ dbt_utils.pivot('status', ['new', 'paid']) }}
from {{ ref('stg_orders') }}
group by 1
""",
    f"{SHOP}/models/marts/customers_keyed.sql": """select
  {{ dbt_utils.generate_surrogate_key(['customer_id', 'email']) }} as customer_key,
  {{ dbt_utils.star(from=ref('stg_customers')) }}
from {{ ref('stg_customers') }}
""",
    f"{SHOP}/models/marts/schema.yml": """version: 2
models:
  - name: customer_report
    description: Orders per customer.
    columns:
      - name: customer_id
        description: The customer.
        data_tests: [unique, not_null]
  - name: dim_customers
    latest_version: 2
    versions:
      - v: 1
      - v: 2
exposures:
  - name: weekly_dashboard
    type: dashboard
    owner: {name: Data team}
    depends_on: [ref('customer_report'), ref('order_payments')]
semantic_models:
  - name: orders
    model: ref('orders_via_macro')
    measures:
      - {name: order_total, agg: sum, expr: amount}
metrics:
  - name: revenue
    label: Revenue
    type: simple
    type_params: {measure: order_total}
""",
    f"{SHOP}/snapshots/snapshots.yml": """snapshots:
  - name: orders_snapshot
    relation: ref('stg_orders')
    config: {unique_key: order_id, strategy: check, check_cols: all}
""",
    f"{FINANCE}/dbt_project.yml": "name: finance\nversion: '1.0'\nprofile: finance\n",
    f"{FINANCE}/seeds/ledger.csv": "account,amount\n100,5\n",
    f"{FINANCE}/models/balances.sql": "select account, sum(amount) as balance from {{ ref('ledger') }} group by 1\n",
}

SHOP_EDGES = {
    ("source.raw.orders", "model.stg_orders"), ("source.raw.customers", "model.stg_customers"),
    ("source.raw.payments", "model.stg_payments"),
    ("model.stg_orders", "model.orders_via_macro"), ("model.stg_orders", "model.order_payments"),
    ("model.stg_orders", "model.all_orders"), ("model.orders_via_macro", "model.all_orders"),
    ("model.stg_customers", "model.dim_customers.v1"), ("model.stg_customers", "model.dim_customers.v2"),
    ("model.dim_customers.v2", "model.customer_report"), ("model.stg_orders", "model.customer_report"),
    ("model.dim_customers.v1", "model.legacy_report"), ("model.stg_orders", "model.pivoted"),
    ("model.stg_orders", "snapshot.orders_snapshot"), ("model.stg_customers", "model.customers_keyed"),
    ("model.customer_report", "exposure.weekly_dashboard"), ("model.order_payments", "exposure.weekly_dashboard"),
    ("model.orders_via_macro", "semantic_model.orders"), ("semantic_model.orders", "metric.revenue"),
}

# Column lineage the fixture's SQL determines (our expected answer, worked out by hand).
SHOP_COLUMNS = {
    "stg_orders": {"order_id": ["raw.orders.id"], "customer_id": ["raw.orders.customer_id"],
                   "amount": ["raw.orders.amount"], "status": ["raw.orders.status"], "method": ["raw.orders.method"]},
    "orders_via_macro": {"order_id": ["stg_orders.order_id"], "customer_id": ["stg_orders.customer_id"],
                         "amount": ["stg_orders.amount"], "status": ["stg_orders.status"],
                         "method": ["stg_orders.method"]},
    "order_payments": {"order_id": ["stg_orders.order_id"],
                       "card_amount": ["stg_orders.method", "stg_orders.amount"],
                       "cash_amount": ["stg_orders.method", "stg_orders.amount"],
                       "voucher_amount": ["stg_orders.method", "stg_orders.amount"]},
    "all_orders": {"order_id": ["stg_orders.order_id", "orders_via_macro.order_id"],
                   "amount": ["stg_orders.amount", "orders_via_macro.amount"]},
    "dim_customers v2": {"customer_id": ["stg_customers.customer_id"],
                         "full_name": ["stg_customers.first_name", "stg_customers.last_name"]},
    "customer_report": {"customer_id": ["dim_customers v2.customer_id"],
                        "full_name": ["dim_customers v2.full_name"], "orders": []},
    "customers_keyed": {"customer_key": ["stg_customers.customer_id", "stg_customers.email"],
                        "customer_id": ["stg_customers.customer_id"], "first_name": ["stg_customers.first_name"],
                        "last_name": ["stg_customers.last_name"], "email": ["stg_customers.email"]},
    "legacy_report": {"customer_id": ["dim_customers v1.customer_id"],
                      "first_name": ["dim_customers v1.first_name"]},
}


def write_dbt_repo(repo: Path) -> Path:
    from tests.data_fixtures import write_tree

    write_tree(repo, FILES)
    return repo / "warehouses"
