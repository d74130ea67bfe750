"""Where the served API's work runs: questions on a bounded pool of threads, index writes (uploads, removals)
one at a time on a thread of their own, so the event loop never waits for an answer and an ingest never
takes a question's worker. The Assistant is safe for concurrent questions and serialises its own writes.

>>> import asyncio
>>> workers = Workers(2)
>>> asyncio.run(workers.ask(sum, [1, 2]))
3
>>> async def collect():
...     return [x async for x in workers.stream(lambda: iter("abc"))]
>>> asyncio.run(collect())
['a', 'b', 'c']
>>> workers.close()
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable, Iterator

END = object()


def pool_size(setting: int, cores: int | None = None) -> int:
    """Questions answered at once: the setting, or (0) the number of cores but at least 2.

    >>> pool_size(0, cores=2), pool_size(0, cores=1), pool_size(5, cores=2)
    (2, 2, 5)
    """
    return setting or max(2, cores or os.cpu_count() or 2)


class Workers:
    def __init__(self, size: int):
        self.questions = ThreadPoolExecutor(size, thread_name_prefix="question")
        self.writes = ThreadPoolExecutor(1, thread_name_prefix="index-write")

    async def ask(self, work: Callable, *args, **kwargs):
        """`work(*args, **kwargs)` on a question worker."""
        return await asyncio.wrap_future(self.questions.submit(work, *args, **kwargs))

    async def write(self, work: Callable, *args, **kwargs):
        """`work(*args, **kwargs)` on the index-write thread (one write at a time; questions go on)."""
        return await asyncio.wrap_future(self.writes.submit(work, *args, **kwargs))

    async def stream(self, events: Callable[[], Iterator]) -> AsyncIterator:
        """The items of `events()`, produced on a question worker, as they come; its error is raised here.
        Closing this iterator early (a client gone) stops the producer at its next item."""
        loop, queue, stop = asyncio.get_running_loop(), asyncio.Queue(), threading.Event()
        self.questions.submit(_produce, events, _sender(loop, queue), stop)
        try:
            while (item := await queue.get()) is not END:
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()

    def close(self) -> None:
        self.questions.shutdown(wait=False, cancel_futures=True)
        self.writes.shutdown(wait=False, cancel_futures=True)


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _sender(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> Callable[[object], None]:
    def send(item: object) -> None:
        with contextlib.suppress(RuntimeError):   # the loop is closed: nobody is listening any more
            loop.call_soon_threadsafe(queue.put_nowait, item)
    return send


def _produce(events: Callable[[], Iterator], send: Callable[[object], None], stop: threading.Event) -> None:
    items = None
    try:
        items = events()
        for item in items:
            if stop.is_set():
                break
            send(item)
    except BaseException as error:  # noqa: BLE001 - handed to the reader, which turns it into a response
        send(_Failure(error))
    finally:
        getattr(items, "close", lambda: None)()   # a generator stopped early runs its own clean-up
        send(END)
