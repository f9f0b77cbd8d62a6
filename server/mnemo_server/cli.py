"""Command line: `mnemo run` (server + gateway + embedded database),
`mnemo serve` (gRPC only), `mnemo gateway-config` (print Envoy's config) and
`mnemo rotate-key` (a new encryption key for stored secrets)."""
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
    sub.add_parser("rotate-key", help="put a new encryption key first in MNEMO_DATA_DIR/secret.key (the old keys "
                   "stay after it); the next start re-encrypts stored secrets with it")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "rotate-key":
        return rotate_key(settings)
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


def rotate_key(settings: Settings) -> int:
    from cryptography.fernet import Fernet

    from .core.secrets import parse_keys, rotate_key_file

    if settings.encryption_key:
        keys = [k.decode() for k in parse_keys(settings.encryption_key, "MNEMO_ENCRYPTION_KEY")]
        new = Fernet.generate_key().decode()
        sys.stderr.write(
            "MNEMO_ENCRYPTION_KEY is set, so secret.key is not used. Set it on every server to the line below "
            "(the new key first, the old ones after it) and restart them; the first start re-encrypts the "
            "stored secrets, after which the old keys can be removed:\n")
        sys.stdout.write(f"MNEMO_ENCRYPTION_KEY={','.join([new, *keys])}\n")
        return 0
    path, count = rotate_key_file(settings.data_dir)
    sys.stdout.write(f"{path}: a new key is now first ({count} keys). Restart Mnemo: it re-encrypts the stored "
                     f"secrets with the new key; then the older lines of the file can be removed.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
