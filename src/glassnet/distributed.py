"""Training runs as Dask tasks: many runs on a cluster, in order, surviving a lost worker.

``map_runs(function, configurations, client=...)`` is ``[function(c) for c in configurations]``
with each call a task on a ``dask.distributed`` cluster; :func:`connect` gives a client for a
scheduler address, or for a local cluster it starts and stops (``"local"``). Dask is an optional
dependency (``pip install glassnet[dask]``) and is imported only when one of them is called.

When a worker dies, its tasks go to another worker (the scheduler reschedules them, up to its
``distributed.scheduler.allowed-failures``, 3 by default); ``retries`` adds tries for a run
that raised. A run is an ordinary function of its configuration, so a run that draws from
``random_state`` (an int) returns the same result on any worker and in any order.

scikit-learn's searches (``GridSearchCV`` under ``joblib.parallel_backend("dask")``) and data
bigger than memory (``dask_ml.wrappers.Incremental``) need nothing from this module: see the
README's "Scale out on Dask".
"""

from __future__ import annotations

import asyncio
import contextlib
import numbers
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ._validation import check_int, quote

__all__ = ["connect", "map_runs"]

Configuration = TypeVar("Configuration")
Result = TypeVar("Result")

#: the scheduler address that means "a local cluster on this machine, started and stopped here"
LOCAL = "local"
#: seconds to wait for a scheduler to answer before giving up
CONNECT_TIMEOUT = 10.0

_INSTALL = "pip install glassnet[dask]"


def _distributed() -> Any:
    """``dask.distributed``, or an ImportError that says how to install it."""
    try:
        import dask.distributed
    except ImportError as error:
        raise ImportError(
            f"running on a Dask cluster needs dask and distributed ({_INSTALL}): {error}"
        ) from error
    return dask.distributed


def _check_timeout(timeout: object) -> float:
    seconds = (
        float(timeout)
        if isinstance(timeout, numbers.Real) and not isinstance(timeout, bool)
        else float("nan")
    )
    if not seconds > 0:  # (NaN too)
        raise ValueError(f"timeout must be a number of seconds > 0, got {quote(timeout)}")
    return seconds


@contextlib.contextmanager
def connect(
    scheduler: str, *, n_workers: int | None = None, timeout: float = CONNECT_TIMEOUT
) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``scheduler``, closed on leaving the ``with`` block.

    Parameters
    ----------
    scheduler : str
        A scheduler's address (``"tcp://10.0.0.5:8786"``), or ``"local"``: a ``LocalCluster``
        of worker processes on 127.0.0.1 (one thread each, no dashboard), started here and
        stopped on leaving the block.
    n_workers : int or None, default=None
        The local cluster's worker processes (None: Dask's choice, about one per core); only
        with ``"local"``.
    timeout : float, default=10.0
        Seconds to wait for the scheduler to answer before raising ``OSError``.

    Yields
    ------
    client : dask.distributed.Client
    """
    if not isinstance(scheduler, str):
        raise TypeError(
            f"scheduler must be a scheduler address or {LOCAL!r}, "
            f"got {type(scheduler).__name__} {quote(scheduler)}"
        )
    if not scheduler.strip():
        raise ValueError(f"scheduler must be a scheduler address or {LOCAL!r}, got {scheduler!r}")
    n_workers = check_int(n_workers, "n_workers", minimum=1, allow_none=True)
    if n_workers is not None and scheduler != LOCAL:
        raise ValueError(
            f"n_workers applies to scheduler={LOCAL!r} only, got n_workers={n_workers} "
            f"with scheduler={scheduler!r}"
        )
    timeout = _check_timeout(timeout)
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if scheduler == LOCAL:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(cluster, timeout=timeout))
        else:
            try:
                _answers(scheduler, timeout)
                client = distributed.Client(scheduler, timeout=timeout)
            except ValueError as error:
                raise ValueError(
                    f"scheduler must be a Dask scheduler address such as tcp://HOST:8786 or "
                    f"{LOCAL!r}, got {scheduler!r} ({error})"
                ) from None
            except OSError:  # (TimeoutError is one; Dask retries a refused connection)
                raise OSError(
                    f"no Dask scheduler answered at {scheduler} within {timeout:g} s"
                ) from None
            stack.enter_context(client)
        yield client


def _answers(address: str, timeout: float) -> None:
    """Raise ``OSError`` unless a Dask server at ``address`` completes the handshake in time.

    ``Client(address, timeout=...)`` bounds the TCP connection but not the handshake after
    it, so an address where something else listens (or a connection that lands on its own
    port) would hang it forever. Dask's own ``connect``, handshake included, runs here under
    one deadline, on an event loop of its own in a worker thread, so that a caller already
    inside a running loop (a notebook) is not disturbed.
    """
    from distributed.comm import connect as dask_connect

    async def handshake() -> None:
        comm = await asyncio.wait_for(dask_connect(address, timeout=timeout), timeout)
        await comm.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, handshake()).result()
        except asyncio.TimeoutError:  # an OSError from Python 3.11 on, not before
            raise OSError(f"no answer from {address} within {timeout:g} s") from None


def _running_client(client: object) -> Any:
    """``client`` if it is a ``Client``; for None, the running client."""
    distributed = _distributed()
    if client is None:
        try:
            return distributed.default_client()
        except ValueError:
            raise ValueError(
                "client is None and no Dask client is running: pass a "
                "dask.distributed.Client or a scheduler address, or start a Client first"
            ) from None
    if isinstance(client, distributed.Client):
        return client
    raise TypeError(
        "client must be a dask.distributed.Client, a scheduler address or None, "
        f"got {type(client).__name__} {quote(client)}"
    )


def map_runs(
    function: Callable[[Configuration], Result],
    configurations: Iterable[Configuration],
    *,
    client: Any = None,
    retries: int = 0,
    progress: Callable[[int, int], object] | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> list[Result]:
    """``[function(c) for c in configurations]``, each call a task on a Dask cluster.

    Parameters
    ----------
    function : callable
        One training run: takes a configuration, returns its result. It travels to the workers
        by pickling, so it must be a module-level function (or a ``functools.partial`` of
        one); for the same result on every worker, it should draw only from a ``random_state``
        in its configuration.
    configurations : iterable
        One item per run (a seed, a dict of parameters, ...). Every item is its own task, even
        when two are equal (tasks are submitted with ``pure=False``).
    client : dask.distributed.Client, str or None, default=None
        Where to run: a client, a scheduler address (connected here and closed at the end;
        ``"local"`` starts a local cluster, see :func:`connect`), or None for the running
        client (``dask.distributed.default_client()``).
    retries : int, default=0
        How many more times a run that raised is tried. A run whose worker died needs none:
        the scheduler gives it to another worker.
    progress : callable or None, default=None
        ``progress(done, total)`` after each run finishes, in the order they finish.
    timeout : float, default=10.0
        Seconds to wait for the scheduler when ``client`` is an address.

    Returns
    -------
    results : list
        ``function``'s results, in the order of ``configurations``.

    Raises
    ------
    Exception
        The first exception a run raised (after its retries); the runs not yet finished are
        cancelled.
    """
    if not callable(function):
        raise TypeError(
            f"function must be callable (one training run), got "
            f"{type(function).__name__} {quote(function)}"
        )
    if isinstance(configurations, (str, bytes)) or not isinstance(configurations, Iterable):
        raise TypeError(
            "configurations must be an iterable of run configurations, "
            f"got {type(configurations).__name__} {quote(configurations)}"
        )
    configurations = list(configurations)
    retries = check_int(retries, "retries", minimum=0)
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be callable or None, got {type(progress).__name__} {quote(progress)}"
        )
    timeout = _check_timeout(timeout)
    with contextlib.ExitStack() as stack:
        if isinstance(client, str):  # an address: connected here, closed at the end
            running = stack.enter_context(connect(client, timeout=timeout))
        else:
            running = _running_client(client)
        return _gather(running, function, configurations, retries, progress)


def _gather(
    client: Any,
    function: Callable[[Configuration], Result],
    configurations: list[Configuration],
    retries: int,
    progress: Callable[[int, int], object] | None,
) -> list[Result]:
    """Submit every run, report each as it finishes, and return the results in order."""
    as_completed = _distributed().as_completed
    futures = [
        client.submit(function, configuration, pure=False, retries=retries)
        for configuration in configurations
    ]
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()  # the run's exception, as soon as one fails
            if progress is not None:
                progress(done, len(futures))
        return [future.result() for future in futures]
    finally:
        client.cancel(futures)
