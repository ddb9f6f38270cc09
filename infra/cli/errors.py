"""How the CLI prints an error: one line, no credential, no control character."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from types import TracebackType

from domain.bounds import printable
from infra.secrets import mask, remember, remember_url
from infra.store import store_from_env


def remember_secrets(args: argparse.Namespace) -> None:
    """The passwords this command could meet: its store's and NATS's. An unexpected error's
    traceback (a bug: kept for the report) is printed with them masked too."""
    remember_url(store_from_env(getattr(args, "store", None)))
    remember_url(getattr(args, "nats_url", None) or os.environ.get("NATS_URL"))
    remember(os.environ.get("NATS_PASSWORD"))
    sys.excepthook = _masked_traceback


def _masked_traceback(kind: type[BaseException], error: BaseException,
                      trace: TracebackType | None) -> None:
    sys.stderr.write(mask("".join(traceback.format_exception(kind, error, trace))))


def say_error(text: str) -> None:
    """`error: …` on stderr, on one line, secrets masked and control characters escaped."""
    print(f"error: {printable(mask(' '.join(text.splitlines())))}", file=sys.stderr)
