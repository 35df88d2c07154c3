"""glassnet on a Dask cluster: the study and any list of runs (``glassnet.distributed``),
scikit-learn's searches under the dask joblib backend, and ``dask_ml``'s ``Incremental``.

One ``LocalCluster`` of 2 worker processes on 127.0.0.1 serves the module; nothing contacts
another address. Dask is part of the test environment (``make test`` installs glassnet[dask]),
so a missing Dask fails these tests at import instead of skipping them.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import threading

import cloudpickle
import dask.array as da
import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from dask_ml.wrappers import Incremental
from sklearn.base import clone
from sklearn.datasets import make_classification, make_moons, make_regression
from sklearn.model_selection import GridSearchCV

from glassnet import distributed, study
from glassnet.cli import main
from glassnet.estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

# short fits on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# the workers cannot import this file: send its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

#: a study small enough for a test: its own seeds, a few epochs each
RUNS, SEED_EPOCHS, MODERN_EPOCHS = 3, 2, 3


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as running,
    ):
        yield running


def without_seconds(run):
    """A study run's results less the training times, which differ from run to run."""
    return {
        key: {k: v for k, v in part.items() if k != "seconds"} if isinstance(part, dict) else part
        for key, part in run.items()
    }


def fit_classifier(configuration):
    """One training run: a small classifier on the moons, its parameters and training loss."""
    x, y = make_moons(n_samples=200, noise=0.2, random_state=configuration["data_seed"])
    model = NeuralNetworkClassifier(
        hidden_layer_sizes=configuration["hidden_layer_sizes"],
        solver="adam",
        batch_size=32,
        max_iter=5,
        tol=0.0,
        random_state=configuration["random_state"],
    )
    model.fit(x, y)
    return model.network_.parameters.copy(), model.loss_curve_


def study_run_killing_its_worker_once(seed, marker):
    """The study's run of ``seed``; on its first try seed 1 kills the worker process it runs in."""
    if seed == 1 and not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(str(os.getpid()))
        os._exit(1)
    return study._one(seed, SEED_EPOCHS, MODERN_EPOCHS)


# ====================================================================== many runs on the cluster
def test_the_study_on_the_cluster_equals_the_serial_run(client):
    serial = study.run_study(RUNS, seed_epochs=SEED_EPOCHS, modern_epochs=MODERN_EPOCHS)
    reported = []
    on_dask = study.run_study(
        RUNS,
        seed_epochs=SEED_EPOCHS,
        modern_epochs=MODERN_EPOCHS,
        progress=lambda done, total: reported.append((done, total)),
        client=client,
    )
    assert [run["seed"] for run in on_dask["runs"]] == list(range(RUNS))
    assert [without_seconds(run) for run in on_dask["runs"]] == [
        without_seconds(run) for run in serial["runs"]
    ]
    assert reported == [(done, RUNS) for done in range(1, RUNS + 1)]
    assert on_dask["machine"].endswith("; the runs as Dask tasks")


def test_map_runs_returns_every_result_in_order_as_a_serial_loop_would(client):
    configurations = [
        {"data_seed": seed, "hidden_layer_sizes": (width,), "random_state": seed}
        for seed, width in [(0, 4), (1, 8), (2, 4), (0, 4)]
    ]
    on_dask = distributed.map_runs(fit_classifier, configurations, client=client)
    for (parameters, curve), configuration in zip(on_dask, configurations, strict=True):
        expected_parameters, expected_curve = fit_classifier(configuration)
        np.testing.assert_array_equal(parameters, expected_parameters)
        assert curve == expected_curve
    # equal configurations are separate tasks with equal results
    np.testing.assert_array_equal(on_dask[0][0], on_dask[3][0])


def test_map_runs_uses_the_running_client_when_none_is_given(client):
    assert distributed.map_runs(abs, [-1, 2, -3]) == [1, 2, 3]


def test_a_run_whose_worker_dies_is_rerun_and_the_study_completes(client, tmp_path):
    marker = tmp_path / "killed-a-worker"
    run = functools.partial(study_run_killing_its_worker_once, marker=str(marker))
    results = distributed.map_runs(run, range(RUNS), client=client)
    assert marker.exists()  # a worker did die, running seed 1
    assert int(marker.read_text()) not in client.run(os.getpid).values()
    expected = [study._one(seed, SEED_EPOCHS, MODERN_EPOCHS) for seed in range(RUNS)]
    assert [without_seconds(r) for r in results] == [without_seconds(r) for r in expected]
    client.wait_for_workers(2, timeout=30)  # the nanny restarts it, for the tests that follow


def test_a_run_that_raises_raises_here_after_its_retries(client, tmp_path):
    with pytest.raises(ZeroDivisionError):
        distributed.map_runs(functools.partial(divmod, 1), [1, 0, 2], client=client, retries=1)


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        ({"function": 3}, TypeError, "function must be callable .* got int 3"),
        ({"configurations": "abc"}, TypeError, "configurations must be an iterable .* got str"),
        ({"configurations": 5}, TypeError, "configurations must be an iterable .* got int 5"),
        ({"retries": -1}, ValueError, "retries must be >= 0, got -1"),
        ({"retries": 1.5}, TypeError, "retries must be an integer, got float 1.5"),
        ({"progress": "yes"}, TypeError, "progress must be callable or None, got str 'yes'"),
        ({"client": 8786}, TypeError, "client must be a dask.distributed.Client, .* got int 8786"),
        ({"client": "nowhere"}, ValueError, "scheduler must be a Dask scheduler address .*nowhere"),
        ({"timeout": 0}, ValueError, "timeout must be a number of seconds > 0, got 0"),
    ],
)
def test_map_runs_refuses_bad_arguments_by_name(client, arguments, error, match):
    given = {"function": abs, "configurations": [1, 2], **arguments}
    with pytest.raises(error, match=match):
        distributed.map_runs(given.pop("function"), given.pop("configurations"), **given)


def connect_in_a_thread(address, timeout):
    """What ``distributed.connect(address, timeout)`` raised, from a thread given 60 s to
    finish: a hang fails the test instead of stalling the suite."""
    outcome = []

    def attempt():
        try:
            with distributed.connect(address, timeout=timeout):
                outcome.append(None)
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f"connect({address!r}, timeout={timeout}) still hangs after 60 s"
    return outcome[0]


def test_an_unreachable_scheduler_is_reported_within_the_timeout():
    # a port on the loopback interface bound but not listening: refused, and held for the
    # test's length so that no other connection can take it
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{held.getsockname()[1]}"
        error = connect_in_a_thread(address, 0.5)
    assert isinstance(error, OSError)
    assert f"no Dask scheduler answered at {address} within 0.5 s" in str(error)


def test_an_address_where_something_else_listens_is_reported_within_the_timeout():
    # it accepts the connection and never answers Dask's handshake, which Client alone would
    # wait for forever
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        error = connect_in_a_thread(address, 0.5)
    assert isinstance(error, OSError)
    assert f"no Dask scheduler answered at {address} within 0.5 s" in str(error)


def test_connect_refuses_workers_for_a_remote_scheduler():
    with (
        pytest.raises(ValueError, match="n_workers applies to scheduler='local' only"),
        distributed.connect("tcp://127.0.0.1:8786", n_workers=2),
    ):
        pass


def test_without_dask_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"pip install glassnet\[dask\]"):
        distributed.map_runs(abs, [1])


# ====================================================================== the command line
def test_glassnet_study_on_a_local_cluster_writes_the_serial_runs_results(tmp_path, capsys):
    out = tmp_path / "study"
    quick = ["--runs", "2", "--epochs", "2"]
    status = main(["study", *quick, "--scheduler", "local", "--jobs", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "on a local Dask cluster (2 workers)" in printed
    assert "2/2 seeds done" in printed
    written = json.loads((out / "seed-study.json").read_text())
    serial = study.run_study(2, seed_epochs=2)
    assert [without_seconds(run) for run in written["runs"]] == [
        without_seconds(run) for run in serial["runs"]
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"],
            "--jobs applies without --scheduler or with --scheduler local",
        ),
        (["--scheduler", "nowhere"], "scheduler must be a Dask scheduler address"),
    ],
)
def test_glassnet_study_refuses_a_bad_scheduler_in_one_line(tmp_path, capsys, arguments, message):
    status = main(["study", *arguments, "--out", str(tmp_path / "study")])
    error = capsys.readouterr().err
    assert status == 2
    assert len(error.strip().splitlines()) == 1 and message in error
    assert not (tmp_path / "study").exists()


# ====================================================================== scikit-learn's searches
def test_grid_search_under_the_dask_backend_equals_the_serial_search(client):
    x, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    model = NeuralNetworkClassifier(
        solver="adam", batch_size=32, max_iter=5, tol=0.0, random_state=0
    )
    grid = {"hidden_layer_sizes": [(4,), (8,)], "alpha": [1e-4, 1e-1]}
    serial = GridSearchCV(model, grid, cv=3).fit(x, y)
    with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(model, grid, cv=3, n_jobs=-1).fit(x, y)
    assert tasks.data  # the fits ran on the cluster
    assert on_dask.best_params_ == serial.best_params_
    for name in ("mean_test_score", "std_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[name], serial.cv_results_[name])
    np.testing.assert_array_equal(
        on_dask.best_estimator_.network_.parameters, serial.best_estimator_.network_.parameters
    )


# ====================================================================== data bigger than memory
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_incremental_streams_the_blocks_through_partial_fit_as_by_hand(client, kind):
    n_blocks, block = 8, 50
    if kind == "classifier":
        x, y = make_classification(n_samples=n_blocks * block, n_features=5, random_state=0)
        model = NeuralNetworkClassifier(
            hidden_layer_sizes=(8,), solver="sgd", batch_size=16, random_state=0
        )
        extra = {"classes": [0, 1]}
    else:
        x, y = make_regression(n_samples=n_blocks * block, n_features=5, random_state=0)
        y = y / y.std()
        model = NeuralNetworkRegressor(
            hidden_layer_sizes=(8,), solver="adam", batch_size=16, random_state=0
        )
        extra = {}
    x_blocks = da.from_array(x, chunks=(block, 5))
    y_blocks = da.from_array(y, chunks=block)
    assert x_blocks.numblocks == (n_blocks, 1)

    streamed = Incremental(model, shuffle_blocks=False).fit(x_blocks, y_blocks, **extra)

    by_hand = clone(model)
    for start in range(0, n_blocks * block, block):
        by_hand.partial_fit(x[start : start + block], y[start : start + block], **extra)
    np.testing.assert_array_equal(
        streamed.estimator_.network_.parameters, by_hand.network_.parameters
    )
    assert streamed.estimator_.loss_curve_ == by_hand.loss_curve_
    assert len(by_hand.loss_curve_) == n_blocks  # one epoch per block
    # predicted block by block too (a matrix product's last bit depends on the rows it is given)
    np.testing.assert_array_equal(
        streamed.predict(x_blocks).compute(),
        np.concatenate([by_hand.predict(part) for part in np.split(x, n_blocks)]),
    )
