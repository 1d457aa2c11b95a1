"""Is this SQL a read, in the connection's own dialect? sqlglot first, then per-engine functions.

A plain SELECT can still change things on a server: ``pg_terminate_backend``, ``set_config``,
``dblink``, large-object ``lo_*`` functions, ``nextval``, advisory locks, Spark's
``reflect``/``java_method``, Snowflake's ``SYSTEM$`` functions, ``SELECT ... FOR UPDATE``.
Those make the statement ask like a write. The server-side read-only transaction or
session (see the drivers) is the second, independent line.
"""

from __future__ import annotations

import re

from de_agent.tools.data.sql import Classification, quiet_sqlglot
from de_agent.tools.data.sql import classify as classify_duckdb

_RISKY_COMMON = re.compile(r"(?i)^(set_config|nextval|setval|currval_reset|lo_\w+|dblink\w*|pg_terminate_backend|"
                           r"pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_switch_w[ax]l|pg_promote|"
                           r"pg_create_\w+|pg_drop_\w+|pg_replication_\w+|pg_logical_\w+|pg_advisory_\w+|"
                           r"pg_try_advisory_\w+|pg_read_\w*file|pg_ls_\w+|pg_stat_file|pg_file_\w+|pg_notify|"
                           r"pg_import_system_collations|pg_stat_reset\w*|txid_current|pg_current_xact_id|"
                           r"query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*|dblink|load_extension|writefile)$")
_RISKY_BY_DIALECT = {
    "spark": re.compile(r"(?i)^(reflect|java_method|try_reflect|assert_true|raise_error)$"),
    "databricks": re.compile(r"(?i)^(reflect|java_method|try_reflect|http_request|ai_\w+)$"),
    "snowflake": re.compile(r"(?i)^(system\$\w+|system_\w+)$"),
    "bigquery": re.compile(r"(?i)^(external_query)$"),
    "trino": re.compile(r"(?i)^(kill_query)$"),
}
_SYSTEM_DOLLAR = re.compile(r"(?i)\bsystem\$\w+\s*\(")


def _function_names(stmt) -> list[str]:
    from sqlglot import exp

    out = []
    for node in stmt.walk():
        if isinstance(node, exp.Anonymous):
            out.append(str(node.name))
        elif isinstance(node, exp.Func):
            out.append(node.sql_name())
    return out


def classify(sql: str, dialect: str) -> Classification:
    """Whether sql may write or change state on an engine of this dialect, and why."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    verdict = classify_duckdb(sql, dialect)
    if verdict.writes:
        return verdict
    if dialect == "snowflake" and _SYSTEM_DOLLAR.search(sql):
        return Classification(True, verdict.statements, ["calls a SYSTEM$ function"])
    try:
        with quiet_sqlglot():
            parsed = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError:
        return Classification(True, 0, ["could not be parsed; treated as writing"])
    extra = _RISKY_BY_DIALECT.get(dialect)
    reasons = []
    for i, stmt in enumerate(parsed, 1):
        why = None
        if any(isinstance(n, exp.Lock) for n in stmt.walk()):
            why = "takes row locks (FOR UPDATE/SHARE)"
        for fn in _function_names(stmt):
            if _RISKY_COMMON.match(fn) or (extra and extra.match(fn)):
                why = f"calls {fn}(), which can change state on the server"
                break
        if why:
            reasons.append(f"statement {i}: {why}" if len(parsed) > 1 else why)
    return Classification(bool(reasons), len(parsed), reasons)
