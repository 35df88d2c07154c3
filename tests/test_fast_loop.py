"""The fast inner loop against the general training loop, and its building blocks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import _fast_loop, activations

X = np.random.default_rng(0).normal(size=(120, 3))
LABELS = (X[:, 0] * X[:, 1] > 0).astype(int)

CONFIGS = [
    # hidden activations, loss, optimizer, output activation, dtype
    (("sigmoid", "sigmoid", "sigmoid"), "mse", "sgd", "sigmoid", "float64"),  # the seed's
    (("relu", "tanh", "tanh"), "cross_entropy", "adam", "softmax", "float64"),
    (("softplus", "relu", "leaky_relu"), "mse", gn.SGD(0.01, momentum=0.9, nesterov=True), "identity", "float64"),
    (("tanh",), "binary_cross_entropy", "adamw", "sigmoid", "float32"),
    ((), "cross_entropy", "sgd", "softmax", "float64"),
    (("sigmoid", "tanh", "sigmoid", "sigmoid"), "huber", "sgd", "tanh", "float32"),
]


def build(hidden, loss, optimizer, output, dtype):
    if not isinstance(optimizer, str):  # a fresh copy for every network
        optimizer = gn.optimizers.get(optimizer.get_config())
    net = gn.NeuralNetwork(loss=loss, optimizer=optimizer, dtype=dtype, random_state=0)
    sizes = [3, 6, 5, 4, 7][: len(hidden) + 1]
    for n_in, n_out, activation in zip(sizes, sizes[1:], hidden):
        net.add_layer(gn.Layer(n_in, n_out, activation))
    net.add_layer(gn.Layer(sizes[len(hidden)], 1 if loss == "binary_cross_entropy" else 2, output))
    return net


def train_both(config, monkeypatch, **kwargs):
    """The same run through the fast loop and (with the fast loop switched off) the general one."""
    targets = LABELS if config[1] != "huber" else X[:, 1:]
    fast, general = build(*config), build(*config)
    assert _fast_loop.usable(fast, np.ones((1, 4)))
    fast.train(X, targets, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(_fast_loop, "usable", lambda *args: False)
        general.train(X, targets, **kwargs)
    return fast, general


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c[0]) + f"-{c[1]}")
@pytest.mark.parametrize(("batch_size", "shuffle", "weighted"), [(1, True, False), (1, False, True), (7, True, True), (8, False, False)])
def test_fast_loop_matches_the_general_loop_bit_for_bit(config, batch_size, shuffle, weighted, monkeypatch):
    weights = np.random.default_rng(6).uniform(0.5, 2.0, len(X)) if weighted else None
    fast, general = train_both(config, monkeypatch, epochs=3, batch_size=batch_size, shuffle=shuffle, sample_weight=weights)
    np.testing.assert_array_equal(fast.parameters, general.parameters)
    np.testing.assert_array_equal(fast.history.loss, general.history.loss)
    for fast_slot, general_slot in zip(fast.optimizer.state_dict()["slots"], general.optimizer.state_dict()["slots"]):
        for name in fast_slot:
            np.testing.assert_array_equal(fast_slot[name], general_slot[name])
    assert fast.optimizer.iterations == general.optimizer.iterations == 3 * -(-len(X) // batch_size)
    # the gradients left behind are those of the last batch, as in the general loop
    np.testing.assert_array_equal(fast.gradients, general.gradients)


def test_fast_loop_is_not_used_where_it_would_differ():
    net = build(*CONFIGS[0])
    assert not _fast_loop.usable(net, None)  # big data, gathered batch by batch
    assert not _fast_loop.usable(net, np.ones((1, 3)))  # inputs without the ones column
    net.l2 = 1e-3
    assert not _fast_loop.usable(net, np.ones((1, 4)))


def test_non_finite_loss_in_per_sample_training_names_the_sample_and_restores_the_epoch():
    x = np.random.default_rng(1).normal(size=(40, 2)) * 1e3
    y = np.random.default_rng(2).normal(size=40) * 1e3
    net = gn.NeuralNetwork.from_sizes([2, 8, 1], activation="identity", optimizer=gn.SGD(learning_rate=10.0), random_state=0)
    with pytest.raises(gn.NonFiniteLossError, match=r"loss became (inf|nan) at epoch 1, batch \d+ of 40"), np.errstate(all="raise"):
        net.train(x, y, epochs=5, batch_size=1)  # and no floating-point warning on the way
    assert np.isfinite(net.parameters).all()
    assert net.history.epochs == 0


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activation_kernels_compute_what_the_methods_compute(name, dtype):
    activation = activations.get(name)
    z = np.random.default_rng(3).normal(size=(1, 9)).astype(dtype) * 3
    grad = np.random.default_rng(4).normal(size=(1, 9)).astype(dtype)
    forward, backward, derivative = activation.kernels(np.dtype(dtype))
    a = forward(z, out=np.empty_like(z))
    np.testing.assert_array_equal(a, activation.forward(z))
    v = z if activation.derivative_uses == "z" else a
    np.testing.assert_array_equal(backward(grad, v, out=np.empty_like(z)), activation.backward(grad, v))
    if derivative is not None:
        np.testing.assert_array_equal(derivative(v, out=np.empty_like(z)), activation.derivative(v))
        assert a.dtype == np.dtype(dtype)


@pytest.mark.parametrize("optimizer", [gn.SGD(0.1), gn.SGD(0.1, momentum=0.5), gn.Adam(0.01), gn.AdamW(0.01, weight_decay=0.1), gn.AdamW(0.01, weight_decay=0.0), gn.SGD(gn.schedules.get({"name": "exponential_decay", "initial_learning_rate": 0.1, "decay_rate": 0.5, "decay_steps": 2}))])
def test_stepper_steps_like_step(optimizer):
    rng = np.random.default_rng(5)
    params, grads = [rng.normal(size=7)], [rng.normal(size=7)]
    twin = gn.optimizers.get(optimizer.get_config())
    twin_params = [params[0].copy()]
    step = optimizer.stepper(params, grads)
    for _ in range(4):
        step()
        twin.step(twin_params, grads)
    np.testing.assert_array_equal(params[0], twin_params[0])
    assert optimizer.iterations == twin.iterations == 4


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_epoch_loss_is_the_mean_of_each_batch_loss_before_its_step(l2, batch_size):
    net = build(*CONFIGS[1])
    net.l2 = l2
    replay = net.copy()
    net.train(X, LABELS, epochs=1, batch_size=batch_size, shuffle=False)
    size = len(X) if batch_size is None else batch_size
    weighted_losses = []
    for start in range(0, len(X), size):
        xb, yb = X[start : start + size], LABELS[start : start + size]
        weighted_losses.append(replay.evaluate(xb, yb)["loss"] * len(xb))
        replay.train(xb, yb, epochs=1, batch_size=None, shuffle=False)  # the same step, alone
    assert net.history.loss[0] == pytest.approx(sum(weighted_losses) / len(X), rel=1e-12)
    np.testing.assert_allclose(net.parameters, replay.parameters, rtol=1e-12, atol=1e-15)


def test_a_subclass_that_changes_step_is_stepped_through_its_step():
    class CountingSGD(gn.SGD):
        calls = 0

        def step(self, params, grads):
            CountingSGD.calls += 1
            super().step(params, grads)

    net = gn.NeuralNetwork.from_sizes([3, 4, 2], optimizer=CountingSGD(0.1), random_state=0)
    net.train(X, LABELS, epochs=2, batch_size=1)
    assert CountingSGD.calls == 2 * len(X)
