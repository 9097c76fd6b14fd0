"""Work spread over the machine's cores where it pays: large sites only. Worker
processes are forked, so they start with the parent's memory (the renderer, the view
models) and only the results travel back. Results keep the order of the input, so the
output is the same as a single-process build."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 1000  # below this, starting processes costs more than it saves
# Forking a process that runs other threads (the preview server) could copy a lock held
# by one of them; `labdigest serve` turns this off and builds on one core.
enabled = True
CHUNK = 250

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _work is not None
    function, items = _work
    return [function(item) for item in items[bounds[0] : bounds[1]]]


def _start_worker(parent: int) -> None:
    """A worker is killed with its build (Linux's parent-death signal): left running it
    would go on writing into the staging folder that the next build clears. Ctrl+C is the
    build's to handle (it stops its workers): each worker printed a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the build died before the signal was asked for
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def fork_map(
    function: Callable[[T], R],
    items: Sequence[T],
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    *,
    min_items: int = MIN_ITEMS,
    meanwhile: Callable[[], None] = lambda: None,
    warm_up: bool = False,
) -> list[R]:
    """[function(item) for item in items], on several cores when it pays: when there
    are at least min_items (fewer, larger items may pay too: pass a lower bound).
    meanwhile() is run in this process while the workers work (first, when none do).
    warm_up: the first item is worked out here before the workers are forked, so that
    what it loads once (templates it compiles) is loaded once for all of them."""
    global _work
    count = workers()
    if (
        not enabled
        or count == 1
        or len(items) < min_items
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        meanwhile()
        serial: list[R] = []
        for done, item in enumerate(items, start=1):
            serial.append(function(item))
            if done % CHUNK == 0:
                on_progress(done, len(items))
        return serial
    first: list[R] = []
    if warm_up and items:
        first.append(function(items[0]))
        items = items[1:]
    _work = (function, items)
    try:
        # Small chunks for few items, so that every worker gets a share.
        size = max(1, min(CHUNK, len(items) // (count * 4)))
        bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
        results: list[R] = first
        pool = multiprocessing.get_context("fork").Pool(
            count, initializer=_start_worker, initargs=(os.getpid(),)
        )
        with pool:
            chunks = pool.imap(_run_chunk, bounds)  # the workers start on them at once
            meanwhile()
            for chunk in chunks:
                results.extend(chunk)
                on_progress(len(results), len(items) + len(first))
        return results
    finally:
        _work = None


@contextlib.contextmanager
def in_background(function: Callable[[], R]) -> Iterator[Callable[[], R]]:
    """function() worked out in a forked process while this one goes on with other work;
    the context gives a function that waits for its result (or raises its exception).
    A result not asked for by the end of the context is dropped and its process killed.
    Where processes are not forked (see fork_map), function() runs when asked for."""
    if not enabled or workers() == 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield functools.cache(function)
        return
    reading, writing = os.pipe()
    parent = os.getpid()
    child = os.fork()
    if child == 0:  # the forked process
        os.close(reading)
        _start_worker(parent)
        _send(writing, function)
    os.close(writing)
    answer: list[tuple[bool, Any]] = []  # the child's, once read (and the child reaped)

    def result() -> R:
        if not answer:
            with os.fdopen(reading, "rb", closefd=False) as stream:
                message = stream.read()
            _, status = os.waitpid(child, 0)
            # No message: the process was killed before it could answer (memory, a signal).
            lost = RuntimeError(f"a background process ended without a result ({status})")
            answer.append(pickle.loads(message) if message else (False, lost))
        succeeded, value = answer[0]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    try:
        yield result
    finally:
        os.close(reading)
        if not answer:  # not asked for: not needed any more
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


def _send(writing: int, function: Callable[[], Any]) -> None:
    """In the forked process: function()'s result, or the exception it raised, pickled to
    the parent; then the process ends at once (no cleanup of the parent's state)."""
    try:
        try:
            message = pickle.dumps((True, function()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as error:  # the parent raises it
            try:
                message = pickle.dumps((False, error), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its message does
                message = pickle.dumps((False, RuntimeError(f"{type(error).__name__}: {error}")))
        with os.fdopen(writing, "wb") as stream:
            stream.write(message)
    finally:
        os._exit(0)
