"""Entry point of the `paddock` command."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import structlog
from eventsourcing.persistence import PersistenceError

from domain.errors import PaddockError
from infra.cli.errors import remember_secrets, say_error
from infra.cli.handlers import HANDLERS, StoreError
from infra.cli.parser import build_parser
from infra.logging import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    remember_secrets(args)
    log = structlog.get_logger("paddock.cli").bind(command=args.handler)
    started = time.perf_counter()
    try:
        code = HANDLERS[args.handler](args)
        log.info("command.done", exit_code=code, seconds=round(time.perf_counter() - started, 3))
        return code
    except PaddockError as error:
        say_error(str(error))
        log.info("command.rejected", error=type(error).__name__, reason=str(error))
        return 1
    except PersistenceError as error:
        say_error(f"the event log refused the operation ({type(error).__name__}: {error}); "
                  "nothing was half-written: check the store, then run the command again "
                  "(recording commands are idempotent)")
        log.info("command.failed", error=type(error).__name__)
        return 3
    except StoreError as error:
        say_error(str(error))
        log.info("command.failed", error=str(error))
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
