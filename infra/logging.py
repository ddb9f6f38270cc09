"""structlog set-up: JSON lines in production, readable output on a terminal."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from infra.secrets import mask_event


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    """Whatever sys.stderr is now (not at configuration time): a captured or replaced stream
    that was closed since must not break later logging."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(*, json_logs: bool | None = None, level: str | None = None) -> None:
    """Call once at start-up. Logs go to stderr so command output on stdout stays clean."""
    level_name = (level or os.environ.get("PADDOCK_LOG_LEVEL", "WARNING")).upper()
    numeric = logging.getLevelName(level_name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    if json_logs is None:
        json_logs = os.environ.get("PADDOCK_LOG_FORMAT", "").lower() == "json" or not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_event,  # after the traceback is text: it may quote a URL
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
