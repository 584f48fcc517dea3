"""Publish AI Service events the way the seed's KafkaEventProducer does.

aiokafka's AIOKafkaProducer with value_serializer=json.dumps and a utf-8 key,
send_and_wait per event. Used by the Go integration tests:

    python produce_feedback.py --bootstrap 127.0.0.1:19092 --tenant acme \
        --trace tr-1 --response resp-1 --feedback-id fb-1 --events feedback
    python produce_feedback.py ... --events trace

--events feedback publishes one negative feedback with a comment on
ai-feedback-events (key: the trace_id); --events trace publishes one thinking
step, one router decision and one failed span of the trace (key: trace_id),
all timestamped before the feedback.

--security-protocol SASL_SSL --sasl-mechanism SCRAM-SHA-512 --cafile ca.pem
connects like the AI Service in production; the user name and password come
from KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (never arguments: those
show in process lists).
"""

import argparse
import asyncio
import json
import os
from datetime import datetime, timedelta, timezone

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context


class KafkaEventProducer:
    """The seed's producer wrapper, unchanged in what it sends."""

    def __init__(self, bootstrap_servers: str, security_protocol: str = "PLAINTEXT", **security):
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            security_protocol=security_protocol,
            value_serializer=lambda v: json.dumps(v).encode("utf-8"),
            **security,
        )

    async def start(self):
        await self._producer.start()

    async def stop(self):
        await self._producer.stop()

    async def publish(self, topic: str, event: dict, key: str | None = None):
        await self._producer.send_and_wait(
            topic=topic,
            value=event,
            key=key.encode("utf-8") if key else None,
        )


def ts(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(event_id: str, event_type: str, tenant: str, at: datetime, data: dict) -> dict:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "tenant_id": tenant,
        "timestamp": ts(at),
        "source": "ai-service",
        "data": data,
    }


def feedback_events(a, at):
    return [("ai-feedback-events", a.trace, envelope(a.feedback_id, "feedback.submitted", a.tenant, at, {
        "response_id": a.response,
        "trace_id": a.trace,
        "session_id": "sess-py",
        "user_id": "user-py",
        "agent": "sql-agent",
        "model": "gpt-4o",
        "thumbs": "down",
        "score": 2,
        "categories": ["incorrect"],
        "comment": "The revenue total ignores refunds.",
    }))]


def trace_events(a, at):
    start = at - timedelta(seconds=30)
    return [
        ("agent-decision-events", a.trace, envelope(a.trace + "-dec", "agent.decision", a.tenant, start, {
            "trace_id": a.trace, "decision_id": "dec-1", "agent": "router", "decision_type": "route",
            "chosen": "sql-agent", "confidence": 0.87,
            "alternatives": [{"option": "rag-agent", "score": 0.31}],
        })),
        ("agent-thinking-events", a.trace, envelope(a.trace + "-th", "agent.thinking", a.tenant, start + timedelta(seconds=1), {
            "trace_id": a.trace, "agent": "sql-agent", "step": 1, "kind": "plan",
            "content": "Join sales.orders with sales.refunds, group by day.", "tokens": 12,
        })),
        ("agent-trace-events", a.trace, envelope(a.trace + "-sp", "agent.span", a.tenant, start + timedelta(seconds=3), {
            "trace_id": a.trace, "span_id": "span-1", "agent": "sql-agent", "name": "run_sql", "status": "error",
            "start_time": ts(start + timedelta(seconds=1)), "end_time": ts(start + timedelta(seconds=3)),
            "model": "gpt-4o", "tokens_in": 800, "tokens_out": 90,
            "error": {"type": "timeout", "message": "warehouse did not answer"},
        })),
    ]


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--trace", required=True)
    p.add_argument("--response", required=True)
    p.add_argument("--feedback-id", required=True)
    p.add_argument("--at", required=True, help="the feedback's timestamp, RFC 3339")
    p.add_argument("--events", choices=["feedback", "trace"], required=True)
    p.add_argument("--security-protocol", default="PLAINTEXT")
    p.add_argument("--sasl-mechanism")
    p.add_argument("--cafile", help="PEM CA of the brokers' certificates (SSL, SASL_SSL)")
    a = p.parse_args()
    at = datetime.fromisoformat(a.at.replace("Z", "+00:00"))
    events = feedback_events(a, at) if a.events == "feedback" else trace_events(a, at)

    security = {}
    if a.sasl_mechanism:
        security.update(sasl_mechanism=a.sasl_mechanism, sasl_plain_username=os.environ["KAFKA_SASL_USERNAME"],
                        sasl_plain_password=os.environ["KAFKA_SASL_PASSWORD"])
    if a.security_protocol in ("SSL", "SASL_SSL"):
        security["ssl_context"] = create_ssl_context(cafile=a.cafile)
    producer = KafkaEventProducer(a.bootstrap, a.security_protocol, **security)
    await producer.start()
    try:
        for topic, key, event in events:
            await producer.publish(topic, event, key=key)
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
