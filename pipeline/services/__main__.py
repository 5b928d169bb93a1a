"""`python -m pipeline.services up|status|down`: the same as `pipeline services ...`."""

from __future__ import annotations

import argparse
import sys

from pipeline import services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.services", description=services.__doc__)
    parser.add_argument("action", choices=["up", "status", "down"])
    parser.add_argument("--spark", action="store_true",
                        help="up: also a Spark standalone master, two workers and a Spark Connect server; "
                             "down: only those (with --postgres: those and PostgreSQL)")
    parser.add_argument("--postgres", action="store_true", help="up: also PostgreSQL for Dagster's storage; down: only it")
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            print(services.up(progress=lambda message: print(message, flush=True), spark=args.spark,
                              postgres=args.postgres))
            if args.spark:
                print(services.spark_usage())
            if args.postgres:
                print(services.postgres_usage())
        elif args.action == "down":
            services.down(spark=args.spark, postgres=args.postgres)
        else:
            print(services.status())
    except services.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted (services this command started were stopped)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
