"""Work spread over the machine's cores where it pays: large sites only. A build has one
Pool; its worker processes are started (with "spawn", on every platform: macOS and
Windows have no fork) when a task first needs them, and serve every stage after. A
task's function must be importable (a module-level function, or a functools.partial of
one) and its arguments picklable. Results keep the order of the input, so the output is
the same as a single-process build; small work, or `enabled` off, runs in this process."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 1000  # below this, sending work to other processes costs more than it saves
# The tests turn this on, to run small sites' work on worker processes.
force = False
enabled = True
CHUNK = 250
MAX_WORKERS = 8


def workers() -> int:
    """The cores this process may use (3.13 knows the affinity mask; older Pythons the
    machine's count)."""
    count = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    return max(1, min(count, MAX_WORKERS))


class Pool:
    """The worker processes of one build (none until a task needs them)."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            # After a failure, work not yet begun is dropped, and no worker waited for.
            # (Terminating the workers instead can leave the pool's queue feeder blocked
            # on a pipe no one reads, which hangs the interpreter's exit: Python 3.11.)
            self._executor.shutdown(wait=kind is None, cancel_futures=True)

    def _processes(self, items: int) -> ProcessPoolExecutor | None:
        if not enabled or workers() == 1 or not (force or items >= MIN_ITEMS):
            return None
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                workers(), mp_context=multiprocessing.get_context("spawn"), initializer=_start
            )
        return self._executor

    def map(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        on_progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> list[R]:
        """[function(item) for item in items], on every core when there are many."""
        with self.meanwhile(function, items, on_progress) as results:
            return results()

    @contextlib.contextmanager
    def meanwhile(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        on_progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> Iterator[Callable[[], list[R]]]:
        """Pool.map begun on the workers while the block runs (or, for small work, here
        when the block asks for the results, with the function it is given). A block
        left by an exception drops the chunks not begun and waits for those begun: their
        writes end before the build cleans up after itself."""
        executor = self._processes(len(items)) if len(items) > 1 else None
        if executor is None:
            yield functools.cache(lambda: _here(function, items, on_progress))
            return
        # Small chunks for few items, so that every worker gets a share.
        size = max(1, min(CHUNK, len(items) // (workers() * 4)))
        chunks = [items[start : start + size] for start in range(0, len(items), size)]
        futures = [executor.submit(_run_chunk, function, chunk) for chunk in chunks]
        try:
            yield functools.cache(lambda: _gathered(futures, len(items), on_progress))
        except BaseException:
            _settle(futures)
            raise

    def later(self, size: int, function: Callable[..., R], *args: Any) -> Later[R]:
        """function(*args) worked out by a worker meanwhile, when `size` (items it works
        on) makes that pay; calling the result waits for it (or raises the exception).
        Otherwise it is worked out here, when asked for."""
        executor = self._processes(size)
        if executor is None:
            return Later(functools.cache(lambda: function(*args)))
        future: Future[R] = executor.submit(function, *args)
        return Later(future.result, future.done, functools.partial(_settle, [future]))

    @contextlib.contextmanager
    def beside(self, size: int, function: Callable[..., R], *args: Any) -> Iterator[Later[R]]:
        """later() for work that writes into the build's stage: a block left by an
        exception waits for it, if begun (the stage is removed after the block)."""
        later = self.later(size, function, *args)
        try:
            yield later
        except BaseException:
            later.settle()
            raise


@dataclass(frozen=True, slots=True)
class Later(Generic[R]):
    """A result being worked out meanwhile: call it to wait for it. `ready` tells whether
    a call would wait for a worker (a result worked out here is always ready)."""

    result: Callable[[], R]
    ready: Callable[[], bool] = lambda: True
    settle: Callable[[], None] = lambda: None  # drop it if not begun, else wait for it

    def __call__(self) -> R:
        return self.result()


def _settle(futures: list[Future[Any]]) -> None:
    """The futures not begun dropped, the others waited for (their exceptions are the
    caller's to get, or not)."""
    for future in futures:
        future.cancel()
    concurrent.futures.wait(futures)


def _here(
    function: Callable[[T], R], items: Sequence[T], on_progress: Callable[[int, int], None]
) -> list[R]:
    results = []
    for done, item in enumerate(items, start=1):
        results.append(function(item))
        if done % CHUNK == 0:
            on_progress(done, len(items))
    return results


def _gathered(
    futures: list[Future[list[R]]], total: int, on_progress: Callable[[int, int], None]
) -> list[R]:
    results: list[R] = []
    for future in futures:
        results.extend(future.result())
        on_progress(len(results), total)
    return results


def process_map(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """Pool().map for work outside a build (ingest)."""
    with Pool() as pool:
        return pool.map(function, items)


def _run_chunk(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [function(item) for item in items]


def _start() -> None:
    """In each worker. Ctrl+C is the build's to handle (it stops its workers): each
    worker would print a traceback of its own. A worker whose build was killed (kill -9,
    the OOM killer) ends too, instead of waiting for work forever. A worker starts no
    workers of its own."""
    global enabled
    enabled = False
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True).start()


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)
