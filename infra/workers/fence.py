"""The fence between the service's roles and its stores at shutdown.

Blocking store calls run in threads (`asyncio.to_thread`); cancelling the task that awaits one
does not stop the thread, which could still append after the service said it stopped. Every
such call goes through `Fence.run`: once the fence is closed (the stop signal), no new call
starts (`StoppingError`), and `settle` waits for the calls in flight to end."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class StoppingError(Exception):
    """The service is stopping: this store call was not started."""


class Fence:
    def __init__(self, stop: asyncio.Event | None = None) -> None:
        self.stop = stop
        self._idle = threading.Condition()
        self._busy = 0
        self._closed = False

    def close(self) -> None:
        """No store call starts from now on (calls in flight go on)."""
        with self._idle:
            self._closed = True

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`call` in a thread, unless the service is stopping."""
        if self._closed or (self.stop is not None and self.stop.is_set()):
            raise StoppingError("the service is stopping")
        return await asyncio.to_thread(functools.partial(self._call, call, *args, **kwargs))

    def _call(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._idle:
            if self._closed:  # closed while this call waited for a thread
                raise StoppingError("the service is stopping")
            self._busy += 1
        try:
            return call(*args, **kwargs)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def settle(self, timeout: float) -> int:
        """Wait (blocking) until no call is in flight, at most `timeout` s; how many are left."""
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout)
            return self._busy
