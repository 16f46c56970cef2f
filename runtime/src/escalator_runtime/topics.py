"""``python -m escalator_runtime.topics``: create the contract's topics (idempotent).

Reads the services' Kafka settings (address, TLS, SASL) and, for topics it creates,
``KAFKA_TOPIC_PARTITIONS`` (default 6: the most replicas of one service that all get work) and
``KAFKA_TOPIC_REPLICATION_FACTOR`` (default 1; 3 on a managed cluster).
"""

import asyncio
import dataclasses
import os
import sys

from escalator_runtime.kafka import ensure_topics, kafka_security
from escalator_runtime.settings import ServiceSettings
from escalator_schemas import topics


def main() -> int:
    settings = ServiceSettings()
    partitions = os.environ.get("KAFKA_TOPIC_PARTITIONS")
    specs = [
        dataclasses.replace(spec, partitions=int(partitions)) if partitions else spec
        for spec in topics.ALL_TOPICS
    ]
    created = asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap_servers,
            specs,
            replication_factor=int(os.environ.get("KAFKA_TOPIC_REPLICATION_FACTOR", "1")),
            security=kafka_security(settings),
        )
    )
    sys.stderr.write(f"topics created: {', '.join(created) or 'none (all exist)'}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
