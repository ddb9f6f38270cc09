"""Entry point of the `paddock` command."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from infra.cli.parser import build_parser

PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def main(argv: Sequence[str] | None = None) -> int:
    """The `paddock` command. Output cut short by its reader (`paddock standings … | head`)
    ends it quietly, exit code 141 as for any process stopped by SIGPIPE."""
    try:
        try:
            return run(argv)
        finally:  # what is still buffered fails here, not in the interpreter's exit
            sys.stdout.flush()
    except BrokenPipeError:
        # Nothing more reaches the reader; devnull takes what is left, so the flush at exit
        # cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED


def run(argv: Sequence[str] | None = None) -> int:
    """Parse, run the command's handler, turn the errors a user can fix into exit codes."""
    # Parse first: `--help` and usage errors end here, before the imports below (issue 9 item 20).
    args = build_parser().parse_args(argv)
    import structlog
    from eventsourcing.persistence import PersistenceError

    from domain.errors import PaddockError
    from infra.cli.context import StoreError
    from infra.cli.dispatch import handler
    from infra.cli.errors import remember_secrets, say_error
    from infra.logging import configure_logging
    from infra.retrying import is_write_conflict, retry_conflicts

    remember_secrets(args)
    configure_logging()
    log = structlog.get_logger("paddock.cli").bind(command=args.handler)
    started = time.perf_counter()
    try:
        # another writer recorded the same aggregate first: the command runs again, re-reads
        # and finds the fact (recording commands are idempotent); never shown to the user
        code = retry_conflicts(lambda: handler(args.handler)(args), conflict=is_write_conflict)
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
