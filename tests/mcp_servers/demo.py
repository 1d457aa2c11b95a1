"""A small MCP server for tests: ``python demo.py [--slow S] [--http PORT] [--crash-on-start]``.

Tools: echo (read-only), add (structured output), picture (an image), link (a resource
link), show_env (the names of its environment variables), env_value (one variable's value), crash (dies mid-call with a line
on stderr), nap (sleeps), pid, fail (an error result).
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time

from mcp.server.fastmcp import FastMCP, Image
from mcp.types import ResourceLink, ToolAnnotations

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def build(port: int) -> FastMCP:
    mcp = FastMCP("demo", host="127.0.0.1", port=port)

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def echo(text: str) -> str:
        """Repeat the text."""
        return f"echo: {text}"

    @mcp.tool()
    def add(a: int, b: int) -> dict:
        """Add two numbers."""
        return {"sum": a + b}

    @mcp.tool()
    def picture() -> Image:
        """A one-pixel PNG."""
        return Image(data=PNG, format="png")

    @mcp.tool()
    def link() -> list:
        """A link to a resource."""
        return ["see the model", ResourceLink(type="resource_link", name="orders model",
                                              uri="file:///models/orders.sql", description="dbt model")]

    @mcp.tool()
    def show_env() -> str:
        """The environment variable names this server sees."""
        return "\n".join(sorted(os.environ))

    @mcp.tool()
    def env_value(name: str) -> str:
        """The value of one environment variable."""
        return os.environ.get(name, "(unset)")

    @mcp.tool()
    def crash() -> str:
        """Die in the middle of the call."""
        print("demo: fatal: the warehouse connection dropped", file=sys.stderr, flush=True)
        os._exit(3)

    @mcp.tool()
    def nap(seconds: float, mark: str = "") -> str:
        """Sleep (after creating the file ``mark``, when given: the caller sees the nap began)."""
        if mark:
            open(mark, "w").close()
        time.sleep(seconds)
        return "rested"

    @mcp.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @mcp.tool()
    def fail() -> str:
        """Always fails."""
        raise ValueError("the catalog is unreachable")

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--http", type=int, default=0)
    parser.add_argument("--crash-on-start", action="store_true")
    args = parser.parse_args()
    print("demo: starting", file=sys.stderr, flush=True)
    if args.crash_on_start:
        print("demo: cannot read profiles.yml", file=sys.stderr, flush=True)
        sys.exit(4)
    if args.slow:
        time.sleep(args.slow)
    server = build(args.http)
    server.run(transport="streamable-http" if args.http else "stdio")


if __name__ == "__main__":
    main()
