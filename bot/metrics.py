"""Prometheus metrics, one registry per running app (so tests can build several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
        self.outbox_pending = Gauge(
            "requestbot_outbox_pending",
            "Posts owed to Slack and not yet accepted.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
