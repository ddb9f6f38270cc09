"""The tasks a worker runs, one per partition group it holds: started when the group is
claimed, stopped (and awaited: the batch in hand is finished) before its lease is given up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

GroupWork = Callable[[int, asyncio.Event], Coroutine[Any, Any, None]]


class GroupTasks:
    def __init__(self, work: GroupWork, name: str) -> None:
        self.work = work
        self.name = name
        self._running: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}

    @property
    def groups(self) -> list[int]:
        return sorted(self._running)

    def start(self, group: int) -> None:
        if group not in self._running:
            stop = asyncio.Event()
            task = asyncio.create_task(self.work(group, stop), name=f"{self.name}-{group}")
            self._running[group] = (task, stop)

    async def stop(self, groups: list[int] | None = None) -> None:
        """Ask the groups' tasks to stop (all when None) and wait until they have."""
        chosen = self.groups if groups is None else [g for g in groups if g in self._running]
        for group in chosen:
            self._running[group][1].set()
        tasks = [self._running.pop(group)[0] for group in chosen]
        await asyncio.gather(*tasks, return_exceptions=True)

    def failure(self) -> BaseException | None:
        """The error a group's task ended with, if one did (a bug: the worker stops)."""
        for task, _ in self._running.values():
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None
