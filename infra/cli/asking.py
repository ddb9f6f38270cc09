"""The command line as a transport of the query module (services/queries.py): a view command's
arguments become a request, checked and answered there, with errors spelled as flags (`--as-of`).
"""

from __future__ import annotations

import argparse
from typing import Any

from infra.cli.context import reader_from
from projections.catalog import CATALOG, View
from services import queries

_DESTS = {"class": "class_id", "from": "start", "to": "end",
          "retroactive_after_hours": "retroactive_after"}
"""A request field → the argparse destination holding it, where they differ."""
_FLAGS = {"retroactive_after_hours": "--retroactive-after"}


def flag(name: str) -> str:
    """The flag a parameter is given with: `as_of` → `--as-of`."""
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


def spelling(view: View) -> queries.Spelling:
    """The view's key is a positional argument, named as it is; parameters are flags."""
    return lambda name: name if name == view.key.name else flag(name)


def request_of(view: View, args: argparse.Namespace, **given: Any) -> dict[str, Any]:
    """The request a command's arguments make (`given` fields override them); absent ones left out."""
    fields = {name: getattr(args, _DESTS.get(name, name), None) for name in view.fields}
    return {k: v for k, v in (fields | given).items() if v is not None}


def ask(args: argparse.Namespace, name: str, **given: Any) -> dict[str, Any]:
    """The view `name` as the command's arguments ask for it: checked before the log is
    opened, then answered from it."""
    view = CATALOG.view(name)
    query = queries.parse(view, request_of(view, args, **given), spell=spelling(view))
    return queries.ask(reader_from(args), query)
