"""The one compute path (glassnet.model.plan) against a plain reference, and what trains
through it."""

from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.model import plan as plan_module

X = np.random.default_rng(0).normal(size=(120, 3))
LABELS = (X[:, 0] * X[:, 1] > 0).astype(int)

CONFIGS = [
    # hidden activations, loss, optimizer, output activation, dtype
    (("sigmoid", "sigmoid", "sigmoid"), "mse", "sgd", "sigmoid", "float64"),  # the seed's
    (("relu", "tanh", "tanh"), "cross_entropy", "adam", "softmax", "float64"),
    (
        ("softplus", "relu", "leaky_relu"),
        "mse",
        gn.SGD(0.01, momentum=0.9, nesterov=True),
        "identity",
        "float64",
    ),
    (("tanh",), "binary_cross_entropy", "adamw", "sigmoid", "float32"),
    ((), "cross_entropy", "sgd", "softmax", "float64"),
    (("sigmoid", "tanh", "sigmoid", "sigmoid"), "huber", "sgd", "tanh", "float32"),
    (("identity", "leaky_relu", "leaky_relu"), "mae", "sgd", "identity", "float64"),
]


def build(hidden, loss, optimizer, output, dtype, l2=0.0):
    if not isinstance(optimizer, str):  # a fresh copy for every network
        optimizer = gn.optimizers.get(optimizer.get_config())
    net = gn.NeuralNetwork(loss=loss, optimizer=optimizer, dtype=dtype, l2=l2, random_state=0)
    sizes = [3, 6, 5, 4, 7][: len(hidden) + 1]
    for n_in, n_out, activation in zip(sizes, sizes[1:], hidden):
        net.add_layer(gn.Layer(n_in, n_out, activation))
    net.add_layer(gn.Layer(sizes[len(hidden)], 1 if loss == "binary_cross_entropy" else 2, output))
    return net


def targets_for(config):
    return LABELS if config[1] not in ("huber", "mae") else X[:, 1:]


# ------------------------------------------------------------------ a plain reference
REFERENCE = {
    # name: (f(z), f'(z)) written the textbook way, in float64
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
}


def reference_gradients(net, x, y, weights):
    """Forward and backward pass in plain float64 NumPy: dL/dW and dL/db of every layer."""
    layers = net.layers
    encoded = net.prepare(x, y, weights).targets.astype(float)
    n = x.shape[0]
    share = np.full(n, 1 / n) if weights is None else weights / weights.sum()
    inputs, zs = [x], []
    for layer in layers:
        z = inputs[-1] @ layer.weights.astype(float) + layer.bias.astype(float)
        zs.append(z)
        name = layer.activation.name
        if name == "softmax":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            inputs.append(e / e.sum(axis=1, keepdims=True))
        else:
            inputs.append(REFERENCE[name][0](z))
    output, loss = inputs[-1], net.loss.name
    if loss in ("cross_entropy", "binary_cross_entropy"):
        dz = (output - encoded) * share[:, None]  # the fused gradient with respect to z
    else:
        residual = output - encoded
        dloss = {"mse": residual, "mae": np.sign(residual), "huber": np.clip(residual, -1, 1)}[loss]
        dz = dloss * share[:, None] * REFERENCE[layers[-1].activation.name][1](zs[-1])
    grads = []
    for index in range(len(layers) - 1, -1, -1):
        grads.append((inputs[index].T @ dz, dz.sum(axis=0)))
        if index:
            dz = (dz @ layers[index].weights.astype(float).T) * REFERENCE[
                layers[index - 1].activation.name
            ][1](zs[index - 1])
    return grads[::-1]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c[0]) + f"-{c[1]}")
@pytest.mark.parametrize("n_samples", [1, 7])
@pytest.mark.parametrize("ones_column", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_step_of_the_plan_equals_the_textbook_formulas(
    config, n_samples, ones_column, weighted
):
    net = build(*config)
    net.train(X, targets_for(config), epochs=1, batch_size=16)  # away from the initial weights
    x, y = X[:n_samples], targets_for(config)[:n_samples]
    weights = np.random.default_rng(1).uniform(0.5, 2, n_samples) if weighted else None
    data = net.prepare(x, y, weights)
    inputs = np.column_stack([data.x, np.ones(n_samples, data.x.dtype)]) if ones_column else data.x
    plan = net.step_plan(n_samples)
    output_rows = np.empty_like(data.targets)
    plan.train_step(inputs, inputs.T, data.targets, data.sample_weight, output_rows)
    tolerance = 1e-10 if config[4] == "float64" else 2e-4
    for layer, (grad_weights, grad_bias) in zip(
        net.layers, reference_gradients(net, x, y, weights)
    ):
        np.testing.assert_allclose(layer.grad_weights, grad_weights, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(layer.grad_bias, grad_bias, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c[0]) + f"-{c[1]}")
@pytest.mark.parametrize("n_samples", [1, 5])
def test_training_steps_and_the_public_backward_give_the_same_gradients(config, n_samples):
    # the same plan with and without the inputs' ones column, with and without the loss value
    net = build(*config, l2=0.01)
    x, y = X[:n_samples], targets_for(config)[:n_samples]
    loss = net.backward(x, y)
    from_backward = net.gradients.copy()
    data = net.prepare(x, y)
    inputs = np.column_stack([data.x, np.ones(n_samples, data.x.dtype)])
    penalty = net.step_plan(n_samples).train_step(
        inputs, inputs.T, data.targets, None, np.empty_like(data.targets)
    )
    tolerance = 1e-12 if config[4] == "float64" else 1e-5
    np.testing.assert_allclose(net.gradients, from_backward, rtol=tolerance, atol=tolerance)
    assert 0 < penalty < loss


def test_every_batch_goes_through_the_plan(monkeypatch):
    calls = []
    original = plan_module.StepPlan.train_step

    def counting(self, x, *args):
        calls.append(x.shape[0])
        return original(self, x, *args)

    monkeypatch.setattr(plan_module.StepPlan, "train_step", counting)
    for batch_size, expected in [
        (1, [1] * 120),
        (50, [50, 50, 20]),
        (None, [120]),
        (7, [7] * 17 + [1]),
    ]:
        calls.clear()
        net = build(*CONFIGS[0])
        net.backend = "numpy"  # under "auto", per-sample steps may run the compiled kernel
        net.train(X, LABELS, epochs=1, batch_size=batch_size)
        assert calls == expected


def test_results_are_those_of_the_code_before_the_single_compute_path():
    # tests/data/before_the_single_compute_path.npz was written by glassnet before its compute
    # path was unified (commit e43d9d8), from the four runs below; the same random_state must
    # still give the same parameters and losses (bit for bit on the machine that wrote it)
    expected = np.load(Path(__file__).parent / "data" / "before_the_single_compute_path.npz")
    rng = np.random.default_rng(42)
    x = rng.normal(size=(150, 2))
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)
    targets = np.column_stack([np.sin(x[:, 0]), x[:, 1] ** 2])
    weights = rng.uniform(0.5, 2.0, len(x))
    seed = gn.NeuralNetwork(loss="mse", optimizer=gn.SGD(0.01), random_state=1)
    for n_in, n_out in [(2, 25), (25, 50), (50, 25), (25, 2)]:
        seed.add_layer(gn.Layer(n_in, n_out, "sigmoid", "seed"))
    modern = gn.NeuralNetwork.from_sizes(
        [2, 16, 16, 2],
        activation="relu",
        weight_init="he_uniform",
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=0.01,
        random_state=2,
    )
    tanh = gn.NeuralNetwork.from_sizes(
        [2, 8, 2],
        activation="tanh",
        loss="huber",
        optimizer=gn.SGD(0.05, momentum=0.9, nesterov=True),
        l2=0.01,
        random_state=3,
    )
    bce = gn.NeuralNetwork.from_sizes(
        [2, 6, 1],
        activation="softplus",
        loss="binary_cross_entropy",
        optimizer=gn.AdamW(0.01, weight_decay=0.1),
        dtype="float32",
        random_state=4,
    )
    runs = [
        ("seed", seed, labels, {"epochs": 2, "batch_size": 1, "shuffle": False}),
        ("modern", modern, labels, {"epochs": 3, "batch_size": 32}),
        ("tanh_l2", tanh, targets, {"epochs": 3, "batch_size": 7, "sample_weight": weights}),
        ("bce32", bce, labels, {"epochs": 4, "batch_size": None}),
    ]
    for name, net, y, options in runs:
        net.train(x, y, **options)
        tolerance = 1e-12 if net.dtype == np.float64 else 1e-5
        np.testing.assert_allclose(
            net.parameters, expected[f"{name}.parameters"], rtol=tolerance, atol=tolerance
        )
        np.testing.assert_allclose(net.history.loss, expected[f"{name}.loss"], rtol=tolerance)


def test_a_changed_activation_or_l2_builds_a_new_plan():
    net = build(*CONFIGS[0])
    first = net.step_plan(4)
    assert net.step_plan(4) is first
    net.l2 = 0.1
    assert net.step_plan(4) is not first and net.step_plan(4).l2 == 0.1
    net.layers[0].activation = gn.activations.get("tanh")
    assert net.step_plan(4).steps[0].activate == net.layers[0].activation.forward


def test_non_finite_loss_in_per_sample_training_names_the_sample_and_restores_the_epoch():
    x = np.random.default_rng(1).normal(size=(40, 2)) * 1e3
    y = np.random.default_rng(2).normal(size=40) * 1e3
    net = gn.NeuralNetwork.from_sizes(
        [2, 8, 1], activation="identity", optimizer=gn.SGD(learning_rate=10.0), random_state=0
    )
    with (
        pytest.raises(
            gn.NonFiniteLossError, match=r"loss became (inf|nan) at epoch 1, batch \d+ of 40"
        ),
        np.errstate(all="raise"),
    ):
        net.train(x, y, epochs=5, batch_size=1)  # and no floating-point warning on the way
    assert np.isfinite(net.parameters).all()
    assert net.history.epochs == 0


@pytest.mark.parametrize(
    "optimizer",
    [
        gn.SGD(0.1),
        gn.SGD(0.1, momentum=0.5),
        gn.Adam(0.01),
        gn.AdamW(0.01, weight_decay=0.1),
        gn.AdamW(0.01, weight_decay=0.0),
        gn.SGD(
            gn.schedules.get(
                {
                    "name": "exponential_decay",
                    "initial_learning_rate": 0.1,
                    "decay_rate": 0.5,
                    "decay_steps": 2,
                }
            )
        ),
    ],
)
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


def test_inference_is_the_same_forward_pass():
    net = build(*CONFIGS[1])
    plan_output = net.forward(X[:9])
    np.testing.assert_allclose(net.predict_output(X[:9]), plan_output, rtol=1e-12)
    np.testing.assert_allclose(plan_module.infer(net.layers, X[:9]), plan_output, rtol=1e-12)
