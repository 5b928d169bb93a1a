"""`python -m pipeline.services up|status|down`: the same as `pipeline services ...`."""

from __future__ import annotations

import argparse
import sys

from pipeline import services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.services", description=services.__doc__)
    parser.add_argument("action", choices=["up", "status", "down"])
    add_optional_services(parser)
    args = parser.parse_args(argv)
    optional = [name for name in services.OPTIONAL if getattr(args, name)]
    for flag in ("auth", "cluster"):
        if getattr(args, flag) and args.action != "up":
            parser.error(f"--{flag} goes with up (status and down follow what the home was started with)")
    try:
        if args.action == "up":
            print(services.up(progress=lambda message: print(message, flush=True), optional=optional,
                              auth=args.auth, cluster=args.cluster))
            for name in optional:
                print(services.usage(name))
            for note in (services.auth_usage(), services.cluster_usage()):
                if note is not None:
                    print(note)
        elif args.action == "down":
            services.down(optional=optional)
        else:
            print(services.status())
    except services.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted (services this command started were stopped)", file=sys.stderr)
        return 130
    return 0


def add_optional_services(parser: argparse.ArgumentParser) -> None:
    """--spark, --postgres, --s3: `up` also starts them; `down` stops only them. --auth: credentials and TLS;
    --cluster: 3 nodes each."""
    for name, what in services.OPTIONAL.items():
        parser.add_argument(f"--{name}", action="store_true", help=f"up: also {what}; down: only the named")
    parser.add_argument("--auth", action="store_true", help="up: Kafka with SASL/SCRAM over TLS and Cassandra with "
                        "passwords and TLS, from a local CA (for good, for this SERVICES_HOME); prints how to load "
                        "the credentials")
    parser.add_argument("--cluster", action="store_true", help="up: 3 Kafka brokers and 3 Cassandra nodes on "
                        "127.0.0.1-3 (replication 3, QUORUM), for failure tests (for good, for this SERVICES_HOME); "
                        "prints how to point commands at them")


if __name__ == "__main__":
    sys.exit(main())
