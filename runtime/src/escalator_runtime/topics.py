"""``python -m escalator_runtime.topics``: create the contract's topics (idempotent)."""

import asyncio
import os
import sys

from escalator_runtime.kafka import ensure_topics


def main() -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    created = asyncio.run(ensure_topics(bootstrap))
    sys.stderr.write(f"topics created: {', '.join(created) or 'none (all exist)'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
