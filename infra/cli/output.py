"""Every `--out`: where a command may write, and writing there atomically.

A destination is a new path in an existing directory, or an existing regular file (a symlink
is followed to its target, which must be one of those). Directories, devices, FIFOs and sockets
are refused before any work, so `--out /dev/full` run as root replaces nothing. The text goes
to a temporary file in the same directory, flushed to disk, then renamed over the destination:
a reader never sees half a file and a failed run leaves the previous file in place.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from domain.errors import InvalidInputError

FILE_MODE = 0o644  # outputs are for sharing; the temporary file starts private (0600)


def destination(text: str, option: str = "--out") -> Path:
    """The real path `--out TEXT` will replace or create; refuses anything else, with why."""
    target = Path(os.path.realpath(Path(text).expanduser()))
    if not target.parent.is_dir():
        raise InvalidInputError(f"directory {target.parent} does not exist; create it first "
                                f"(mkdir -p {target.parent}) or choose another path", where=option)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as error:
        raise InvalidInputError(f"cannot use {text}: {error.strerror}", where=option) from None
    if stat.S_ISDIR(mode):
        raise InvalidInputError(f"{text} is a directory; give a file name such as "
                                f"{Path(text) / 'out'}", where=option)
    if not stat.S_ISREG(mode):
        raise InvalidInputError(f"{text} is not a regular file (a device, FIFO or socket): "
                                "refusing to replace it", where=option)
    return target


def directory_destination(text: str, option: str = "--out") -> Path:
    """A directory to write files into: an existing one, or a new one in an existing parent."""
    target = Path(os.path.realpath(Path(text).expanduser()))
    if target.is_dir():
        return target
    destination(text, option)  # a missing parent or a file in the way is refused the same way
    try:
        target.mkdir()
    except OSError as error:
        raise InvalidInputError(f"cannot create directory {text}: {error.strerror}",
                                where=option) from None
    return target


def write_atomically(path: Path, text: str, option: str = "--out") -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise InvalidInputError(f"cannot write in {path.parent}: {error.strerror}",
                                where=option) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except OSError as error:  # disk full, permissions changed meanwhile: nothing is left behind
        Path(temp).unlink(missing_ok=True)
        raise InvalidInputError(f"cannot write {path}: {error.strerror or error}",
                                where=option) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
