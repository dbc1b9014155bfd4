"""Load generator for the reference service: a fixed request mix, sent
open-loop at a fixed rate (or closed-loop as fast as answers come back).

Open loop means requests are scheduled at start + i/rate whatever the
service does, and a request's latency is measured from its scheduled time:
a slow service then shows as latency instead of silently lowering the rate
(coordinated omission). Tests and the preview run `run_load` in a
background thread and stop it with an Event.

    python -m refservice.load --url http://127.0.0.1:8080 --rate 50 --duration 30
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The mix, repeated: mostly reads, one write in ten. Ids stay within the
# service's catalogue so a healthy service answers only 2xx.
ORDER_BODY = json.dumps({"items": [{"id": 3, "quantity": 2}]}).encode()
MIX: tuple[tuple[str, str, bytes | None], ...] = (
    ("GET", "/api/items", None),
    ("GET", "/api/items/{id}", None),
    ("GET", "/api/items/{id}", None),
    ("GET", "/api/items", None),
    ("GET", "/api/items/{id}", None),
    ("POST", "/api/orders", ORDER_BODY),
    ("GET", "/api/items/{id}", None),
    ("GET", "/api/items", None),
    ("GET", "/api/items/{id}", None),
    ("GET", "/api/items", None),
)
TIMEOUT = 10.0


@dataclass
class LoadResult:
    """What a run sent and got back. Status 0 counts requests that got no HTTP answer."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    elapsed: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, latency: float) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.latencies.append(latency)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile (p in 0..100) of the latencies, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "elapsed_s": round(self.elapsed, 3),
            "throughput_rps": round(self.throughput, 2),
            "p50_ms": round(self.percentile(50) * 1000, 3),
            "p95_ms": round(self.percentile(95) * 1000, 3),
            "p99_ms": round(self.percentile(99) * 1000, 3),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def requests_mix() -> Iterator[tuple[str, str, bytes | None]]:
    ids = itertools.cycle(range(1, 21))
    for method, path, body in itertools.cycle(MIX):
        yield method, path.replace("{id}", str(next(ids))), body


class _Client:
    """One keep-alive connection, reopened after any failure."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            self.conn.request(method, self.prefix + path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            return 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_load(base_url: str, rate: float, duration: float | None, stop: threading.Event | None = None, concurrency: int = 4) -> LoadResult:
    """Send the mix at `rate` requests/s for `duration` seconds (None: until `stop` is set).

    `concurrency` workers take scheduled requests from a queue; when all are
    busy, requests wait and their wait counts as latency. Setting `stop`
    ends the run at once, dropping requests not yet sent.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    stop = stop or threading.Event()
    result = LoadResult()
    scheduled: queue.SimpleQueue[tuple[float, tuple[str, str, bytes | None]] | None] = queue.SimpleQueue()

    def work() -> None:
        client = _Client(base_url)
        try:
            while (item := scheduled.get()) is not None:
                if stop.is_set():
                    continue
                due, (method, path, body) = item
                status = client.send(method, path, body)
                result.record(status, time.perf_counter() - due)
        finally:
            client.close()

    workers = [threading.Thread(target=work, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for w in workers:
        w.start()
    start = time.perf_counter()
    mix = requests_mix()
    for i in itertools.count():
        due = start + i / rate
        if duration is not None and due - start >= duration:
            break
        # Event.wait doubles as the sleep until the next request is due, and wakes on stop.
        if stop.wait(max(0.0, due - time.perf_counter())):
            break
        scheduled.put((due, next(mix)))
    for _ in workers:
        scheduled.put(None)
    for w in workers:
        w.join()
    result.elapsed = time.perf_counter() - start
    return result


def run_closed(base_url: str, concurrency: int, duration: float, stop: threading.Event | None = None) -> LoadResult:
    """Each of `concurrency` workers sends the mix back to back for `duration` seconds: maximum throughput."""
    stop = stop or threading.Event()
    result = LoadResult()
    deadline = time.perf_counter() + duration

    def work(offset: int) -> None:
        client = _Client(base_url)
        mix = requests_mix()
        # Workers start at different points of the mix so they do not hit the same route in step.
        for _ in range(offset):
            next(mix)
        try:
            while not stop.is_set() and (now := time.perf_counter()) < deadline:
                status = client.send(*next(mix))
                result.record(status, time.perf_counter() - now)
        finally:
            client.close()

    workers = [threading.Thread(target=work, args=(i * 3,), name=f"load-{i}", daemon=True) for i in range(concurrency)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    result.elapsed = time.perf_counter() - start
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="refservice.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="service base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--rate", type=float, default=20.0, help="requests per second (open loop)")
    p.add_argument("--duration", type=float, default=None, help="seconds; default: until interrupted")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--closed", action="store_true", help="closed loop: ignore --rate, send as fast as answers come back")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = p.parse_args(argv)
    if args.closed and args.duration is None:
        p.error("--closed needs --duration")
    stop = threading.Event()
    results: list[LoadResult] = []
    if args.closed:
        target = lambda: results.append(run_closed(args.url, args.concurrency, args.duration, stop))  # noqa: E731
    else:
        target = lambda: results.append(run_load(args.url, args.rate, args.duration, stop, args.concurrency))  # noqa: E731
    # The load runs in a thread so Ctrl-C can stop it and still print what was measured.
    runner = threading.Thread(target=target, name="load", daemon=True)
    runner.start()
    try:
        while runner.is_alive():
            runner.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        runner.join()
    result = results[0]
    summary = result.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>15}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
