"""Command line (DESIGN.md section 2). Kept light: ``--version`` imports nothing heavy.

Exit codes: 0 the task finished; 1 it failed (the model or a tool could not go on);
2 a usage or configuration error (bad flag, unknown model, no API key, endpoint
unreachable), with a one-line reason; 3 stopped by ``--max-turns`` or the repeat guard.
"""

from __future__ import annotations

import argparse
import os
import sys

from de_agent import __version__
from de_agent.protocol import APPROVAL_MODES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="de-agent",
        description="A terminal coding assistant that works like a senior data engineer in your repository.",
        epilog="de-agent mcp [--root PATH]: serve the data and read tools to other agents over MCP (stdio).",
    )
    p.add_argument("-p", "--prompt", metavar="TEXT", help="headless: run one task to the end, print the result, exit")
    p.add_argument("-m", "--model", metavar="NAME", help="any litellm model name, e.g. openai/gpt-4o")
    p.add_argument("--api-base", metavar="URL", help="base URL of an OpenAI-compatible or self-hosted endpoint")
    p.add_argument("--approval-mode", choices=list(APPROVAL_MODES),
                   help="default: ask before edits and commands; auto-edit; plan (read-only); yolo")
    p.add_argument("--output-format", choices=["text", "json", "stream-json"], default="text",
                   help="headless output: text (final answer), json (one object), stream-json (one event per line)")
    p.add_argument("--max-turns", type=int, metavar="N", help="stop a task after N model calls")
    p.add_argument("-c", "--continue", dest="continue_", action="store_true",
                   help="resume the latest session of this repository")
    p.add_argument("-r", "--resume", nargs="?", const="", metavar="ID",
                   help="resume a session by id or unique prefix; without ID, choose from a list")
    p.add_argument("--list-sessions", action="store_true", help="print this repository's sessions and exit")
    p.add_argument("--export-queries", metavar="SESSION",
                   help="write the warehouse queries a session ran to a replayable .sql file and exit")
    p.add_argument("--sandbox", choices=["auto", "bwrap", "none"], help="command sandbox")
    p.add_argument("--theme", metavar="NAME", help="a theme from themes/ or the user theme folder")
    p.add_argument("--plain", action="store_true", help="line-mode REPL instead of the TUI")
    p.add_argument("--acp", action="store_true",
                   help="speak the Agent Client Protocol on stdin/stdout (for editors such as Zed and Toad)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _fail(message: str) -> int:
    print(f"de-agent: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:
        print(f"de-agent {__version__}")
        return 0
    if argv[:1] == ["mcp"]:
        from de_agent.mcp.server import main as serve_mcp

        return serve_mcp(argv[1:])
    if os.environ.get("DE_AGENT_PROFILE") == "1":
        from de_agent.profiling import profiled

        return profiled(lambda: _main(argv))
    return _main(argv)


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        print(f"de-agent {__version__}")
        return 0
    if args.max_turns is not None and args.max_turns < 1:
        return _fail("--max-turns must be at least 1")

    from de_agent.config import ConfigError, load_settings
    from de_agent.workspace import find_repo_root

    root = find_repo_root()
    flags = {"model": args.model, "api_base": args.api_base, "approval_mode": args.approval_mode,
             "max_turns": args.max_turns, "sandbox": args.sandbox, "theme": args.theme}
    try:
        settings = load_settings(root, flags)
    except ConfigError as exc:
        return _fail(str(exc))

    if settings.sandbox == "bwrap":
        from de_agent.security.sandbox import SandboxUnavailable, resolve_sandbox

        try:
            resolve_sandbox(settings)
        except SandboxUnavailable as exc:
            return _fail(f"--sandbox bwrap: {exc}")

    if args.export_queries:
        from pathlib import Path

        from de_agent.tools.data.warehouse.ledger import export_cli

        return export_cli(args.export_queries, Path.cwd(), sys.stdout, sys.stderr)

    if args.acp:
        from de_agent.frontends.acp import run_acp

        return run_acp(flags, root)

    if args.list_sessions:
        from de_agent.sessions.cli import list_sessions

        return list_sessions(root, sys.stdout)

    resume = None
    pick_in_tui = args.resume == "" and args.prompt is None and not args.plain
    if (args.continue_ or args.resume is not None) and not pick_in_tui:
        from de_agent.sessions.cli import choose_resume

        try:
            resume = choose_resume(root, latest=args.continue_, ident=args.resume,
                                   interactive=args.prompt is None)
        except LookupError as exc:
            return _fail(str(exc))

    if args.prompt is not None:
        if not args.prompt.strip():
            return _fail("-p needs a non-empty task")
        from de_agent.frontends.headless import run_headless

        return run_headless(settings, root, args.prompt, args.output_format,
                            session_id=getattr(resume, "session_id", None), resume=resume)
    if args.plain:
        from de_agent.frontends.plain import run_plain

        return run_plain(settings, root, resume=resume)
    try:
        from de_agent.tui.app import run_tui
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("textual"):
            raise
        return _fail("the TUI needs the 'textual' package (pip install textual); "
                     "use --plain or -p meanwhile")
    return run_tui(settings, root, resume=resume, pick_session=pick_in_tui)
