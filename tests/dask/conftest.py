"""A Dask LocalCluster of 2 worker processes, started once for the whole area.

Without ``distributed`` importable the cluster tests are skipped, with the reason;
under CI (env ``CI`` set), which installs the ``dask`` extra, that is a failure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("distributed is not importable, but CI installs the dask extra")
        pytest.skip("distributed is not installed: pip install '.[dask]'")
    return distributed


@pytest.fixture(scope="session")
def need_dask() -> Any:
    """``distributed``, or the test is skipped (failed under CI)."""
    return _distributed()


def _local_cluster(**config: Any) -> Any:
    distributed = _distributed()
    import dask

    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        )


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """The LocalCluster (2 single-threaded worker processes on 127.0.0.1)."""
    cluster = _local_cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def own_cluster(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """A client and address of a LocalCluster of the test's own, for tests that kill
    workers: the shared cluster never waits on a worker being restarted. Scheduler
    settings come from ``@pytest.mark.parametrize("own_cluster", [{...}], indirect=True)``."""
    distributed = _distributed()
    cluster = _local_cluster(**getattr(request, "param", {}))
    try:
        with distributed.Client(cluster, set_as_default=False) as cl:  # type: ignore[no-untyped-call]
            cl.wait_for_workers(2, timeout=60)
            yield cl, str(cluster.scheduler_address)
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def scheduler(dask_cluster: Any) -> str:
    """The cluster's address, for ``--scheduler``."""
    return str(dask_cluster.scheduler_address)


@pytest.fixture
def client(dask_cluster: Any) -> Iterator[Any]:
    """A client of the test cluster, for plugins and worker pids."""
    distributed = _distributed()
    with distributed.Client(dask_cluster, set_as_default=False) as cl:  # type: ignore[no-untyped-call]
        cl.wait_for_workers(2, timeout=60)
        yield cl


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), hidden ones included."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(autouse=True)
def loud_messages() -> Iterator[None]:
    """``subset extract -q`` sets the process-wide ``messages.quiet`` and leaves it
    set: put it back so later tests see their messages."""
    from imagenet_cli.cli.output import messages

    quiet = messages.quiet
    yield
    messages.quiet = quiet
