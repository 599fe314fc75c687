"""The Dask driver: batches as futures on a cluster, results gathered in plan order.

Imported only when a scheduler is asked for (it imports ``distributed``).

* ``tcp://host:8786`` (or tls://, ...): a running cluster (``dask scheduler`` and
  ``dask worker tcp://host:8786`` on each machine);
* ``local`` / ``local:N``: a LocalCluster of N single-threaded worker processes
  (default: one per core), started here and closed when the command ends.

Faults: a batch whose worker dies is rerun elsewhere by the scheduler (at most
``distributed.scheduler.allowed-failures`` times, 3 by default); a batch whose
function raises is retried ``retries`` times. A batch that still fails is handed to
``on_failure`` and the rest goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from ..errors import ImagenetError
from . import parse_address, require_dask, worker_count

B = TypeVar("B")
R = TypeVar("R")

CONNECT_TIMEOUT = 10  # seconds to reach a scheduler


class Cluster:
    """A connection to a Dask scheduler (and the LocalCluster behind it, if ours)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.kind, self.count = parse_address(address)
        self.client: Any = None
        self.local: Any = None

    def __enter__(self) -> Cluster:
        require_dask()
        import distributed

        dist: Any = distributed  # untyped: keep mypy's strict mode off its calls
        logging.getLogger("distributed").setLevel(logging.ERROR)
        if self.kind == "local":
            import dask

            sys.stdout.flush()
            with (
                _stdout_to_devnull(),  # the worker processes inherit this stdout
                # The statistical profiler samples each task's stack every 10 ms:
                # CPU taken from the work, for a dashboard nobody looks at here.
                dask.config.set({"distributed.worker.profile.enabled": False}),
            ):
                self.local = dist.LocalCluster(
                    n_workers=self.count or worker_count(None),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL,
                )
            self.client = dist.Client(self.local, set_as_default=False)
        else:
            try:
                self.client = dist.Client(
                    self.address, timeout=CONNECT_TIMEOUT, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                raise ImagenetError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}"
                ) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect, and stop the LocalCluster if this command started it."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()
            self.local = None

    def threads(self) -> int:
        """Worker threads in the cluster now (at least 1)."""
        return max(1, int(sum(self.client.nthreads().values())))

    def map(
        self,
        func: Callable[[B], R],
        batches: Iterable[B],
        *,
        window: int | None = None,
        retries: int = 2,
        on_failure: Callable[[B, BaseException], R] | None = None,
        ordered: bool = True,
    ) -> Generator[R, None, None]:
        """``func`` over ``batches`` on the cluster, results in batch order (or, not
        ``ordered``, as each batch finishes: a slow one holds back no other).

        At most ``window`` batches are submitted and not yet handed back (default:
        two per worker thread, at least 4): the cluster stays busy while the client
        holds only a window of batches and results.
        """
        client = self.client
        limit = window or max(4, 2 * self.threads())
        pending: deque[tuple[Any, B]] = deque()
        try:
            for batch in batches:
                # Sent as bytes pickled here: Dask would otherwise walk the batch's
                # thousand items for futures on submit and size the result up,
                # several milliseconds of the client's time a task.
                payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
                future = client.submit(_run, func, payload, pure=False, retries=retries)
                pending.append((future, batch))
                if len(pending) >= limit:
                    yield from self._next(pending, ordered, on_failure)
            while pending:
                yield from self._next(pending, ordered, on_failure)
        finally:
            if pending and self.client is not None:
                # Ctrl-C, or the writer stopped: nothing more runs on our behalf.
                with contextlib.suppress(Exception):
                    client.cancel([f for f, _ in pending], force=True)

    def _next(
        self,
        pending: deque[tuple[Any, B]],
        ordered: bool,
        on_failure: Callable[[B, BaseException], R] | None,
    ) -> Iterator[R]:
        """The first pending batch's result, or (not ``ordered``) those of every
        batch finished by the time one is; each taken out of ``pending``."""
        if ordered:
            yield self._result(*pending.popleft(), on_failure)
            return
        import distributed

        dist: Any = distributed  # untyped
        assert self.client is not None
        with self.client.as_current():  # the client is no default one (see connect)
            done = dist.wait([f for f, _ in pending], return_when="FIRST_COMPLETED").done
        for item in [p for p in pending if p[0] in done]:
            pending.remove(item)
            yield self._result(*item, on_failure)

    def _result(
        self, future: Any, batch: B, on_failure: Callable[[B, BaseException], R] | None
    ) -> R:
        try:
            result: R = pickle.loads(future.result())
            return result
        except Exception as exc:
            if self.client is None or self.client.status not in ("running", "connecting"):
                raise ImagenetError(f"lost the Dask scheduler at {self.address}") from None
            if on_failure is None:
                raise
            return on_failure(batch, exc)


def _run(func: Callable[[B], R], payload: bytes) -> bytes:
    """On a worker: ``func`` over the pickled batch, its result pickled back."""
    return pickle.dumps(func(pickle.loads(payload)), protocol=pickle.HIGHEST_PROTOCOL)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """fd 1 points at /dev/null while the block runs (processes started in it keep
    that), so no worker holds a pipe open after the command has ended (``| head``)."""
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
