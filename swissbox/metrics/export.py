"""Prometheus exposition of `swissbox.metrics`: a collector over its counts, the outbound
queue read at scrape time, and `MetricsService`, the listener serving `/metrics`
(`[metrics]`, loopback by default).

The listener is auxiliary: a port it cannot bind is logged and reported by
`/healthz/ready` (the listener check), while mail, DNS and DAV keep being served.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from swissbox import metrics
from swissbox.runtime import BindError, Context, fmt_addr, listen_twisted, stop_twisted_ports

log = logging.getLogger("swissbox.metrics")
# What generate_latest writes (and what the client's own HTTP server labels it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SwissboxCollector(Collector):
    """Every metric of `swissbox.metrics`, as they are at this scrape."""

    def collect(self) -> Iterator[Metric]:
        metrics.fold_dns()
        for m in metrics.METRICS:
            if isinstance(m, metrics.Histogram):
                h = HistogramMetricFamily(m.name, m.help, labels=list(m.labels))
                for values, (counts, total) in sorted(m.values.items()):
                    running, buckets = 0, []
                    for bound, n in zip([*m.buckets, float("inf")], counts, strict=True):
                        running += n
                        buckets.append(
                            (str(float(bound)) if bound != float("inf") else "+Inf", running)
                        )
                    h.add_metric(list(values), buckets, total[0])
                yield h
                continue
            family: Any = (
                GaugeMetricFamily(m.name, m.help, labels=list(m.labels))
                if m.kind == "gauge"
                else CounterMetricFamily(m.name, m.help, labels=list(m.labels))
            )
            for values, value in sorted(m.values.items()):
                family.add_metric(list(values), value)
            yield family
        for name, (help, read) in sorted(metrics.GAUGES.items()):
            try:
                value = float(read())
            except Exception:  # a failing reading must not fail the whole scrape
                log.exception("metrics: reading %s failed", name)
                continue
            yield GaugeMetricFamily(name, help, value=value)


def make_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SwissboxCollector())
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The text format Prometheus scrapes."""
    return bytes(generate_latest(registry))


class QueueReading:
    """Size and age of the outbound queue (`<data>/queue/*.msg`), read once per scrape."""

    def __init__(self, root: Path, ttl: float = 1.0) -> None:
        self.root, self.ttl = root, ttl
        self._at, self._value = -1e9, (0, 0.0)

    def read(self) -> tuple[int, float]:
        """(messages, age of the oldest in seconds)."""
        if time.monotonic() - self._at > self.ttl:
            count, oldest = 0, None
            try:
                with os.scandir(self.root) as entries:
                    for entry in entries:
                        if entry.name.endswith(".msg") and entry.is_file():
                            count += 1
                            mtime = entry.stat().st_mtime
                            oldest = mtime if oldest is None else min(oldest, mtime)
            except FileNotFoundError:
                pass
            age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
            self._at, self._value = time.monotonic(), (count, age)
        return self._value


def watch_queue(root: Path) -> None:
    """Publishes the queue's size and oldest age as gauges."""
    reading = QueueReading(root)
    metrics.gauge(
        "swissbox_queue_messages", "Messages in the outbound queue", lambda: reading.read()[0]
    )
    metrics.gauge(
        "swissbox_queue_oldest_age_seconds",
        "Age of the oldest message in the outbound queue (0 when empty)",
        lambda: reading.read()[1],
    )


class MetricsService:
    """`GET /metrics` on `[metrics] listen` x `port`, answered on the event loop."""

    name = "metrics"

    def __init__(self, ctx: Context) -> None:
        from twisted.web.resource import Resource
        from twisted.web.server import Site

        self.ctx = ctx
        self.registry = make_registry()
        registry = self.registry

        class MetricsPage(Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:  # noqa: N802 (Twisted API)
                request.setHeader(b"content-type", CONTENT_TYPE.encode())
                return render(registry)

        root = Resource()
        page: Any = MetricsPage()
        root.putChild(b"metrics", page)
        self.site = Site(root)
        self.site.displayTracebacks = False
        self.site.log = lambda request: None  # type: ignore[method-assign]  # scrapes: no log
        self._ports: list[Any] = []
        self.unbound: list[str] = []  # "address:port: reason" of listeners that failed

    async def start(self) -> list[str]:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor
        s = self.ctx.settings.metrics
        lines = []
        for address in s.listen:
            try:
                self._ports.append(
                    listen_twisted(reactor, address, s.port, "metrics.port", self.site)
                )
            except BindError as exc:
                reason = exc.reason
                where = fmt_addr(address, s.port)
                self.unbound.append(f"{where}: {reason}")
                log.warning("metrics: cannot listen on %s (metrics.port): %s", where, reason)
                continue
            lines.append(f"metrics {fmt_addr(address, s.port)}")
        return lines

    async def stop(self) -> None:
        await stop_twisted_ports(self._ports, self.ctx.loop)
