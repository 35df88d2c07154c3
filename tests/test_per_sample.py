"""The per-sample loop (batch size 1) against the general training loop, and its building blocks."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations, training

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


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c[0]) + f"-{c[1]}")
@pytest.mark.parametrize("shuffle", [True, False])
def test_per_sample_loop_matches_the_general_loop_bit_for_bit(config, shuffle):
    targets = LABELS if config[1] != "huber" else X[:, 1:]
    fast, general = build(*config), build(*config)
    assert training._per_sample.usable(fast, 1, None, np.ones((1, 4)))
    fast.train(X, targets, epochs=3, batch_size=1, shuffle=shuffle)
    # unit sample weights change no number, but send training through the general loop
    general.train(X, targets, epochs=3, batch_size=1, shuffle=shuffle, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(fast.parameters, general.parameters)
    np.testing.assert_allclose(fast.history.loss, general.history.loss, rtol=1e-6 if config[4] == "float32" else 1e-12)
    for fast_slot, general_slot in zip(fast.optimizer.state_dict()["slots"], general.optimizer.state_dict()["slots"]):
        for name in fast_slot:
            np.testing.assert_array_equal(fast_slot[name], general_slot[name])
    assert fast.optimizer.iterations == general.optimizer.iterations == 3 * len(X)
    # the gradients left behind are those of the last sample, as in the general loop
    np.testing.assert_array_equal(fast.gradients, general.gradients)


def test_per_sample_loop_is_not_used_where_it_would_differ():
    net = build(*CONFIGS[0])
    assert not training._per_sample.usable(net, 2, None, np.ones((1, 4)))
    assert not training._per_sample.usable(net, 1, np.ones(3), np.ones((1, 4)))
    assert not training._per_sample.usable(net, 1, None, np.ones((1, 3)))  # inputs without the ones column
    net.l2 = 1e-3
    assert not training._per_sample.usable(net, 1, None, np.ones((1, 4)))


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


@pytest.mark.parametrize("optimizer", [gn.SGD(0.1), gn.SGD(0.1, momentum=0.5), gn.Adam(0.01), gn.SGD(gn.schedules.get({"name": "exponential_decay", "initial_learning_rate": 0.1, "decay_rate": 0.5, "decay_steps": 2}))])
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
