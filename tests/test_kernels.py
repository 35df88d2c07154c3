"""The compiled per-sample kernel (glassnet.model.kernels) against the NumPy path it mirrors."""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest

import glassnet as gn
from glassnet.model import kernels
from glassnet.training import loop

pytest.importorskip("numba")

HIDDEN = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "exp"]
#: (output activation, loss, task)
OUTPUTS = [
    ("sigmoid", "mse", "classification"),  # the seed's
    ("softmax", "mse", "classification"),
    ("softmax", "cross_entropy", "classification"),
    ("sigmoid", "binary_cross_entropy", "classification"),
    ("identity", "mse", "regression"),
    ("identity", "mae", "regression"),
    ("tanh", "huber", "regression"),
    ("exp", "poisson", "regression"),
]
OPTIMIZERS = {
    "sgd": gn.SGD(0.02),
    "momentum": gn.SGD(0.005, momentum=0.9),
    "nesterov": gn.SGD(0.005, momentum=0.9, nesterov=True),
    "adam": gn.Adam(0.005),
    "adamw": gn.AdamW(0.005, weight_decay=0.1),
}


def _data(task: str, loss: str, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3))
    if task == "classification":
        return x, (x[:, 0] + x[:, 1] > 0).astype(int)
    if loss == "poisson":
        return x, rng.poisson(2.0, size=(n, 2)).astype(float)
    return x, np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1)


@pytest.fixture
def numpy_products(monkeypatch):
    """Mini-batches on NumPy's products with numba's update and activation passes, as for
    networks too big for the compiled epoch (loop.BATCH_KERNEL_LIMIT)."""
    monkeypatch.setattr(loop, "BATCH_KERNEL_LIMIT", 0)


def _trained(backend: str, hidden: str, output: tuple, optimizer: str, dtype: str, **options):
    activation, loss, task = output
    x, y = _data(task, loss)
    n_out = 1 if loss == "binary_cross_entropy" else 2
    train_options = {"sample_weight": options.pop("sample_weight", None)}
    batch_size = options.pop("batch_size", 1)
    network = gn.NeuralNetwork.from_sizes(
        [3, 5, 4, n_out],
        activation=hidden,
        output_activation=activation,
        loss=loss,
        optimizer=gn.optimizers.get(OPTIMIZERS[optimizer].get_config()),
        task=task,
        random_state=3,
        dtype=dtype,
        backend=backend,
        **options,
    )
    network.stopped = None
    try:
        network.train(x, y, epochs=3, batch_size=batch_size, **train_options)
    except gn.NonFiniteLossError as error:  # both paths must stop alike
        network.stopped = str(error)
    return network


def _close(actual: np.ndarray, expected: np.ndarray, rtol: float) -> None:
    """Equal to ``rtol`` element by element, where an element near 0 is compared at the scale of
    the largest (the two paths add up dot products in different orders)."""
    # a diverged run's inf and nan must sit in the same places; the scale is the finite ones'
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(actual), finite)
    atol = rtol * float(np.max(np.abs(expected[finite]), initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _assert_same(compiled, reference, rtol: float) -> None:
    assert getattr(compiled, "stopped", None) == getattr(reference, "stopped", None)
    _close(compiled.parameters, reference.parameters, rtol)
    np.testing.assert_allclose(compiled.history.loss, reference.history.loss, rtol=rtol)
    state, expected = compiled.optimizer.state_dict(), reference.optimizer.state_dict()
    assert state["iterations"] == expected["iterations"]
    # the state follows the gradients, whose float32 rounding is relatively larger
    slot_rtol = rtol if compiled.dtype == np.float64 else 10 * rtol
    for slot, slot_expected in zip(state["slots"], expected["slots"]):
        for name in slot_expected:
            _close(slot[name], slot_expected[name], slot_rtol)


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: f"{o[0]}-{o[1]}")
@pytest.mark.parametrize("hidden", HIDDEN)
def test_compiled_equals_numpy(hidden, output, optimizer, dtype, rtol, batch_size):
    # batches of 5 of 24 samples: four full batches and a last one of 4
    compiled = _trained("numba", hidden, output, optimizer, dtype, batch_size=batch_size)
    reference = _trained("numpy", hidden, output, optimizer, dtype, batch_size=batch_size)
    assert compiled.training_path == ("numba-sample" if batch_size == 1 else "numba-batch")
    _assert_paths_agree(
        compiled,
        reference,
        rtol,
        lambda: _trained("numpy", hidden, output, optimizer, "float64", batch_size=batch_size),
    )


def _assert_paths_agree(compiled, reference, rtol: float, float64_reference) -> None:
    if compiled.dtype == np.float64:
        _assert_same(compiled, reference, rtol)
        return
    try:
        _assert_same(compiled, reference, rtol)
    except AssertionError:
        # a few runs (two stacked exp layers; MAE's sign; Adam on 25- and 50-unit layers)
        # amplify float32's rounding so much that the NumPy path itself ends far from float64's
        # parameters: there, the compiled path must follow float64 (the exact answer both
        # approximate) about as closely as NumPy's float32 does. Not "as close to NumPy's
        # float32": the two can round in opposite directions (exp hidden layers, MAE, momentum,
        # one sample a step, on a Zen 3 without AVX-512: each 8e-6 to 9e-6 from float64, so
        # 1.7e-5 from each other)
        exact = float64_reference().parameters
        own = _gap(reference.parameters, exact)
        assert _gap(compiled.parameters, exact) <= max(rtol, 2 * own)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: f"{o[0]}-{o[1]}")
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.usefixtures("numpy_products")
def test_compiled_mini_batches_equal_numpy_exactly(hidden, output, optimizer, dtype):
    # for networks too big for the compiled epoch (here: all), the activations' one-pass
    # kernels and the fused update do NumPy's operations in NumPy's order: the same numbers to
    # the last bit, which is more than the 1e-12 (1e-5) asked for
    compiled = _trained("auto", hidden, output, optimizer, dtype, batch_size=5)
    reference = _trained("numpy", hidden, output, optimizer, dtype, batch_size=5)
    assert compiled.training_path == "numpy+numba-update"
    assert getattr(compiled, "stopped", None) == getattr(reference, "stopped", None)
    np.testing.assert_array_equal(compiled.parameters, reference.parameters)
    assert compiled.history.loss == reference.history.loss
    for slot, expected in zip(
        compiled.optimizer.state_dict()["slots"], reference.optimizer.state_dict()["slots"]
    ):
        for name in expected:
            np.testing.assert_array_equal(slot[name], expected[name])


def test_mini_batch_plans_use_the_activation_kernels_where_they_exist():
    network = gn.NeuralNetwork.from_sizes(
        [3, 4, 4, 4, 4, 2],
        activation="relu",
        loss="cross_entropy",
        random_state=0,
    )
    kinds = ["relu", "leaky_relu", "sigmoid", "softplus"]
    for layer, kind in zip(network.layers, kinds):
        layer.activation = gn.activations.get(kind)
    plan = network.step_plan(8)
    compiled = [isinstance(step.backward, functools.partial) for step in plan.steps]
    assert compiled == [True, True, True, False, False]  # softplus and softmax: NumPy's
    assert isinstance(plan.steps[0].activate, functools.partial)  # ReLU's forward
    network.backend = "numpy"
    assert not any(isinstance(s.backward, functools.partial) for s in network.step_plan(8).steps)
    network.backend = "auto"
    single = network.step_plan(1)  # one sample per step is the per-sample kernel's, or NumPy's
    assert not any(isinstance(s.backward, functools.partial) for s in single.steps)


@pytest.mark.parametrize(
    ("kernel", "loss", "optimizer"),
    [("_relu_backward", "cross_entropy", "sgd"), ("_update", "mse", "adam")],
)
@pytest.mark.usefixtures("numpy_products")
def test_a_mini_batch_kernel_that_fails_to_compile_leaves_numpys(
    monkeypatch, kernel, loss, optimizer
):
    from numba.core.errors import TypingError

    def broken(*arguments):
        raise TypingError("a test's failure")

    monkeypatch.setattr(kernels, kernel, broken)
    monkeypatch.setattr(kernels, "_warned", False)
    monkeypatch.setattr(kernels, "_status", kernels._status)
    x, y = _data("classification", loss)
    sizes = [3, 4, 2]
    network = gn.NeuralNetwork.from_sizes(sizes, loss=loss, optimizer=optimizer, random_state=0)
    reference = gn.NeuralNetwork.from_sizes(
        sizes, loss=loss, optimizer=optimizer, random_state=0, backend="numpy"
    )
    with pytest.warns(RuntimeWarning, match="a test's failure; training uses NumPy"):
        network.train(x, y, epochs=2, batch_size=4)
    reference.train(x, y, epochs=2, batch_size=4)
    np.testing.assert_array_equal(network.parameters, reference.parameters)
    assert network.training_path == "numpy"
    assert "optimizer update: numpy (numba cannot compile" in network.summary()


def _gap(actual: np.ndarray, expected: np.ndarray) -> float:
    """The largest difference, relative to the largest parameter (of the finite ones)."""
    finite = np.isfinite(actual) & np.isfinite(expected)
    return float(np.max(np.abs(actual - expected)[finite]) / np.max(np.abs(expected[finite])))


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("l2_scaling", ["constant", "batch"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("batch_size", [1, 5])
def test_l2_and_sample_weights(optimizer, weighted, l2_scaling, dtype, rtol, batch_size):
    weights = np.random.default_rng(2).uniform(0.2, 2.0, 24) if weighted else None
    output = ("softmax", "cross_entropy", "classification")
    options = {"l2": 0.01, "l2_scaling": l2_scaling, "sample_weight": weights}
    compiled = _trained("numba", "tanh", output, optimizer, dtype, batch_size=batch_size, **options)
    reference = _trained(
        "numpy", "tanh", output, optimizer, dtype, batch_size=batch_size, **options
    )
    _assert_same(compiled, reference, rtol)


def test_a_schedule_and_a_leaky_slope_are_followed():
    def build(backend: str) -> gn.NeuralNetwork:
        schedule = gn.schedules.InverseScaling(0.05, power_t=0.5)
        network = gn.NeuralNetwork(
            [gn.Layer(3, 6, gn.activations.LeakyReLU(0.2)), gn.Layer(6, 2, "identity")],
            optimizer=gn.SGD(schedule, momentum=0.5),
            random_state=0,
            backend=backend,
        )
        x, y = _data("regression", "mse")
        network.train(x, y, epochs=3, batch_size=1)
        return network

    _assert_same(build("numba"), build("numpy"), 1e-12)


def _spy(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = kernels.SampleEpoch.__call__

    def counted(self, *args):
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(kernels.SampleEpoch, "__call__", counted)
    return calls


def test_auto_uses_the_kernel_and_numpy_forces_numpy(monkeypatch, capsys):
    calls = _spy(monkeypatch)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], activation="sigmoid", random_state=0)
    assert network.backend == "auto"
    network.train(x, y, epochs=2, batch_size=1, verbose=2)
    assert len(calls) == 2
    assert "training with numba" in capsys.readouterr().err
    assert "per-sample training: numba" in network.summary()
    network.backend = "numpy"
    network.train(x, y, epochs=1, batch_size=1, verbose=2)
    assert len(calls) == 2
    assert "training with numpy (backend='numpy')" in capsys.readouterr().err
    assert "per-sample training: numpy (backend='numpy'" in network.summary()


def test_uncovered_configurations_fall_back_or_refuse(monkeypatch, capsys):
    calls = _spy(monkeypatch)
    x, y = _data("classification", "mse")

    class Halved(gn.SGD):  # a subclass may change the rule: not covered
        pass

    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer=Halved(0.01), random_state=0)
    assert "Halved has no compiled kernel" in network.summary()
    network.train(x, y, epochs=1, batch_size=1, verbose=2)
    assert "training with numpy (the optimizer Halved" in capsys.readouterr().err
    network.train(x, y, epochs=1, batch_size=8)  # mini-batches: NumPy
    assert calls == []
    network.backend = "numba"
    with pytest.raises(ValueError, match="backend='numba' cannot train this run: the optim"):
        network.train(x, y, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match=r"the optimizer Halved.*\(batches of 8 samples\)"):
        network.train(x, y, epochs=1, batch_size=8)
    assert network.history.epochs == 2
    # mini-batches under backend='numba': the compiled epoch for a small network, NumPy's
    # products with the compiled update for a big one
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0, backend="numba")
    network.train(x, y, epochs=1, batch_size=8, verbose=2)
    assert "training with numba (compiled mini-batch (8 samples) kernel)" in (
        capsys.readouterr().err
    )
    assert network.training_path == "numba-batch"
    monkeypatch.setattr(loop, "BATCH_KERNEL_LIMIT", network.parameters.size * 8 - 1)
    network.train(x, y, epochs=1, batch_size=8, verbose=2)
    assert "training with NumPy's matrix products and numba's compiled optimizer update" in (
        capsys.readouterr().err
    )
    assert network.training_path == "numpy+numba-update"
    with pytest.raises(ValueError, match="backend must be 'auto', 'numpy' or 'numba', got 'c'"):
        gn.NeuralNetwork(backend="c")


def test_without_numba_auto_trains_with_numpy(monkeypatch):
    monkeypatch.setattr(kernels, "_status", "numba is not installed (test)")
    calls = _spy(monkeypatch)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)
    network.train(x, y, epochs=1, batch_size=1)
    assert calls == []
    assert "numpy (numba is not installed (test)" in network.summary()
    network.backend = "numba"
    with pytest.raises(ValueError, match="numba is not installed"):
        network.train(x, y, epochs=1, batch_size=1)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_checkpoints_resume_bit_identically_on_the_compiled_path(tmp_path, batch_size):
    x, y = _data("classification", "cross_entropy")
    saved = tmp_path / "after-2.ckpt"

    def keep(network, epoch, logs):
        if epoch == 2:  # the checkpoint written after epoch index 1
            shutil.copy(tmp_path / "run.ckpt", saved)

    network = gn.NeuralNetwork.from_sizes(
        [3, 6, 2], loss="cross_entropy", optimizer="adam", random_state=0
    )
    network.train(
        x, y, epochs=4, batch_size=batch_size, checkpoint=tmp_path / "run.ckpt", callbacks=[keep]
    )
    assert network.training_path == ("numba-sample" if batch_size == 1 else "numba-batch")
    resumed = gn.resume(saved, x, y)
    assert resumed.backend == "auto" and resumed.compiled_training() is None
    assert resumed.training_path == network.training_path
    np.testing.assert_array_equal(resumed.parameters, network.parameters)
    assert resumed.history.loss == network.history.loss


@pytest.mark.parametrize(
    ("batch_size", "where"), [(1, "after batch 5 of 24"), (5, "after batch 1 of 5")]
)
def test_ctrl_c_stops_between_chunks_and_resumes_in_the_epoch(
    monkeypatch, tmp_path, batch_size, where
):
    monkeypatch.setattr(loop, "_COMPILED_CHUNK", 5)  # samples: one batch of 5 per chunk
    x, y = _data("classification", "mse")

    def build() -> gn.NeuralNetwork:
        return gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)

    reference = build()
    reference.train(x, y, epochs=2, batch_size=batch_size)
    original = loop.Interrupt.__enter__

    def pressed_at_once(self):
        interrupt = original(self)
        interrupt.requested = True
        return interrupt

    monkeypatch.setattr(loop.Interrupt, "__enter__", pressed_at_once)
    network = build()
    start = network.parameters.copy()
    with pytest.warns(RuntimeWarning, match=where):
        network.train(x, y, epochs=2, batch_size=batch_size, checkpoint=tmp_path / "run.ckpt")
    assert network.history.epochs == 0
    # the steps of the one chunk run are kept (5 samples), as on NumPy's path
    assert network.optimizer.iterations == 5 // batch_size
    assert not np.array_equal(network.parameters, start)
    monkeypatch.setattr(loop.Interrupt, "__enter__", original)
    resumed = gn.resume(tmp_path / "run.ckpt", x, y)
    np.testing.assert_array_equal(resumed.parameters, reference.parameters)


def test_a_diverging_compiled_run_is_stopped_and_reset():
    x, y = _data("regression", "mse")
    network = gn.NeuralNetwork.from_sizes(
        [3, 8, 2], activation="exp", optimizer=gn.SGD(50.0), random_state=0
    )
    start = network.parameters.copy()
    with pytest.raises(gn.NonFiniteLossError, match="epoch 1"):
        network.train(x * 10, y, epochs=3, batch_size=1)
    np.testing.assert_array_equal(network.parameters, start)


def test_estimators_pass_their_backend():
    from glassnet.estimators import NeuralNetworkClassifier

    x, y = _data("classification", "mse", n=40)
    fitted = {}
    for backend in ("numpy", "auto"):
        model = NeuralNetworkClassifier(
            (5,), solver="sgd", batch_size=1, max_iter=3, random_state=0, backend=backend
        )
        with pytest.warns(Warning):  # not converged in 3 iterations
            model.fit(x, y)
        assert model.network_.backend == backend
        fitted[backend] = model.network_.parameters
    assert "backend" in model.get_params()
    _close(fitted["auto"], fitted["numpy"], 1e-12)


def test_estimators_verbose_says_once_which_code_trains(capsys):
    from glassnet.estimators import NeuralNetworkClassifier

    x, y = _data("classification", "mse", n=40)
    for backend, path in (("auto", "numba-sample"), ("numpy", "numpy")):
        model = NeuralNetworkClassifier(
            (5,), solver="sgd", batch_size=1, max_iter=3, random_state=0, backend=backend,
            verbose=True,
        )
        with pytest.warns(Warning):  # not converged in 3 iterations
            model.fit(x, y)
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f"Training path: {path} (backend={backend!r})"
        assert sum(line.startswith("Training path") for line in lines) == 1
        assert lines[1].startswith("Iteration 1, loss = ")


@pytest.mark.parametrize("batch_size", [1, 5])
def test_a_kernel_that_fails_to_compile_falls_back_with_one_warning(monkeypatch, batch_size):
    from numba.core.errors import TypingError

    def broken(*arguments):
        raise TypingError("a test's failure")

    monkeypatch.setattr(kernels.SampleEpoch, "_run", staticmethod(broken))
    monkeypatch.setattr(kernels, "_warned", False)
    monkeypatch.setattr(kernels, "_status", kernels._status)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)
    reference = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0, backend="numpy")
    with pytest.warns(RuntimeWarning, match="a test's failure; training uses NumPy"):
        network.train(x, y, epochs=2, batch_size=batch_size)
    reference.train(x, y, epochs=2, batch_size=batch_size)
    np.testing.assert_array_equal(network.parameters, reference.parameters)
    assert network.training_path == "numpy"
    assert "numpy (numba cannot compile" in network.summary()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", [*OPTIMIZERS, "schedule"])
@pytest.mark.usefixtures("numpy_products")
def test_the_compiled_update_of_mini_batches_is_numpys_exactly(optimizer, dtype):
    def build(backend: str) -> gn.NeuralNetwork:
        if optimizer == "schedule":
            chosen = gn.Adam(gn.schedules.InverseScaling(0.01, power_t=0.5))
        else:
            chosen = gn.optimizers.get(OPTIMIZERS[optimizer].get_config())
        network = gn.NeuralNetwork.from_sizes(
            [3, 6, 5, 2],
            activation="relu",
            loss="cross_entropy",
            optimizer=chosen,
            l2=0.01,
            random_state=0,
            dtype=dtype,
            backend=backend,
        )
        x, y = _data("classification", "cross_entropy")
        network.train(x, y, epochs=3, batch_size=5, sample_weight=np.arange(1.0, 25.0))
        return network

    compiled, reference = build("auto"), build("numpy")
    assert isinstance(compiled.optimizer_stepper(), kernels.FlatStep)
    assert not isinstance(reference.optimizer_stepper(), kernels.FlatStep)
    assert compiled.training_path == "numpy+numba-update"
    assert reference.training_path == "numpy"
    np.testing.assert_array_equal(compiled.parameters, reference.parameters)
    assert compiled.optimizer.iterations == reference.optimizer.iterations == 15
    for slot, expected in zip(
        compiled.optimizer.state_dict()["slots"], reference.optimizer.state_dict()["slots"]
    ):
        for name in expected:
            np.testing.assert_array_equal(slot[name], expected[name])
    assert "mini-batch optimizer update: numba (compiled, one pass)" in compiled.summary()
    assert "mini-batch optimizer update: numpy (backend='numpy')" in reference.summary()


def test_training_path_says_which_code_ran(monkeypatch):
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer="adam", random_state=0)
    assert network.training_path is None
    network.train(x, y, epochs=1, batch_size=1)
    assert network.training_path == "numba-sample"
    network.train(x, y, epochs=1, batch_size=4)
    assert network.training_path == "numba-batch"
    monkeypatch.setattr(loop, "BATCH_KERNEL_LIMIT", 0)  # as for a big network
    network.train(x, y, epochs=1, batch_size=4)
    assert network.training_path == "numpy+numba-update"
    network.backend = "numpy"
    network.train(x, y, epochs=1, batch_size=1)
    assert network.training_path == "numpy"

    class Halved(gn.SGD):  # no compiled update: the activations' passes only
        pass

    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer=Halved(0.01), random_state=0)
    network.train(x, y, epochs=1, batch_size=4)
    assert network.training_path == "numpy+numba-activations"
    # L-BFGS minimises the full batch with NumPy: said so, and refused under backend="numba"
    network.optimizer = gn.LBFGS()
    network.train(x, y, epochs=2, batch_size=None)
    assert network.training_path == "numpy"
    network.backend, trained = "numba", network.parameters.copy()
    with pytest.raises(ValueError, match="backend='numba' cannot train this run: lbfgs"):
        network.train(x, y, epochs=2, batch_size=None)
    np.testing.assert_array_equal(network.parameters, trained)


@pytest.mark.usefixtures("numpy_products")
def test_checkpoints_resume_bit_identically_with_the_compiled_update(tmp_path):
    x, y = _data("classification", "cross_entropy")
    saved = tmp_path / "after-2.ckpt"

    def keep(network, epoch, logs):
        if epoch == 2:
            shutil.copy(tmp_path / "run.ckpt", saved)

    network = gn.NeuralNetwork.from_sizes(
        [3, 6, 2], loss="cross_entropy", optimizer="adamw", random_state=0
    )
    checkpoint = tmp_path / "run.ckpt"
    network.train(x, y, epochs=4, batch_size=5, checkpoint=checkpoint, callbacks=[keep])
    resumed = gn.resume(saved, x, y)
    assert resumed.training_path == "numpy+numba-update"
    np.testing.assert_array_equal(resumed.parameters, network.parameters)
    assert resumed.history.loss == network.history.loss


def _fresh_status(monkeypatch) -> None:
    """unavailable() asks numba again on its next call; the test's changes are undone after."""
    monkeypatch.setattr(kernels, "_status", None)
    monkeypatch.setattr(kernels, "_warned", False)
    for name in kernels._KERNELS:  # as in a new process: the plain Python functions again
        function = getattr(kernels, name)  # (the compiled ones are put back afterwards)
        monkeypatch.setattr(kernels, name, getattr(function, "py_func", function))


def test_a_numba_that_fails_to_import_warns_once_and_numpy_trains(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def broken_import(name, *args, **kwargs):
        if name == "numba":
            raise OSError("libllvmlite.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    _fresh_status(monkeypatch)
    monkeypatch.setattr(builtins, "__import__", broken_import)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer="adam", random_state=0)
    with pytest.warns(RuntimeWarning, match="numba failed to import: OSError: libllvmlite") as seen:
        network.train(x, y, epochs=1, batch_size=1)
        network.train(x, y, epochs=1, batch_size=4)
    assert len(seen) == 1
    assert network.training_path == "numpy"
    assert "numpy (numba failed to import" in network.summary()


def test_an_unusable_cache_directory_warns_once_and_numpy_trains(monkeypatch):
    import numba

    def no_cache(**options):
        raise RuntimeError("cannot cache function '_update': no locator available for file")

    _fresh_status(monkeypatch)
    monkeypatch.setattr(numba, "njit", no_cache)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)
    reference = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0, backend="numpy")
    cause = "numba cannot compile glassnet's kernels: RuntimeError: cannot cache .*no locator"
    with pytest.warns(RuntimeWarning, match=cause) as seen:
        network.train(x, y, epochs=1, batch_size=1)
        network.train(x, y, epochs=1, batch_size=4)
    assert len(seen) == 1
    reference.train(x, y, epochs=1, batch_size=1)
    reference.train(x, y, epochs=1, batch_size=4)
    np.testing.assert_array_equal(network.parameters, reference.parameters)


def test_relu_kernels_keep_nan_as_numpy_does():
    relu = gn.activations.ReLU()
    z = np.array([[np.nan, -1.0, 2.0, 0.0, np.inf, -np.inf]])
    output = np.ones((1, 7))
    a, dz, grad = output[:, :-1], np.empty_like(z), np.ones_like(z)
    forward, backward = kernels.activation_passes(relu, z, a, dz, grad)
    expected = relu.forward(z, np.empty_like(z))
    np.testing.assert_array_equal(forward(z, a), expected)
    np.testing.assert_array_equal(backward(grad, z, dz), relu.backward(grad, z, np.empty_like(z)))
    sample = kernels._activate  # the per-sample kernel's forward
    out = np.empty(6)
    sample(1, 0.0, z[0], out, np.array([0.5, 1.0, -700.0, 700.0, 0.0]))
    np.testing.assert_array_equal(out, expected[0])


def _ulps(actual: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """How many float64 units in the last place of ``exact`` apart the two are."""
    spacing = np.spacing(exact.astype(np.float64))
    return np.abs(actual.astype(np.longdouble) - exact) / spacing


def test_the_kernels_sigmoid_is_within_two_units_in_the_last_place():
    # the per-sample kernel computes the sigmoid from its own vectorisable exp, not NumPy's tanh
    assert kernels.unavailable() is None
    rng = np.random.default_rng(0)
    z = np.concatenate(
        [
            rng.uniform(-40.0, 40.0, 20_000),
            rng.normal(0.0, 1e-3, 2_000),
            np.linspace(-709.0, 40.0, 5_001),
            [0.0, -0.0, 1e-300, -1e-300, 36.7, 37.0, -36.7, -700.0, -708.2],
        ]
    )
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        pytest.fail("this test needs a long double more precise than float64 (x86's 80 bits)")
    got = np.array([kernels._sigmoid(v) for v in z])
    inside = z > kernels._EXP_FLOOR  # below it the kernel's sigmoid is 0, the true one < 3e-308
    assert _ulps(got[inside], exact[inside]).max() <= 2
    assert np.all((got[~inside] == 0.0) & (exact[~inside] < 3e-308))
    e = np.array([kernels._exp_negative(v) for v in -np.abs(z)])
    normal = -np.abs(z) > kernels._EXP_FLOOR
    assert _ulps(e[normal], np.exp(-np.abs(z[normal]).astype(np.longdouble))).max() <= 1.5
    np.testing.assert_array_equal(e[~normal], 0.0)


def test_the_kernels_sigmoid_at_the_edges():
    sigmoid = kernels._sigmoid
    assert sigmoid(0.0) == 0.5
    assert sigmoid(np.inf) == 1.0 and sigmoid(1e4) == 1.0 and sigmoid(40.0) == 1.0
    assert sigmoid(-np.inf) == 0.0 and sigmoid(-1e4) == 0.0 and sigmoid(-800.0) == 0.0
    assert 0.0 < sigmoid(-708.0) < 1e-300  # still the exp, not a cut-off
    assert np.isnan(sigmoid(np.nan))
    assert np.isnan(kernels._exp_negative(np.nan))
    assert kernels._exp_negative(-np.inf) == 0.0 and kernels._exp_negative(0.0) == 1.0
    # float32 in, rounded once to float32 as it is stored: the float32 nearest the sigmoid
    z32 = np.linspace(-20, 20, 4001, dtype=np.float32)
    out = np.empty_like(z32)
    kernels._activate(3, 0.0, z32, out, np.array([0.5, 1, -80, 80, 0], dtype=np.float32))
    nearest = (1 / (1 + np.exp(-z32.astype(np.float64)))).astype(np.float32)
    np.testing.assert_array_equal(out, nearest)


@pytest.mark.parametrize("batch_size", [1, 32])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
def test_wide_layers_agree_where_the_sums_run_in_vector_lanes(
    hidden, optimizer, dtype, rtol, batch_size
):
    # the tests above use layers narrower than one vector register; the seed network's 25- and
    # 50-unit layers take the reassociated input-gradient sums and the vectorised sigmoid, and
    # with batches of 32 BLAS's products of 32 rows (and a last batch of 24)
    split = gn.experiments.moons_split(0)
    x, y = split[0][:600], split[2][:600]

    def trained(backend: str, dtype: str = dtype) -> gn.NeuralNetwork:
        network = gn.NeuralNetwork.from_sizes(
            [2, 25, 50, 25, 2],
            activation=hidden,
            output_activation="sigmoid",
            loss="mse",
            optimizer=gn.optimizers.get(OPTIMIZERS[optimizer].get_config()),
            random_state=0,
            dtype=dtype,
            backend=backend,
        )
        start = network.parameters.copy()
        network.train(x, y, epochs=3, batch_size=batch_size, shuffle=batch_size > 1)
        assert _gap(network.parameters, start) > 1e-3  # it trained
        return network

    compiled, reference = trained("numba"), trained("numpy")
    path = "numba-sample" if batch_size == 1 else "numba-batch"
    assert (compiled.training_path, reference.training_path) == (path, "numpy")
    _assert_paths_agree(compiled, reference, rtol, lambda: trained("numpy", "float64"))


def test_mini_batches_without_scipy_or_too_big_keep_numpys_products(monkeypatch, capsys):
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)
    monkeypatch.setattr(kernels, "batches_unavailable", lambda: "SciPy is not installed (test)")
    network.train(x, y, epochs=1, batch_size=4, verbose=2)
    assert network.training_path == "numpy+numba-update"
    assert "(batches of 4 samples (SciPy is not installed (test)))" in capsys.readouterr().err
    summary = network.summary()  # says so too, beside the per-sample kernel that still runs
    assert "parameters × samples: numpy (SciPy is not installed (test)" in summary
    assert "per-sample training: numba (compiled kernel" in summary
    network.train(x, y, epochs=1, batch_size=1)  # the per-sample epoch needs no SciPy
    assert network.training_path == "numba-sample"
    monkeypatch.undo()
    monkeypatch.setattr(loop, "_EPOCH_COPY_LIMIT", 0)  # no copy per epoch: no compiled epoch
    network.train(x, y, epochs=1, batch_size=4)
    assert network.training_path == "numpy+numba-update"
    network.backend = "numba"  # still compiled code (the update): trains
    network.train(x, y, epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="data too big to copy once per epoch"):
        network.train(x, y, epochs=1, batch_size=1)


def test_the_compiled_epoch_is_kept_until_what_it_was_made_from_changes():
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer="adam", random_state=0)
    network.train(x, y, epochs=1, batch_size=4)
    run = network.sample_epoch(4)
    assert network.sample_epoch(4) is run
    assert network.sample_epoch(1) is not run
    run = network.sample_epoch(4)
    for change in (
        lambda: network.optimizer.load_state_dict(network.optimizer.state_dict()),  # new m, v
        lambda: setattr(network, "optimizer", gn.SGD(0.05)),
        lambda: setattr(network, "l2", 0.01),
        lambda: setattr(network.layers[0], "activation", gn.activations.get("tanh")),
    ):
        change()
        remade = network.sample_epoch(4)
        assert remade is not run, change
        run = remade
    # and training after each change follows NumPy's path
    reference = network.copy()
    reference.backend = "numpy"
    network.train(x, y, epochs=2, batch_size=4)
    reference.train(x, y, epochs=2, batch_size=4)
    _assert_same(network, reference, 1e-12)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_a_network_of_one_layer_trains_compiled(batch_size):
    # no hidden layer: the mini-batch epoch's list of hidden outputs is empty
    x, y = _data("classification", "cross_entropy", n=30)

    def build(backend: str) -> gn.NeuralNetwork:
        network = gn.NeuralNetwork(
            [gn.Layer(3, 2, "softmax")], loss="cross_entropy", optimizer="adam", random_state=0
        )
        network.backend = backend
        network.train(x, y, epochs=3, batch_size=batch_size)
        return network

    compiled = build("numba")
    assert compiled.training_path == ("numba-sample" if batch_size == 1 else "numba-batch")
    _assert_same(compiled, build("numpy"), 1e-12)


@pytest.mark.parametrize("batch_size", [1, 4, "big"])
def test_settings_changed_after_construction_are_followed_as_numpy_follows_them(
    monkeypatch, batch_size
):
    # a learning rate set later as an int or a NumPy scalar, a momentum or Nesterov switched on
    # later (SGD's velocity is made at construction: both paths keep plain SGD without one)
    if batch_size == "big":
        monkeypatch.setattr(loop, "BATCH_KERNEL_LIMIT", 0)  # NumPy's products, compiled update
        batch_size = 4
    x, y = _data("regression", "mse")
    changes = [
        (gn.SGD(0.01), {"learning_rate": np.float64(0.03), "momentum": 0.9}),
        (gn.SGD(0.01), {"learning_rate": np.float32(0.02), "nesterov": True}),
        (gn.SGD(0.01, momentum=0.5), {"learning_rate": 0.02, "nesterov": True, "momentum": 0}),
        (gn.Adam(0.01), {"learning_rate": 1}),
    ]
    for optimizer, settings in changes:
        networks = []
        for backend in ("numba", "numpy"):
            network = gn.NeuralNetwork.from_sizes(
                [3, 6, 2],
                activation="tanh",
                optimizer=gn.optimizers.get(optimizer.get_config()),
                random_state=0,
                backend=backend,
            )
            for name, value in settings.items():
                setattr(network.optimizer, name, value)
            network.train(x, y, epochs=3, batch_size=batch_size)
            networks.append(network)
        compiled, reference = networks
        assert "numba" in compiled.training_path
        _assert_same(compiled, reference, 1e-12)


def _import_of_numba_fails_on(monkeypatch, missing: str) -> None:
    """From now on ``import numba`` raises ModuleNotFoundError for the module ``missing``, and
    the kernels have not looked for numba yet."""
    import builtins

    real_import = builtins.__import__

    def fails(name, *args, **kwargs):
        if name == "numba":
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        return real_import(name, *args, **kwargs)

    _fresh_status(monkeypatch)
    monkeypatch.setattr(builtins, "__import__", fails)


def test_numba_installed_without_a_dependency_warns_naming_it(monkeypatch):
    # numba itself is there, but a module it imports is not: a broken installation, said once
    _import_of_numba_fails_on(monkeypatch, "llvmlite")
    with pytest.warns(RuntimeWarning, match="numba failed to import: ModuleNotFoundError: .*llvm"):
        assert "llvmlite" in kernels.unavailable()


def test_numba_not_installed_is_said_without_a_warning(monkeypatch, recwarn):
    _import_of_numba_fails_on(monkeypatch, "numba")
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], random_state=0)
    network.train(x, y, epochs=1, batch_size=1)
    assert network.training_path == "numpy"
    assert "numba is not installed" in network.summary()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_cache_that_cannot_be_written_when_compiling_warns_once_and_numpy_trains(
    monkeypatch, numpy_products
):
    # the cache directory was usable when numba chose it and is not when a kernel is saved
    # (made read-only or full since): numba raises the OSError from the kernel's first call
    import errno

    from numba.core import caching

    def read_only(self, sig, data):
        raise PermissionError(errno.EACCES, "Permission denied", "/cache/_update.nbi")

    _fresh_status(monkeypatch)
    monkeypatch.setattr(caching.Cache, "load_overload", lambda self, sig, context: None)
    monkeypatch.setattr(caching.Cache, "save_overload", read_only)
    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer="adam", random_state=0)
    reference = network.copy()
    reference.backend = "numpy"
    cause = "numba cannot compile glassnet's kernel: PermissionError: .*Permission denied"
    with pytest.warns(RuntimeWarning, match=cause) as seen:
        network.train(x, y, epochs=2, batch_size=4)
        network.train(x, y, epochs=1, batch_size=1)
    assert len(seen) == 1
    assert network.training_path == "numpy"
    reference.train(x, y, epochs=2, batch_size=4)
    reference.train(x, y, epochs=1, batch_size=1)
    np.testing.assert_array_equal(network.parameters, reference.parameters)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_custom_activation_or_a_hidden_softmax_trains_with_numpy(monkeypatch, capsys, batch_size):
    # a subclass of a covered activation may change its formula: never given the parent's kernel
    class SteepTanh(gn.activations.Tanh):
        name = "steep_tanh"

        def forward(self, z, out=None):
            return np.tanh(2.0 * z, out=out)

        def derivative(self, a, out=None):
            return np.multiply(2.0, 1.0 - a * a, out=out)

    calls = _spy(monkeypatch)
    x, y = _data("classification", "mse")
    for hidden, reason in (
        (SteepTanh(), "layer 0's activation 'steep_tanh' has no compiled kernel"),
        (gn.activations.get("softmax"), "layer 0 is a hidden softmax layer"),
    ):
        networks = []
        for backend in ("auto", "numpy"):
            network = gn.NeuralNetwork(
                [gn.Layer(3, 5, hidden), gn.Layer(5, 2, "sigmoid")], random_state=0
            )
            network.backend = backend
            network.train(x, y, epochs=2, batch_size=batch_size, verbose=2)
            networks.append(network)
        assert reason in capsys.readouterr().err
        assert reason in networks[0].summary()
        assert calls == []  # no compiled epoch ran
        np.testing.assert_array_equal(networks[0].parameters, networks[1].parameters)
        with pytest.raises(ValueError, match=f"backend='numba' cannot train this run: {reason}"):
            networks[0].backend = "numba"
            networks[0].train(x, y, epochs=1, batch_size=1)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_commands_make_the_kernels_ready_before_the_clock_without_touching_the_run(
    capsys, batch_size
):
    """glassnet demo and train load (or, on a machine's first run, compile) the kernels on a
    throw-away copy before timing the training: the network trains as if that never happened."""
    from glassnet.cli import common

    x, y = _data("classification", "mse")
    network = gn.NeuralNetwork.from_sizes(
        [3, 5, 2], "tanh", loss="cross_entropy", optimizer=gn.Adam(0.01), random_state=2
    )
    untouched = network.copy()
    seconds = common.ready_compiled(network, x, y, batch_size)
    assert isinstance(seconds, float) and seconds >= 0
    assert "compiled kernels ready in" in capsys.readouterr().out
    np.testing.assert_array_equal(network.parameters, untouched.parameters)
    assert network.optimizer.iterations == 0 and len(network.history) == 0
    network.train(x, y, epochs=2, batch_size=batch_size, shuffle=False)
    untouched.train(x, y, epochs=2, batch_size=batch_size, shuffle=False)
    np.testing.assert_array_equal(network.parameters, untouched.parameters)
    # NumPy's path and a full-batch optimizer have nothing to make ready
    network.backend = "numpy"
    assert common.ready_compiled(network, x, y, batch_size) is None
    network.backend, network.optimizer = "auto", gn.LBFGS()
    assert common.ready_compiled(network, x, y, None) is None
    assert capsys.readouterr().out == ""


def test_ctrl_c_while_the_kernels_get_ready_stops_the_command(monkeypatch):
    from glassnet.cli import common

    monkeypatch.setattr(common, "train_quietly", lambda *args, **kwargs: True)  # interrupted
    x, y = _data("classification", "mse")
    with pytest.raises(KeyboardInterrupt):
        common.ready_compiled(gn.experiments.seed_network(0), x[:, :2], y, 1)
