"""`paddock nats-config`: the nats-server configuration that enforces who may publish what.

Wiring (infra/cli/parser.py and handlers.py): call `add_parsers(sub, common)` in `build_parser`
and merge `HANDLERS` into the handlers' table. The shipped file for the default prefix is
infra/nats/paddock-server.conf (`paddock nats-config --out infra/nats/paddock-server.conf`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from domain.errors import InvalidInputError
from infra.cli.output import destination, write_atomically
from infra.nats_authority import STORE_DIR_ENV, render_config
from infra.nats_subjects import DEFAULT_PREFIX


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    del common  # nothing here reads the event log
    cfg = sub.add_parser("nats-config", help="nats-server configuration: one user per role, "
                         "subject permissions, credentials from the environment")
    cfg.add_argument("--prefix", default=DEFAULT_PREFIX, help="subject prefix (default: paddock)")
    cfg.add_argument("--out", help="write the configuration to this file (default: print it)")
    cfg.add_argument("--store-dir", help=f"JetStream store directory (default: ${STORE_DIR_ENV} "
                     "from the server's environment)")
    cfg.set_defaults(handler="nats_config")


def nats_config(args: argparse.Namespace) -> int:
    try:
        text = render_config(args.prefix, store_dir=args.store_dir)
    except ValueError as error:
        raise InvalidInputError(f"--prefix: {error}") from None
    if not args.out:
        sys.stdout.write(text)
        return 0
    write_atomically(destination(args.out), text)
    print(f"wrote the nats-server configuration for prefix '{args.prefix}' to {args.out}")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"nats_config": nats_config}
