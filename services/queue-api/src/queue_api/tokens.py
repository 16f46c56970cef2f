"""``python -m queue_api.tokens --sub alice --role admin --tenant acme``: print one bearer token
for the local stack (signed with ``QUEUE_API_JWT_SECRET``), and nothing else."""

import argparse
import sys
from datetime import timedelta

from queue_api.auth import Role, mint_token
from queue_api.settings import QueueApiSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", required=True, help="the supervisor id")
    parser.add_argument("--tenant", required=True, help="the tenant id")
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.SUPERVISOR.value)
    parser.add_argument("--hours", type=float, default=12.0, help="validity, in hours")
    args = parser.parse_args(argv)
    token = mint_token(
        QueueApiSettings(), args.sub, args.tenant, Role(args.role), timedelta(hours=args.hours)
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
