"""RunSQL: DuckDB on the repository's files, or a read-only DuckDB/SQLite database file.

Statements are classified with sqlglot before anything runs. Pure queries are a read
tool; anything that writes or changes state (CREATE, INSERT, COPY ... TO, ATTACH,
INSTALL/LOAD, SET, a PRAGMA that is not a report) becomes an ``execute`` action that asks,
like a shell command. SQL sqlglot cannot parse goes to DuckDB's own parser: its error is
returned as the tool's error (never an approval), and what it parses is classified by
DuckDB's statement types. PIVOT and UNPIVOT are reads.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, field_validator

from de_agent.tools.base import (
    EXECUTE,
    READ,
    Action,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    bound_text,
    simple_action,
)
from de_agent.tools.data.helpers.tabular import table_display
from de_agent.tools.schema import ToolArgs
from de_agent.workspace import ConfinementError

DEFAULT_ROWS, MAX_ROWS = 100, 1000
_SECRET_EXAMPLES = (".env", ".env.local", "server.pem", "id_rsa", "id_ed25519", "tls.key", "cert.p12",
                    "cert.pfx", ".netrc", ".pgpass", "credentials.json")
_SIDE_EFFECT_FUNCTIONS = {"load_extension", "writefile"}


@dataclass
class Classification:
    """Whether SQL may write, and why (one reason per offending statement)."""

    writes: bool
    statements: int
    reasons: list[str] = field(default_factory=list)
    parse_error: str | None = None
    commands: bool = False  # sqlglot fell back to an opaque Command: DuckDB's parser should check it


@contextmanager
def quiet_sqlglot():
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _read_pragmas() -> frozenset[str]:
    from de_agent.tools.data.helpers.sql_exec import READ_PRAGMAS

    return READ_PRAGMAS


def _statement_writes(stmt: Any, dialect: str) -> str | None:
    """Why one parsed statement writes or changes state, or None for a plain read."""
    from sqlglot import exp

    if isinstance(stmt, exp.Command) and stmt.name.upper() == "EXPLAIN":
        inner = stmt.expression.name if stmt.expression else ""
        words = inner.split(None, 1)
        if words and words[0].upper() in ("ANALYZE", "ANALYSE"):
            inner = words[1] if len(words) > 1 else ""
        verdict = classify(inner, dialect) if inner.strip() else None
        return None if verdict and not verdict.writes else "EXPLAIN of a statement that writes"
    if isinstance(stmt, exp.Pragma):
        target = stmt.this
        if isinstance(target, exp.EQ):
            return f"PRAGMA {target.this.name} sets a value"
        name = target.name if isinstance(target, exp.Anonymous | exp.Column) else ""
        if name.lower() in _read_pragmas():
            return None
        return f"PRAGMA {name or '?'} may change settings"
    if isinstance(stmt, exp.Command):
        return f"{stmt.name.upper()} is not a read-only statement"
    if not isinstance(stmt, exp.Query | exp.Describe | exp.Summarize | exp.Show | exp.Pivot):
        if isinstance(stmt, exp.Condition):
            return "not recognised as a statement; treated as writing"
        return f"{stmt.key.upper()} writes or changes state"
    if stmt.args.get("into") and not isinstance(stmt, exp.Pivot):  # UNPIVOT ... INTO NAME x VALUE y
        return "SELECT ... INTO creates a table"
    for node in stmt.walk():
        if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Create | exp.Drop | exp.Copy
                      | exp.Merge | exp.Alter | exp.Command):
            return f"contains {node.key.upper()}"
        if isinstance(node, exp.Anonymous) and node.name.lower() in _SIDE_EFFECT_FUNCTIONS:
            return f"calls {node.name}()"
    return None


def classify(sql: str, dialect: str = "duckdb") -> Classification:
    """Parse sql with sqlglot and say whether any statement writes."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        with quiet_sqlglot():
            parsed = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Classification(False, 0, parse_error=first)
    from sqlglot import exp

    reasons = []
    for i, stmt in enumerate(parsed, 1):
        why = _statement_writes(stmt, dialect)
        if why:
            reasons.append(f"statement {i}: {why}" if len(parsed) > 1 else why)
    return Classification(bool(reasons), len(parsed), reasons,
                          commands=any(isinstance(s, exp.Command | exp.Condition | exp.Alias) for s in parsed))


def duckdb_classify(sql: str) -> Classification:
    """DuckDB's own parse of SQL sqlglot could not read: ToolError with DuckDB's message, or a verdict."""
    import duckdb

    from de_agent.tools.data.helpers.sql_exec import duck_read_only

    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        statements = con.extract_statements(sql)
        why = duck_read_only(con, sql)
    except duckdb.Error as exc:
        raise ToolError(f"DuckDB cannot parse the SQL: {str(exc).strip()}") from None
    finally:
        con.close()
    return Classification(bool(why), len(statements), [why] if why else [])


def outside_paths(ws: Any, sql: str, dialect: str) -> list[str]:
    """Quoted paths in sql that exist but lead out of the repository (a symlink, ../, an absolute path)."""
    import os

    from de_agent.workspace import ConfinementError

    found = []
    for text in _literals(sql, dialect):
        if not text or len(text) > 4096 or "\x00" in text or set("*?[") & set(text) or "://" in text:
            continue
        path = text if os.path.isabs(text) else os.path.join(ws.root, text)
        if not (os.path.islink(path) or os.path.isfile(path)):
            continue
        try:
            ws.relative(text)
        except ConfinementError:
            real = os.path.realpath(path)
            link = " (a symlink)" if os.path.islink(path) else ""
            found.append(f"{text}{link} resolves to {real}, outside the repository")
        except (OSError, ValueError):
            continue
    return found


def _literals(sql: str, dialect: str) -> list[str]:
    """String literals and identifiers in sql: the places a file path can hide."""
    import re

    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    kinds = {TokenType.STRING, TokenType.RAW_STRING, TokenType.HEREDOC_STRING, TokenType.NATIONAL_STRING,
             TokenType.IDENTIFIER, TokenType.VAR}
    try:
        with quiet_sqlglot():
            return [t.text for t in sqlglot.Dialect.get_or_raise(dialect).tokenize(sql) if t.token_type in kinds]
    except SqlglotError:
        return [a or b for a, b in re.findall(r"'((?:[^']|'')*)'|\"([^\"]*)\"", sql)]


def secret_files(ws: Any, sql: str, dialect: str, budget: int = 20_000) -> list[str]:
    """Secret-looking repository files (``.env``, keys, ...) the SQL names or whose glob reaches them."""
    import fnmatch
    import glob
    import os

    found: list[str] = []
    for text in _literals(sql, dialect):
        if not text or len(text) > 4096 or "\x00" in text:
            continue
        if ws.is_secret(text):
            found.append(text)
            continue
        if not set("*?[") & set(text):
            try:
                real = ws.relative(text)  # follows symlinks: a link to .env is .env
            except (OSError, ValueError):
                continue
            if ws.is_secret(real):
                found.append(str(real))
            continue
        pattern = os.path.relpath(text, ws.root) if os.path.isabs(text) else text
        if pattern.startswith(".."):
            continue
        for i, match in enumerate(glob.iglob(pattern, root_dir=ws.root, recursive=True, include_hidden=True)):
            if ws.is_secret(match):
                found.append(match)
                break
            if i >= budget:
                # Too many files to check: assume the worst if the pattern can name a secret file.
                last = pattern.rstrip("/").rsplit("/", 1)[-1]
                if any(fnmatch.fnmatch(name, last) for name in _SECRET_EXAMPLES):
                    found.append(pattern)
                break
    return found


def database_kind(head: bytes) -> str | None:
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return None


def render(sql: str, result: dict[str, Any], max_rows: int) -> tuple[str, dict[str, Any]]:
    from de_agent.tools.data.helpers.tabular import fit_table

    ms = result["elapsed_s"] * 1000
    stmts = result.get("statements", 1)
    ran = f"{stmts} statements" if stmts > 1 else "1 statement"
    if not result.get("result"):
        return f"OK: {ran} ran in {ms:.0f} ms, no result set.\n", {
            "kind": "text", "title": "RunSQL", "text": f"OK: {ran} ran in {ms:.0f} ms"}
    total = result["row_count"]
    if result.get("exact", True):
        total_text = f"{total:,} row{'s' if total != 1 else ''}"
    else:
        total_text = f"more than {total - 1:,} rows (not counted: {result.get('count_note', 'too slow to count')})"
    header = [f"{c} ({t})" if t else c for c, t in zip(result["columns"], result["types"], strict=False)]
    body, note = fit_table(header, result["rows"], total if result.get("exact", True) else None, max_rows)
    head = f"{total_text} in {ms:.0f} ms ({ran})"
    if result.get("masked_columns"):
        head += "; personal data masked in " + ", ".join(result["masked_columns"])
    text = head + ("\n" + note if note else "") + "\n" + body + "\n"
    title = "RunSQL: " + " ".join(sql.split())[:80]
    return text, table_display(title, result["columns"], result["rows"], note=head + ("; " + note if note else ""))


class RunSQLArgs(ToolArgs):
    sql: str = Field(min_length=1, description="One or more SQL statements; the last result is returned.")
    database: str | None = Field(None, description="Optional .duckdb or SQLite file in the repository.")
    max_rows: int = Field(DEFAULT_ROWS, description=f"Rows to return (default {DEFAULT_ROWS}, at most {MAX_ROWS}).")
    connection: str | None = Field(None, description="A warehouse connection (user config name or 'dbt:TARGET'); "
                                   "default: the dbt target if any, else repository files ('local').")

    @field_validator("max_rows")
    @classmethod
    def _bounded(cls, rows: int) -> int:
        if not 1 <= rows <= MAX_ROWS:
            raise ValueError(f"must be between 1 and {MAX_ROWS}")
        return rows


class RunSQL(Tool):
    name = "RunSQL"
    kind = READ
    description = (
        "Run SQL with DuckDB to inspect data or verify a transformation. Without 'database', an in-memory "
        "DuckDB in which repository files can be queried by relative path: SELECT * FROM 'data/x.csv', "
        "read_parquet('data/*.parquet', hive_partitioning=true). With 'database', a .duckdb or SQLite file in "
        "the repository, opened read-only. File access is confined to the repository. Queries run without "
        "asking; statements that write (CREATE, INSERT, COPY TO, ATTACH, SET, ...) need approval.")
    Args = RunSQLArgs

    def call_summary(self, arguments: dict[str, Any]) -> str:
        """The statement's first line (" …" when more follow), then the database or connection."""
        from de_agent.tools.summaries import cut, first_line

        sql, where = arguments.get("sql"), arguments.get("database") or arguments.get("connection")
        text = first_line(sql, 100) if isinstance(sql, str) else ""
        return cut(text + (f"  [{where}]" if isinstance(where, str) else ""), 120)

    async def act(self, args: RunSQLArgs, ctx: ToolContext) -> Action:
        from de_agent.tools.data.helpers.client import call_worker

        sql, max_rows, database = args.sql, args.max_rows, args.database or None
        if not database:
            from de_agent.tools.data.warehouse.tools import connection_for, sql_action

            conn = connection_for(ctx, args.connection or "")
            if conn is not None:
                return await sql_action(ctx, conn, sql, max_rows)
        db_path, db_kind, paths = None, None, []
        if database:
            try:
                rel = ctx.workspace.relative(database)
                head = ctx.workspace.read_bytes(rel, limit=16)
            except ConfinementError as exc:
                raise ToolError(str(exc)) from None
            except (FileNotFoundError, IsADirectoryError):
                raise ToolError(f"{database}: no such database file") from None
            db_kind = database_kind(head)
            if db_kind is None:
                raise ToolError(f"{database}: not a DuckDB or SQLite database file")
            db_path, paths = str(ctx.workspace.root / rel), [str(rel)]
        dialect = "sqlite" if db_kind == "sqlite" else "duckdb"
        verdict = classify(sql, dialect)
        if verdict.parse_error and db_kind == "sqlite":
            # SQLite's read-only connection is the guard; SQLite reports its own parse error.
            verdict = Classification(False, 1)
        elif verdict.parse_error:
            verdict = duckdb_classify(sql)
        elif verdict.commands and db_kind != "sqlite":
            duckdb_classify(sql)  # a statement no parser knows is a syntax error, not a write to approve
        if verdict.statements == 0 and not verdict.writes:
            raise ToolError("parameter 'sql' holds no SQL statement")
        if outside := outside_paths(ctx.workspace, sql, dialect):
            raise ToolError("refused: RunSQL reads files inside the repository only; " + "; ".join(outside))
        request = {"op": "sql", "sql": sql, "database": db_path, "db_kind": db_kind,
                   "max_rows": max_rows, "allow_write": verdict.writes}

        async def run() -> Outcome:
            result = await call_worker(ctx.workspace.root, request, ctx.settings.data_timeout_s)
            text, display = render(sql, result, max_rows)
            return Outcome(True, bound_text(text, what="query result"), display=display)

        target = f" on {paths[0]}" if paths else ""
        secrets = secret_files(ctx.workspace, sql, "sqlite" if db_kind == "sqlite" else "duckdb")
        # Only an approved call (it asks when the SQL names a secret file) may open them; DuckDB
        # refuses every other secret file where it opens files, whatever the SQL computes.
        request["secrets_ok"] = bool(secrets)
        if verdict.writes:
            # No ``command``: that field is for shell commands, which the policy parses as such.
            return simple_action(EXECUTE, f"run SQL that writes{target}", run, paths=paths,
                                 asks=True, secret_read=bool(secrets),
                                 ask_reason="SQL that writes or changes state: " + "; ".join(verdict.reasons))
        return simple_action(READ, f"run read-only SQL{target}", run, paths=paths + secrets,
                             secret_read=bool(secrets))
