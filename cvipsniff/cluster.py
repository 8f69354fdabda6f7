"""``report --cluster``: captures analysed on a Dask distributed cluster.

``tcp://HOST:PORT`` joins a running scheduler (started with ``dask scheduler``; workers
with ``dask worker tcp://HOST:PORT --nthreads 1``); ``local:N`` starts a cluster of N
worker processes on this machine, on the loopback interface, for the run. One task per
capture (files are what a fleet has many of); the workers open the paths themselves, so
they must see the files at the same paths (shared storage). Results are gathered in the
order of the inputs, and a task that fails (a worker lost, a path it cannot read) is that
file's error in the report, not the run's.

Dask is an optional extra (``pip install 'cvipsniff[cluster]'``): without it, a
``--cluster`` run is a one-line usage error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cvipsniff.batch import AnalyseTask, failed
from cvipsniff.errors import UsageError
from cvipsniff.report import FileResult

# How long to wait for a scheduler, in seconds, before giving up with an error.
CONNECT_TIMEOUT_S = 30


def parse_cluster(address: str) -> tuple[str, int | str]:
    """``("local", N)`` or ``("remote", address)``; a bad address is a usage error."""
    if address.startswith("local:"):
        count = address.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--cluster {address!r}: local:N needs a number of workers ≥ 1")
        return "local", int(count)
    if "://" not in address:
        raise UsageError(f"--cluster {address!r}: expected tcp://HOST:PORT or local:N")
    return "remote", address


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--cluster needs Dask: pip install 'cvipsniff[cluster]'") from None
    return distributed


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A Dask client for ``address``, closed (with its local cluster) afterwards."""
    kind, where = parse_cluster(address)
    distributed = _dask()
    if kind == "local":
        cluster = distributed.LocalCluster(
            n_workers=int(where), threads_per_worker=1, processes=True, host="127.0.0.1",
            scheduler_port=0, dashboard_address=None, silence_logs=logging.ERROR)
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(str(where), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
    with client:
        yield client


def analyse_on_cluster(paths: list[str], task: AnalyseTask, address: str) -> list[FileResult]:
    """Every path's result from the cluster, in the order given."""
    with connect(address) as client:
        futures = client.map(task, paths, pure=False)
        results: list[FileResult] = []
        for path, future in zip(paths, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as exc:  # a lost worker or a task's bug: this file's error
                results.append(failed(path, exc))
        return results
