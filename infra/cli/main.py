"""Entry point of the `paddock` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import structlog

from domain.errors import PaddockError
from infra.cli.handlers import HANDLERS, StoreError
from infra.cli.parser import build_parser
from infra.logging import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    log = structlog.get_logger("paddock.cli").bind(command=args.handler)
    try:
        return HANDLERS[args.handler](args)
    except PaddockError as error:
        print(f"error: {error}", file=sys.stderr)
        log.info("command.rejected", error=type(error).__name__)
        return 1
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
