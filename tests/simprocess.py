"""A simulator started as a person starts one: `cabin sim KIND ... --json` in a process of its
own, read back from its first line. For the independent clients (tests/test_*_client.py), which
import nothing from Cabin: neither does this module.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def cabin_argv() -> list[str]:
    script = Path(sys.executable).with_name("cabin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cabin.kiosk.cli.app"]


def start_sim(tmp_path: Path, kind: str, *args: str) -> tuple[subprocess.Popen, dict]:
    """`cabin sim KIND ARGS --json`: the process and its announcement (`url`, `faults`, ...)."""
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.Popen([*cabin_argv(), "sim", kind, *args, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def tcp_address(info: dict) -> tuple[str, int]:
    host, port = info["url"].removeprefix("socket://").rsplit(":", 1)
    return host, int(port)


def reads_of(sock: socket.socket):
    """A read() for a client over `sock`: what has come within 50 ms, b"" when nothing has."""
    sock.settimeout(0.05)

    def read() -> bytes:
        try:
            return sock.recv(4096)
        except socket.timeout:
            return b""
    return read
