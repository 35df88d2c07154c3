"""The seed's experiment and a modern configuration of the same network, as reusable functions.

``seed_network`` is the blog post's network exactly (2-25-50-25-2, sigmoid everywhere, the post's
initialisation, squared error, SGD with learning rate 0.01); ``modern_network`` is the same shape
trained the way one would today (ReLU, He initialisation, softmax cross-entropy, Adam,
mini-batches). ``moons_split`` draws the post's data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .network import NeuralNetwork
from .optim.optimizers import SGD, Adam
from .training.monitor import Monitor

__all__ = [
    "SEED_SIZES",
    "STALL_LOSS",
    "modern_network",
    "moons_split",
    "run_modern",
    "run_seed",
    "seed_network",
]

#: the post's layer sizes
SEED_SIZES = (2, 25, 50, 25, 2)
#: a seed run whose final training loss (½·Σ(a − y)² per sample) is above this stalled on the
#: plateau: runs that learn the moons end near 0.02-0.03, stalled ones stay near 0.09
STALL_LOSS = 0.05


def moons_split(seed: int, n_samples: int = 3000, noise: float = 0.2) -> list[np.ndarray]:
    """``make_moons(n_samples, noise)`` drawn with ``seed``, split 80/20 with the same seed."""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    x, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return train_test_split(x, y, test_size=0.2, random_state=seed)


def seed_network(random_state: int | np.random.Generator | None = None) -> NeuralNetwork:
    """The post's network: sigmoid everywhere, its initialisation, ``"mse"``, SGD at 0.01."""
    return NeuralNetwork.from_sizes(
        SEED_SIZES,
        activation="sigmoid",
        output_activation="sigmoid",
        weight_init="seed",
        loss="mse",
        optimizer=SGD(learning_rate=0.01),
        random_state=random_state,
    )


def modern_network(random_state: int | np.random.Generator | None = None) -> NeuralNetwork:
    """The same shape with ReLU, He initialisation, softmax cross-entropy and Adam (lr 0.01)."""
    return NeuralNetwork.from_sizes(
        SEED_SIZES,
        activation="relu",
        weight_init="he_uniform",
        loss="cross_entropy",
        optimizer=Adam(learning_rate=0.01),
        random_state=random_state,
    )


def _run(
    network: NeuralNetwork,
    split: Sequence[np.ndarray],
    epochs: int,
    batch_size: int,
    shuffle: bool,
    monitor: Monitor | None = None,
) -> dict[str, Any]:
    x_train, x_test, y_train, y_test = split
    callbacks = []
    if monitor is not None:
        if monitor.probe_x is None:
            monitor.attach(x_train, y_train)
        monitor.record(network, 0)  # the untrained network, before the clock starts
        callbacks.append(monitor)
    started = time.perf_counter()
    history = network.train(
        x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=shuffle, callbacks=callbacks
    )
    seconds = time.perf_counter() - started
    return {
        "accuracy": network.accuracy(x_test, y_test),
        "final_loss": history.loss[-1],
        "seconds": seconds,
        "loss_curve": list(history.loss),
    }


def run_seed(seed: int, epochs: int = 500, monitor: Monitor | None = None) -> dict[str, Any]:
    """The post's experiment on data seed ``seed`` (initialisation from the same seed).

    The post walks through the training set in the same order every epoch (``shuffle=False``).
    A ``monitor`` records the run from epoch 0 (the untrained network) on, with the training set
    as its probe batch unless it was given one.
    """
    result = _run(
        seed_network(seed), moons_split(seed), epochs, batch_size=1, shuffle=False, monitor=monitor
    )
    result["stalled"] = result["final_loss"] > STALL_LOSS
    return result


def run_modern(seed: int, epochs: int = 50) -> dict[str, Any]:
    """The modern configuration on data seed ``seed``: batches of 32, 50 epochs."""
    return _run(modern_network(seed), moons_split(seed), epochs, batch_size=32, shuffle=True)


def svm_accuracy(seed: int) -> float:
    """An RBF SVM (``C=10, gamma=1``) on the same split: what the data allow."""
    from sklearn.svm import SVC

    x_train, x_test, y_train, y_test = moons_split(seed)
    return float(SVC(C=10, gamma=1).fit(x_train, y_train).score(x_test, y_test))


def linear_accuracy(seed: int) -> float:
    """A logistic regression (a straight boundary) on the same split."""
    from sklearn.linear_model import LogisticRegression

    x_train, x_test, y_train, y_test = moons_split(seed)
    return float(LogisticRegression().fit(x_train, y_train).score(x_test, y_test))


def summary(values: Sequence[float]) -> dict[str, float]:
    """The median, extremes and quartiles of ``values``."""
    array = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(array)),
        "min": float(array.min()),
        "max": float(array.max()),
        "q1": float(np.percentile(array, 25)),
        "q3": float(np.percentile(array, 75)),
    }
