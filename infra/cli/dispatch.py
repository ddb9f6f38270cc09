"""Which module runs each command, imported only when that command runs.

The parser names a handler (`set_defaults(handler=...)`); the module that holds it is imported
by name here, so `paddock standings` never loads NATS and `paddock --help` loads nothing but
argparse (issue 9 item 20; tests/unit/test_cli_imports.py keeps it so). Each module lists its
commands in its own `HANDLERS` table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib import import_module

Handler = Callable[[argparse.Namespace], int]

MODULES: dict[str, tuple[str, ...]] = {
    "infra.cli.handlers": (
        "demo", "season_register", "import_alkamel", "penalty_impose", "penalty_amend",
        "penalty_rescind", "pole", "official", "award", "invitation", "entry", "tie", "standings",
        "invitations", "history", "audit_explain", "audit_timeline", "audit_diff",
    ),
    "infra.cli.audit_chain": ("audit_verify", "audit_checkpoint"),
    "infra.cli.audit_report": ("audit_report",),
    "infra.cli.entry_list": ("entry_list", "organiser_capacity", "organiser_grant",
                             "organiser_reserves", "organiser_publish"),
    "infra.cli.keys": ("keys_generate", "keys_register", "keys_revoke", "keys_list", "keys_demo"),
    "infra.cli.nats_config": ("nats_config",),
    "infra.cli.projections": ("projections_rebuild", "projections_status"),
    "infra.cli.service": ("serve", "produce", "schema"),
}
MODULE_OF = {name: module for module, names in MODULES.items() for name in names}


def handler(name: str) -> Handler:
    """The function that runs the command the parser named `name`."""
    table: dict[str, Handler] = import_module(MODULE_OF[name]).HANDLERS
    return table[name]
