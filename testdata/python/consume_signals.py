"""Read learning signals back the way the seed's KafkaEventConsumer does.

AIOKafkaConsumer with value_deserializer=json.loads, but from the earliest
offset under a group of its own. Prints one JSON line per record whose key is
--key ({"key", "partition", "offset", "value"}), and exits once --count were
printed (exit 0) or after --timeout seconds (exit 2).
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
            async for message in consumer:
                key = message.key.decode("utf-8") if message.key is not None else None
                if key != a.key:
                    continue
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
