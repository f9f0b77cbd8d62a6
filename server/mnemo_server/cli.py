"""Command line: `mnemo run` (server + gateway + embedded database),
`mnemo serve` (gRPC only) and `mnemo gateway-config` (print Envoy's config)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mnemo", description="Mnemo: a gRPC-native server for stateful agents.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start the gRPC server, the REST gateway and (by default) embedded PostgreSQL")
    sub.add_parser("serve", help="start the gRPC server without the REST gateway")
    sub.add_parser("gateway-config", help="print the Envoy configuration the gateway would use")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    if args.command == "gateway-config":
        from .gateway import render_config

        path = render_config(runtime_dir=settings.data_dir / "run" / "gateway-preview", settings=settings,
                             grpc_host=settings.grpc_host, grpc_port=settings.grpc_port)
        sys.stdout.write(path.read_text())
        return 0
    from .app import serve

    try:
        asyncio.run(serve(settings, with_gateway=args.command != "serve"))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
