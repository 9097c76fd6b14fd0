"""Work spread over the machine's cores where it pays: large sites only. Workers are
started with the "spawn" method on every platform (macOS and Windows have no fork), so
a task's function must be importable (a module-level function) and its items and the
initializer's arguments picklable. Results keep the order of the input, so the output
is the same as a single-process build; below MIN_ITEMS, or with `enabled` off, the same
functions run in this process."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 1000  # below this, starting processes costs more than it saves
# The preview server turns this off and builds on one core; the tests turn it on for
# small sites, to run the parallel path on them.
enabled = True
force = False  # use processes whatever the number of items (tests)
CHUNK = 250
MAX_WORKERS = 8


def workers() -> int:
    """The cores this process may use (3.13 knows the affinity mask; older Pythons the
    machine's count)."""
    count = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    return max(1, min(count, MAX_WORKERS))


def _run_chunk(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [function(item) for item in items]


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """Ctrl+C is the build's to handle (it stops its workers): each worker would print a
    traceback of its own. A worker whose build was killed (kill -9, the OOM killer) ends
    too, instead of waiting for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent.sentinel,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _end_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def process_map(
    function: Callable[[T], R],
    items: Sequence[T],
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    on_progress: Callable[[int, int], None] = lambda done, total: None,
    meanwhile: Callable[[], None] = lambda: None,
    min_items: int = MIN_ITEMS,
) -> list[R]:
    """[function(item) for item in items], on several cores when there are at least
    min_items. Each worker runs initializer(*initargs) first (so does this process when
    it does the work itself). meanwhile() runs in this process while the workers work."""
    count = workers()
    parallel = enabled and count > 1 and (force or len(items) >= min_items) and len(items) > 1
    if not parallel:
        if initializer is not None:
            initializer(*initargs)
        meanwhile()
        results: list[R] = []
        for done, item in enumerate(items, start=1):
            results.append(function(item))
            if done % CHUNK == 0:
                on_progress(done, len(items))
        return results
    # Small chunks for few items, so that every worker gets a share.
    size = max(1, min(CHUNK, len(items) // (count * 4)))
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        min(count, len(chunks)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(initializer, initargs),
    ) as pool:
        futures = [pool.submit(_run_chunk, function, chunk) for chunk in chunks]
        try:
            meanwhile()
            results = []
            for future in futures:
                results.extend(future.result())
                on_progress(len(results), len(items))
        except BaseException:
            for future in futures:  # the build stops: so does the work not yet begun
                future.cancel()
            raise
    return results


@contextlib.contextmanager
def in_background(function: Callable[..., R], *args: Any) -> Iterator[Callable[[], R]]:
    """function(*args) worked out in a worker process while this one goes on; the context
    gives a function that waits for its result (or raises its exception). A result not
    asked for by the end of the context is not waited for: its process is ended. With
    `enabled` off, or one core, function(*args) runs here when asked for."""
    if not enabled or workers() == 1:
        yield functools.cache(lambda: function(*args))
        return
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_answer, args=(sending, function, args), daemon=True)
    process.start()
    sending.close()
    answer: list[tuple[bool, Any]] = []

    def result() -> R:
        if not answer:
            try:
                answer.append(receiving.recv())
            except EOFError:  # killed before it could answer (memory, a signal)
                lost = RuntimeError(f"a background process ended without a result ({process})")
                answer.append((False, lost))
            process.join()
        succeeded, value = answer[0]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    try:
        yield result
    finally:
        receiving.close()
        if process.is_alive():
            process.terminate()
            process.join()


def _answer(sending: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the worker: function's result, or the exception it raised, sent to the build.
    The worker is the parallel part: it starts no workers of its own."""
    global enabled
    enabled = False
    _start_worker(None, ())
    try:
        message: tuple[bool, Any] = (True, function(*args))
    except BaseException as error:  # the build raises it
        message = (False, error)
    try:
        sending.send(message)
    except Exception as error:  # an exception that does not pickle: its message does
        sending.send((False, RuntimeError(f"{type(error).__name__}: {error}")))
    sending.close()
