"""Every command the parser names has a handler, found in the module the lazy table names."""

from __future__ import annotations

import argparse

from infra.cli.dispatch import MODULE_OF, handler
from infra.cli.parser import build_parser


def handler_names(parser: argparse.ArgumentParser) -> set[str]:
    names = {parser.get_default("handler")} - {None}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names |= handler_names(sub)
    return names


def test_every_command_resolves_to_a_handler_and_no_entry_is_stale() -> None:
    named = handler_names(build_parser())
    assert named == set(MODULE_OF)
    for name in named:
        assert callable(handler(name)), name
