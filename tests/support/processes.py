"""Start real daemons on loopback for a test, and always stop them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name, self.argv, self.log = name, argv, log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_tail(self, lines: int = 40) -> str:
        self._fh.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._fh.close()


def prometheus_on_tsdb(name: str, config: Path, tsdb: Path, port: int, log: Path, extra: tuple[str, ...] = ()) -> Daemon:
    """The real Prometheus over a (backfilled) TSDB on loopback. Retention is
    long so backfilled history is not deleted before the queries run."""
    from .tools import tool

    argv = [
        tool("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=30d",
        *extra,
    ]
    return Daemon(name, argv, log)


@contextmanager
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for d in reversed(started):
            d.stop()


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def wait_for(what: str, check: Callable[[], Any], timeout: float, daemons_: list[Daemon] = (), interval: float = 0.5) -> Any:
    """Poll check() until it returns something truthy; fail with the daemons' logs."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        for d in daemons_:
            if d.proc.poll() is not None:
                raise AssertionError(f"{d.name} exited with {d.proc.returncode} while waiting for {what}:\n{d.log_tail()}")
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, OSError, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    logs = "\n".join(f"--- {d.name}\n{d.log_tail()}" for d in daemons_)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})\n{logs}")
