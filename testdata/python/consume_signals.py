"""Read learning signals back the way the seed's KafkaEventConsumer does.

AIOKafkaConsumer with value_deserializer=json.loads, under a group of its own
from its committed offsets (the earliest offset when it has none). Prints one
JSON line per record whose key is --key ({"key", "partition", "offset",
"value"}), and exits once --count were printed (exit 0) or after --timeout
seconds (exit 2). With --writer-group it reads only the records that group
wrote (their aistream-group header): every aistream deployment on the broker
reads the same input topics and writes the same signals; it names on stderr
each other group whose records it skips. Like any consumer of
aistream's at-least-once outputs it skips a repeat of an event_id it has
printed (a redelivery re-emits a signal with the same id), and reports the
repeat on stderr with both positions: the same partition and offset twice is
this consumer reading a record again (its group rebalanced before it
committed), another offset is aistream writing the event again.
"""

import argparse
import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="ai-learning-signals")
    p.add_argument("--group", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--writer-group", default="")
    a = p.parse_args()

    consumer = AIOKafkaConsumer(
        a.topic,
        bootstrap_servers=a.bootstrap,
        group_id=a.group,
        auto_offset_reset="earliest",
        value_deserializer=lambda v: json.loads(v.decode("utf-8")),
    )
    await consumer.start()
    printed = 0
    try:
        async def read():
            nonlocal printed
            seen = {}
            others = set()
            async for message in consumer:
                key = message.key.decode("utf-8") if message.key is not None else None
                if key != a.key:
                    continue
                writer = dict(message.headers or ()).get("aistream-group", b"").decode("utf-8", "replace")
                if a.writer_group and writer != a.writer_group:
                    if writer not in others:
                        others.add(writer)
                        print(f"skipping records of group {writer!r}, first at {message.partition}/{message.offset}",
                              file=sys.stderr, flush=True)
                    continue
                event_id = message.value.get("event_id") if isinstance(message.value, dict) else None
                if event_id is not None and event_id in seen:
                    print(f"repeat of event_id {event_id} at {message.partition}/{message.offset}, "
                          f"first read at {seen[event_id]}", file=sys.stderr, flush=True)
                    continue
                seen[event_id] = f"{message.partition}/{message.offset}"
                print(json.dumps({"key": key, "partition": message.partition, "offset": message.offset,
                                  "value": message.value}), flush=True)
                printed += 1
                if printed >= a.count:
                    return

        await asyncio.wait_for(read(), a.timeout)
    except asyncio.TimeoutError:
        print(f"timeout: {printed} of {a.count} signals", file=sys.stderr)
        sys.exit(2)
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
