"""Prometheus metrics, one registry per running app (so tests can build several).

Under `requestbot serve` the worker process (bot/worker.py) counts what it does in its
own registry and leaves a snapshot in a file; the serving process's /metrics adds it to
its own, so one scrape sees the whole bot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.slack_requests = Counter(
            "requestbot_slack_requests",
            "Requests from Slack by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "requestbot_ack_latency_seconds",
            "Time from receiving a Slack request to answering it.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
            registry=self.registry,
        )
        self.web_api_calls = Counter(
            "requestbot_web_api_calls",
            "Slack Web API calls by method and outcome (ok or Slack's error code).",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.reminders = Counter(
            "requestbot_reminders",
            "Reminders by kind and outcome (due, sent, failed).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.jobs = Counter(
            "requestbot_jobs",
            "Work done after acks, by job kind and outcome (done, failed: tried again later, "
            "taken: another worker did it).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "requestbot_outbox_pending",
            "Posts owed to Slack and not yet accepted.",
            registry=self.registry,
        )

        self.worker_snapshot: Path | None = None  # the worker's counts, added when rendered

    def render(self) -> bytes:
        if self.worker_snapshot is None:
            return generate_latest(self.registry)
        try:
            theirs = self.worker_snapshot.read_text()
        except FileNotFoundError:
            theirs = ""
        return generate_latest(_Added(self.registry, theirs))

    def save(self, path: Path) -> None:
        """A snapshot for the serving process to add (written whole, then moved in place)."""
        partial = path.with_suffix(".partial")
        partial.write_bytes(generate_latest(self.registry))
        os.replace(partial, path)


class _Added:
    """Two processes' metrics as one: the same series added up (both call the Web API).
    The other's creation times are left out: the text format gives them as families of
    their own, which would repeat this process's."""

    def __init__(self, registry: CollectorRegistry, other_text: str) -> None:
        self.registry = registry
        self.other_text = other_text

    def collect(self) -> Iterator[Metric]:
        families = {family.name: family for family in self.registry.collect()}
        for family in text_string_to_metric_families(self.other_text):
            if family.name.endswith("_created"):
                continue
            mine = families.get(family.name)
            if mine is None:
                families[family.name] = family
                continue
            index = {(s.name, tuple(sorted(s.labels.items()))): i
                     for i, s in enumerate(mine.samples)}
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key not in index:
                    mine.samples.append(sample)
                    continue
                own = mine.samples[index[key]]
                mine.samples[index[key]] = own._replace(value=own.value + sample.value)
        yield from families.values()
