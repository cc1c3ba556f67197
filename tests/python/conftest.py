"""Fixtures for the Python tests of rapport-ffi's generated bindings.

Needs `scripts/bindings.sh` (bindings + library in target/bindings/python) and
`cargo build -p rapport-server` (target/debug/rapport-server); both are run by
`scripts/test-mobile.sh`.
"""

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BINDINGS = ROOT / "target" / "bindings" / "python"
SERVER_BIN = ROOT / "target" / "debug" / "rapport-server"
ADMIN_TOKEN = "python-test-admin-token-0123456789"

if not (BINDINGS / "rapport_ffi.py").exists():
    raise RuntimeError(f"no Python bindings in {BINDINGS}: run scripts/bindings.sh first")
sys.path.insert(0, str(BINDINGS))


class Server:
    """A real rapport-server process on a free port, over a data directory that outlives restarts."""

    def __init__(self, data_dir: Path, extra_args=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None

    def start(self, listen: str = "127.0.0.1:0") -> str:
        """Starts the server on `listen` (default: a free port); returns its URL."""
        if not SERVER_BIN.exists():
            raise RuntimeError(f"{SERVER_BIN} is missing: run cargo build -p rapport-server")
        env = dict(os.environ, RAPPORT_ADMIN_TOKEN=ADMIN_TOKEN)
        self.proc = subprocess.Popen(
            [str(SERVER_BIN), "serve", "--listen", listen, "--data", str(self.data_dir), *self.extra_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        lines: "queue.Queue[str | None]" = queue.Queue()

        def pump():
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                self.stop()
                raise RuntimeError("rapport-server did not print 'listening on' within 60 s")
            if line is None:
                raise RuntimeError(f"rapport-server exited with {self.proc.wait()} before listening")
            if line.startswith("listening on "):
                self.url = line.split("listening on ", 1)[1].strip()
                return self.url

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def ffi():
    import rapport_ffi

    return rapport_ffi


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "server-data")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def token():
    return ADMIN_TOKEN


def dead_url() -> str:
    """A local URL nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
