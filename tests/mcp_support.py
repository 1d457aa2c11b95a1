"""Helpers for the MCP client tests: config tables for the demo server and waiting on states."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

DEMO = str(Path(__file__).resolve().parent / "mcp_servers" / "demo.py")


def demo_table(*args: str, **extra) -> dict:
    return {"command": sys.executable, "args": [DEMO, *args], **extra}


def demo_toml(name: str, *args: str, extra: str = "") -> str:
    quoted = ", ".join(f'"{a}"' for a in [DEMO, *args])
    return f'[mcp_servers.{name}]\ncommand = "{sys.executable}"\nargs = [{quoted}]\n{extra}\n'


def wait_status(manager, name: str, *, leave: str = "starting", timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = manager.servers[name].status
        if status != leave:
            return status
        time.sleep(0.05)
    return manager.servers[name].status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http_demo(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, DEMO, "--http", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the HTTP demo server did not start")
