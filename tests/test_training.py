import warnings

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

import glassnet as gn
from glassnet.training import full_batch, loop


@pytest.fixture(scope="module")
def moons_split():
    x, y = make_moons(n_samples=3000, noise=0.2, random_state=0)
    return train_test_split(x, y, test_size=0.2, random_state=0)


def test_smoke_minibatch_adam_matches_an_rbf_svm(moons_split):
    x_train, x_test, y_train, y_test = moons_split
    svm = SVC(C=10, gamma=1).fit(x_train, y_train).score(x_test, y_test)
    net = gn.NeuralNetwork.from_sizes(
        [2, 25, 50, 25, 2],
        activation="relu",
        weight_init="he_uniform",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.01,
        random_state=0,
    )
    history = net.train(
        x_train, y_train, epochs=30, batch_size=32, validation_data=(x_test, y_test)
    )
    accuracy = net.accuracy(x_test, y_test)
    print(f"mini-batch Adam: {accuracy:.4f}, RBF SVM: {svm:.4f}")
    assert accuracy >= svm - 0.01
    assert history.loss[-1] < history.loss[0]
    assert history.val_accuracy[-1] == pytest.approx(accuracy)


def test_history_grows_over_calls_and_records_validation(moons):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes(
        [2, 8, 2], activation="tanh", loss="cross_entropy", random_state=0
    )
    net.train(x, y, epochs=2, validation_data=(x, y))
    history = net.train(x, y, epochs=3, validation_data=(x, y))
    assert history is net.history
    assert len(history) == history.epochs == 5
    assert len(history.val_loss) == len(history.val_accuracy) == len(history.epoch_time) == 5
    assert history.val_r2 == []
    assert set(history.as_dict()) == {"loss", "val_loss", "val_accuracy", "epoch_time"}
    # validation loss is the loss on that data after the epoch
    assert history.val_loss[-1] == pytest.approx(net.evaluate(x, y)["loss"])


def test_regression_validation_records_r2():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    y = x @ [1.0, -2.0]
    net = gn.NeuralNetwork.from_sizes([2, 1], optimizer="adam", learning_rate=0.1, random_state=0)
    history = net.train(x, y, epochs=30, validation_data=(x, y))
    assert history.val_accuracy == []
    assert history.val_r2[-1] > 0.99


def test_full_batch_is_plain_gradient_descent(moons):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes(
        [2, 4, 2], activation="sigmoid", random_state=0, learning_rate=0.5
    )
    reference = net.copy()
    reference.backward(x, y)
    expected = reference.parameters - 0.5 * reference.gradients
    net.train(x, y, epochs=1, batch_size=None)
    np.testing.assert_allclose(net.parameters, expected, rtol=1e-12)


def test_integer_sample_weights_equal_repeated_samples_in_full_batch(moons):
    x, y = moons
    weights = np.random.default_rng(0).integers(0, 3, len(y))
    repeated_x, repeated_y = np.repeat(x, weights, axis=0), np.repeat(y, weights)
    a = gn.NeuralNetwork.from_sizes(
        [2, 6, 2], activation="tanh", loss="cross_entropy", random_state=1
    )
    b = gn.NeuralNetwork.from_sizes(
        [2, 6, 2], activation="tanh", loss="cross_entropy", random_state=1
    )
    a.train(x, y, epochs=5, batch_size=None, sample_weight=weights)
    b.train(repeated_x, repeated_y, epochs=5, batch_size=None)
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-10, atol=1e-12)
    assert a.history.loss == pytest.approx(b.history.loss, rel=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
@pytest.mark.parametrize("l2_scaling", ["constant", "batch"])
@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_a_sample_of_weight_zero_trains_as_if_it_were_not_there(backend, l2_scaling, batch_size):
    """Zero weights are left out before batching: a batch of them only would be a weighted mean
    of 0/0 (it stopped training with a NaN loss, or with ZeroDivisionError under
    l2_scaling='batch'), and scikit-learn means by weight 0 a sample that is not there."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(13, 2)), rng.normal(size=13)
    weights = rng.uniform(0.5, 2.0, 13)
    weights[[0, 1, 2, 7, 12]] = 0.0  # the first batches of 1 and 2 have no weight at all
    kept = weights > 0

    def trained(x, y, weights):
        network = gn.NeuralNetwork.from_sizes(
            [2, 4, 1], "tanh", optimizer=gn.Adam(0.01), l2=0.01, l2_scaling=l2_scaling,
            random_state=2, backend=backend,
        )
        network.train(x, y, epochs=3, batch_size=batch_size, sample_weight=weights)
        return network

    with_zeros = trained(x, y, weights)
    without = trained(x[kept], y[kept], weights[kept])
    assert np.isfinite(with_zeros.parameters).all()
    np.testing.assert_array_equal(with_zeros.parameters, without.parameters)
    assert with_zeros.history.loss == without.history.loss
    assert with_zeros.optimizer.iterations == without.optimizer.iterations


def test_gathering_per_batch_gives_the_same_batches(moons, monkeypatch):
    x, y = moons
    results = []
    for limit in (loop._EPOCH_COPY_LIMIT, 0):
        monkeypatch.setattr(loop, "_EPOCH_COPY_LIMIT", limit)
        net = gn.NeuralNetwork.from_sizes(
            [2, 6, 2], activation="relu", loss="cross_entropy", optimizer="adam", random_state=3
        )
        net.train(x, y, epochs=3, batch_size=32, sample_weight=np.linspace(0.5, 1.5, len(y)))
        results.append((net.parameters.copy(), list(net.history.loss)))
    # the same batches in the same order; only the first layer's bias is added after its matrix
    # product instead of inside it (big data gets no ones column), which rounds differently
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-14)
    assert results[0][1] == pytest.approx(results[1][1], rel=1e-12)


def test_early_stopping_stops_and_restores_the_best(moons):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes(
        [2, 16, 2],
        activation="relu",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.05,
        random_state=0,
    )
    stopper = gn.EarlyStopping(monitor="val_loss", patience=3, min_delta=0.0)
    history = net.train(
        x[:200], y[:200], epochs=500, validation_data=(x[200:], y[200:]), early_stopping=stopper
    )
    assert stopper.stopped and len(history) < 500
    assert len(history) == stopper.best_epoch + 1 + stopper.patience
    assert net.evaluate(x[200:], y[200:])["loss"] == pytest.approx(min(history.val_loss))


def test_early_stopping_needs_what_it_monitors(moons):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes([2, 2], loss="cross_entropy", random_state=0)
    with pytest.raises(ValueError, match="needs validation_data"):
        net.train(x, y, early_stopping=gn.EarlyStopping(monitor="val_accuracy"))
    with pytest.raises(ValueError, match="monitor must be"):
        gn.EarlyStopping(monitor="accuracy")


def test_callbacks_see_every_epoch_and_can_stop(moons):
    x, y = moons
    seen = []

    def callback(network, epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 2

    net = gn.NeuralNetwork.from_sizes([2, 2], loss="cross_entropy", random_state=0)
    net.train(x, y, epochs=10, callbacks=[callback])
    assert [epoch for epoch, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["epoch_time", "loss"]


def test_verbose_levels(moons, capsys):
    x, y = moons
    net = gn.NeuralNetwork.from_sizes([2, 2], loss="cross_entropy", random_state=0)
    net.train(x, y, epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")
    net.train(x, y, epochs=2, verbose=2, validation_data=(x, y))
    err = capsys.readouterr().err
    assert "epoch 4" in err and "val_accuracy" in err
    net.train(x, y, epochs=2, verbose=1)
    captured = capsys.readouterr()
    assert captured.out == "" and "2/2" in captured.err


def test_shuffle_false_is_deterministic_without_a_seed(moons):
    x, y = moons
    nets = [gn.NeuralNetwork.from_sizes([2, 3, 2], random_state=5) for _ in range(2)]
    for net in nets:
        net.rng = np.random.default_rng()  # fresh entropy: shuffling would differ
        net.train(x, y, epochs=2, batch_size=10, shuffle=False)
    np.testing.assert_array_equal(nets[0].parameters, nets[1].parameters)


def test_inputs_are_not_modified_and_read_only_fortran_arrays_work(moons):
    x, y = moons
    x = np.asfortranarray(x)
    x.setflags(write=False)
    y = y.copy()
    y.setflags(write=False)
    x_copy, y_copy = x.copy(), y.copy()
    net = gn.NeuralNetwork.from_sizes([2, 4, 2], loss="cross_entropy", random_state=0)
    net.train(x, y, epochs=2, batch_size=7)
    net.predict(x)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_a_diverging_run_keeps_the_parameters_from_before_the_loss_grew():
    # the loss grows by orders of magnitude for hundreds of epochs before it overflows: the
    # network must not be left with weights of 1e150, but with those of the last healthy epoch
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    net = gn.NeuralNetwork.from_sizes(
        [3, 1], activation="identity", loss="mse", optimizer=gn.SGD(3.0), random_state=0
    )
    with (
        pytest.raises(
            gn.NonFiniteLossError,
            match=r"reset to their last healthy values, those at the start of epoch (\d+)",
        ) as caught,
        np.errstate(all="ignore"),
    ):
        net.train(x, y, epochs=2000, batch_size=None)
    healthy_epoch = int(caught.value.args[0].split("start of epoch ")[1].split(".")[0])
    assert np.isfinite(net.history.loss).all()  # an overflowing epoch is not recorded
    assert healthy_epoch < 20 < net.history.epochs
    assert np.abs(net.parameters).max() < 1e3
    assert net.history.loss[healthy_epoch - 2] <= 1000 * min(net.history.loss[: healthy_epoch - 1])


def test_the_seed_studys_report_of_short_runs_says_no_run_left_the_plateau():
    from glassnet import study

    runs = []
    for seed in range(2):  # two short runs that never leave the plateau near 0.09
        curve = [0.12, 0.095, 0.094]
        seed_config = {
            "accuracy": 0.87,
            "final_loss": 0.094,
            "seconds": 1.0,
            "loss_curve": curve,
            "stalled": True,
        }
        modern_config = {
            "accuracy": 0.97,
            "final_loss": 0.05,
            "seconds": 0.1,
            "loss_curve": [0.3, 0.1],
        }
        runs.append(
            {
                "seed": seed,
                "svm": 0.97,
                "linear": 0.87,
                "seed_config": seed_config,
                "modern_config": modern_config,
            }
        )
    result = {
        "glassnet_version": "x",
        "machine": "m",
        "seed_epochs": 3,
        "modern_epochs": 2,
        "stall_loss": 0.05,
        "runs": runs,
    }
    text = study._markdown(result, study.digest(result))
    assert "epoch 0 and epoch 0" not in text
    assert "no run left it within\n  its 3 epochs." in text


def test_a_checkpoint_path_that_is_a_fifo_is_refused_before_training(tmp_path):
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    x = np.random.default_rng(0).normal(size=(20, 2))
    y = (x[:, 0] > 0).astype(int)
    net = gn.NeuralNetwork.from_sizes([2, 4, 2], loss="cross_entropy", random_state=0)
    with pytest.raises(ValueError, match="it is a FIFO"):
        net.train(x, y, epochs=3, checkpoint=fifo)
    assert net.history.epochs == 0
    net.train(x, y, epochs=1, checkpoint=os.fsencode(tmp_path / "run.ckpt"))  # bytes paths work
    assert gn.resume(tmp_path / "run.ckpt", x, y).history.epochs == 1


def test_huge_integers_are_refused_as_not_finite():
    with pytest.raises(ValueError, match="l2 must be finite"):
        gn.NeuralNetwork(l2=10**400)


def test_a_run_whose_finite_loss_explodes_is_warned_about():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    net = gn.NeuralNetwork.from_sizes(
        [3, 1], activation="identity", loss="mse", optimizer=gn.SGD(3.0), random_state=0
    )
    with (
        pytest.warns(RuntimeWarning, match="the training loss grew from .* the run is diverging"),
        np.errstate(all="ignore"),
    ):
        net.train(x, y, epochs=12, batch_size=None)
    healthy = gn.NeuralNetwork.from_sizes(
        [3, 1], activation="identity", loss="mse", optimizer=gn.SGD(0.1), random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        healthy.train(x, y, epochs=60, batch_size=None)


def test_submodules_are_attributes_of_the_package():
    import glassnet

    assert (
        glassnet.io.load is gn.load
        and glassnet.estimators.NeuralNetworkClassifier is gn.NeuralNetworkClassifier
    )


# ---------------------------------------------------------------- L-BFGS (full batch)
def lbfgs_network(sizes=(2, 8, 2), l2=0.0, random_state=0, **kwargs):
    return gn.NeuralNetwork.from_sizes(
        list(sizes),
        activation="tanh",
        loss="cross_entropy",
        optimizer=gn.LBFGS(**kwargs),
        l2=l2,
        random_state=random_state,
    )


def test_lbfgs_fits_xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = lbfgs_network(random_state=1)
    history = net.train(x, y)
    assert net.accuracy(x, y) == 1.0
    assert len(history) == net.optimizer.outcome.n_iter
    assert history.loss[-1] < 0.01


def test_lbfgs_fits_moons_like_scikit_learn(moons_split):
    from sklearn.neural_network import MLPClassifier

    x_train, x_test, y_train, y_test = moons_split
    net = lbfgs_network((2, 16, 2), l2=1e-5, max_iter=300)
    history = net.train(x_train, y_train, validation_data=(x_test, y_test))
    accuracy = net.accuracy(x_test, y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((16,), activation="tanh", solver="lbfgs", max_iter=300, random_state=0)
        reference = mlp.fit(x_train, y_train).score(x_test, y_test)
    assert accuracy >= 0.95 and accuracy >= reference - 0.03
    assert len(history.val_accuracy) == len(history) and history.val_accuracy[-1] == accuracy
    assert all(t >= 0 for t in history.epoch_time)


def test_lbfgs_respects_max_iter_and_max_fun():
    x, y = make_moons(200, noise=0.2, random_state=0)
    net = lbfgs_network(max_iter=7)
    net.train(x, y)
    assert len(net.history) == 7 and net.optimizer.outcome.status == 1
    net = lbfgs_network(max_fun=10)
    net.train(x, y)
    assert net.optimizer.outcome.n_fun <= 12 and "EVALUATIONS" in net.optimizer.outcome.message
    assert len(net.history) == net.optimizer.outcome.n_iter <= 10


def test_lbfgs_history_is_the_objective_and_parameters_are_the_result():
    x, y = make_moons(100, noise=0.2, random_state=1)
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(x))
    net = lbfgs_network(l2=0.01, max_iter=20)
    net.train(x, y, sample_weight=w)
    loss = net.backward(x, y, sample_weight=w)
    assert net.history.loss[-1] == pytest.approx(loss, rel=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lbfgs_objective_matches_backward_and_finite_differences(dtype):
    x, y = make_moons(60, noise=0.2, random_state=2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(x))
    net = gn.NeuralNetwork.from_sizes(
        [2, 5, 2],
        activation="tanh",
        loss="cross_entropy",
        optimizer="lbfgs",
        l2=0.05,
        random_state=0,
        dtype=dtype,
    )
    objective = full_batch.objective(net, net.prepare(x, y, w))
    start = net.parameters.astype(np.float64)
    value, gradient = objective(start.copy())
    assert gradient.dtype == np.float64 and gradient.shape == start.shape
    expected = net.backward(x, y, sample_weight=w)
    assert value == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(gradient, net.gradients, rtol=1e-6, atol=1e-7)
    if dtype == "float64":
        eps = 1e-6
        numeric = np.empty_like(start)
        for i in range(start.size):
            plus, minus = start.copy(), start.copy()
            plus[i] += eps
            minus[i] -= eps
            numeric[i] = (objective(plus)[0] - objective(minus)[0]) / (2 * eps)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_lbfgs_refuses_early_stopping_checkpoints_and_per_step_use(tmp_path):
    x, y = make_moons(50, random_state=0)
    net = lbfgs_network()
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="early_stopping is not supported with optimizer 'lbfgs'"):
        net.train(x, y, early_stopping=gn.EarlyStopping("loss"))
    with pytest.raises(ValueError, match="checkpoint is not supported with optimizer 'lbfgs'"):
        net.train(x, y, checkpoint=tmp_path / "c.safetensors")
    assert not (tmp_path / "c.safetensors").exists()
    np.testing.assert_array_equal(net.parameters, before)
    assert len(net.history) == 0


def test_lbfgs_ignores_batch_size_and_shuffle_and_callbacks_can_stop():
    x, y = make_moons(120, noise=0.2, random_state=0)
    a, b = lbfgs_network(max_iter=15), lbfgs_network(max_iter=15)
    a.train(x, y, batch_size=8, shuffle=True)
    b.train(x, y, batch_size=None, shuffle=False)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    net = lbfgs_network()
    net.train(x, y, callbacks=[lambda network, epoch, logs: epoch == 2])
    assert len(net.history) == 3


def test_lbfgs_network_saves_and_loads(tmp_path):
    x, y = make_moons(80, noise=0.2, random_state=0)
    net = lbfgs_network(max_iter=30, max_fun=500, tol=1e-5)
    net.train(x, y)
    gn.save(net, tmp_path / "m.safetensors")
    loaded = gn.load(tmp_path / "m.safetensors")
    assert loaded.optimizer.get_config() == net.optimizer.get_config()
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert loaded.history.loss == net.history.loss
    loaded.train(x, y)  # and trains on
    assert len(loaded.history) > len(net.history)
