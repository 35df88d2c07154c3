"""The same training runs written for glassnet, scikit-learn's MLPClassifier and PyTorch.

Each ``train_*`` function builds its network (same architecture, initialisation scheme, optimizer,
batch size, epochs and dtype as the others), trains it on the given data, and returns the trained
model and the seconds the training took (model building and data conversion excluded). Each
``predict_*`` function returns class labels.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import time
import warnings

import numpy as np

import glassnet as gn


def torch_available() -> bool:
    """Whether PyTorch is installed (imported only by the runs that use it: it costs ~200 MB)."""
    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------------------- glassnet
def glassnet_network(sizes, activation, loss, optimizer, dtype, weight_init, seed, backend="auto"):
    output = "softmax" if loss == "cross_entropy" else "sigmoid"
    network = gn.NeuralNetwork(
        loss=loss, optimizer=optimizer, dtype=dtype, random_state=seed, backend=backend
    )
    for n_in, n_out, last in zip(sizes[:-1], sizes[1:], [False] * (len(sizes) - 2) + [True]):
        network.add_layer(gn.Layer(n_in, n_out, output if last else activation, weight_init))
    return network


def train_glassnet(spec, x, y, seed, backend="auto"):
    """``backend="auto"`` trains one sample per step with the compiled kernel where numba is
    installed (glassnet's default); ``"numpy"`` with NumPy only."""
    network = glassnet_network(
        spec["sizes"],
        spec["activation"],
        spec["loss"],
        _glassnet_optimizer(spec),
        spec["dtype"],
        spec["init"],
        seed,
        backend,
    )
    load_kernel(network, x, y, spec["batch_size"])
    started = time.perf_counter()
    network.train(
        x, y, epochs=spec["epochs"], batch_size=spec["batch_size"], shuffle=spec["shuffle"]
    )
    return network, time.perf_counter() - started


def load_kernel(network, x, y, batch_size=1):
    """Load the compiled kernels (from numba's disk cache, or compiled on a machine's first run)
    before the clock starts, as imports are: a throw-away copy trains one step of the timed
    run's batch size, so that it takes the same path (the compiled per-sample or mini-batch
    epoch, or NumPy's products with the compiled update and activations' passes) and loads
    nothing the timed run does not."""
    if network.compiled_training() is None or network.compiled_update() is None:
        network.copy().train(x[:batch_size], y[:batch_size], epochs=1, batch_size=batch_size)


def compile_times():
    """Seconds to get each compiled path ready in this process: compiling the kernels where
    numba's cache (NUMBA_CACHE_DIR, set by the caller) is empty, loading them where it is not.
    Each is the first training call of a tiny network on that path."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 2)), np.array([0, 1, 0, 1])
    times = {}
    for label, dtype, batch_size, build in [
        ("per_sample_float64", "float64", 1, lambda: gn.experiments.seed_network(0)),
        ("mini_batch_float64", "float64", 2, None),
        ("mini_batch_float32", "float32", 2, None),
    ]:
        if build is None:
            network = glassnet_network(
                [2, 3, 2], "relu", "cross_entropy", gn.Adam(), dtype, "glorot_uniform", 0
            )
        else:
            network = build()
        started = time.perf_counter()
        network.train(x, y, epochs=1, batch_size=batch_size, shuffle=False)
        times[label] = time.perf_counter() - started
        times[f"{label}_path"] = network.training_path
    times["total"] = sum(v for v in times.values() if isinstance(v, float))
    return times


def _glassnet_optimizer(spec):
    if spec["optimizer"] == "sgd":
        return gn.SGD(learning_rate=spec["lr"])
    return gn.Adam(learning_rate=spec["lr"])


def predict_glassnet(network, x):
    return network.predict(x)


# ---------------------------------------------------------------------------- scikit-learn
def train_sklearn(spec, x, y, seed):
    from sklearn.neural_network import MLPClassifier

    activation = {"sigmoid": "logistic"}.get(spec["activation"], spec["activation"])
    model = MLPClassifier(
        hidden_layer_sizes=tuple(spec["sizes"][1:-1]),
        activation=activation,
        solver=spec["optimizer"],
        learning_rate_init=spec["lr"],
        momentum=0.0,
        nesterovs_momentum=False,
        batch_size=spec["batch_size"],
        alpha=0.0,
        max_iter=spec["epochs"],
        shuffle=spec["shuffle"],
        tol=0.0,
        n_iter_no_change=spec["epochs"] + 1,
        random_state=seed,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: every epoch is run on purpose
        model.fit(x, y)
    return model, time.perf_counter() - started


def predict_sklearn(model, x):
    return model.predict(x)


# ---------------------------------------------------------------------------- PyTorch
def torch_network(spec, initial=None):
    import torch

    layers = []
    sizes = spec["sizes"]
    hidden = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[
        spec["activation"]
    ]
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        linear = torch.nn.Linear(n_in, n_out)
        if initial is not None:  # the very same starting weights as glassnet's
            weights, bias = initial[index]
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weights.T)))
                linear.bias.copy_(torch.from_numpy(bias))
        else:  # the same scheme as glassnet's glorot_uniform: Glorot uniform weights, zero bias
            torch.nn.init.xavier_uniform_(linear.weight)
            torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if index < len(sizes) - 2 or spec["loss"] == "mse":
            layers.append(hidden() if index < len(sizes) - 2 else torch.nn.Sigmoid())
    dtype = torch.float32 if spec["dtype"] == "float32" else torch.float64
    return torch.nn.Sequential(*layers).to(dtype)


def train_torch(spec, x, y, seed, initial=None):
    import torch

    torch.manual_seed(seed)
    dtype = torch.float32 if spec["dtype"] == "float32" else torch.float64
    model = torch_network(spec, initial)
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=spec["dtype"]))
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    if spec["loss"] == "mse":
        targets = torch.nn.functional.one_hot(labels, spec["sizes"][-1]).to(dtype)

        def loss_of(output, index):
            return 0.5 * ((output - targets[index]) ** 2).sum() / output.shape[0]
    else:
        cross_entropy = torch.nn.CrossEntropyLoss()

        def loss_of(output, index):
            return cross_entropy(output, labels[index])

    optimizer = (torch.optim.SGD if spec["optimizer"] == "sgd" else torch.optim.Adam)(
        model.parameters(), lr=spec["lr"]
    )
    n = inputs.shape[0]
    batch = spec["batch_size"]
    generator = torch.Generator().manual_seed(seed)
    started = time.perf_counter()
    for _ in range(spec["epochs"]):
        order = torch.randperm(n, generator=generator) if spec["shuffle"] else torch.arange(n)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of(model(inputs[index]), index)
            loss.backward()
            optimizer.step()
    return model, time.perf_counter() - started


def predict_torch(model, x):
    import torch

    with torch.no_grad():
        dtype = next(model.parameters()).dtype
        output = model(torch.from_numpy(np.ascontiguousarray(x)).to(dtype))
        return output.argmax(dim=1).numpy()


def train_seed_experiment(seed, backend):
    """The demo's run: the post's network and data split, 500 epochs of one sample per step in
    the post's order, validation after every epoch; returns the seconds and the test accuracy."""
    network = gn.experiments.seed_network(seed)
    network.backend = backend
    x_train, x_test, y_train, y_test = gn.experiments.moons_split(seed)
    load_kernel(network, x_train, y_train, 1)
    started = time.perf_counter()
    network.train(
        x_train, y_train, epochs=500, batch_size=1, shuffle=False, validation_data=(x_test, y_test)
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "accuracy": float(network.accuracy(x_test, y_test))}


#: glassnet held to its NumPy path (the compiled kernels' reference), a row of its own
NUMPY_PATH = "glassnet (NumPy)"

CONTESTANTS = {
    "glassnet": (train_glassnet, predict_glassnet),
    NUMPY_PATH: (functools.partial(train_glassnet, backend="numpy"), predict_glassnet),
    "scikit-learn": (train_sklearn, predict_sklearn),
    "PyTorch": (train_torch, predict_torch),
}
