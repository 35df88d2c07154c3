"""The benchmark cases of issue 6, as plain specifications, and their data."""

from __future__ import annotations

import itertools

import numpy as np

from glassnet import experiments

#: A. the seed's algorithm: 2-25-50-25-2 sigmoid, the post's initialisation, squared error,
#: SGD with learning rate 0.01, one sample per step (the post's fixed order), on moons
CASE_A = {
    "sizes": [2, 25, 50, 25, 2],
    "activation": "sigmoid",
    "loss": "mse",
    "optimizer": "sgd",
    "lr": 0.01,
    "batch_size": 1,
    "epochs": 2,
    "shuffle": False,
    "dtype": "float64",
    "init": "seed",
}
#: A, with the training set reshuffled every epoch (scikit-learn's default, and SGD as usually run)
CASE_A_SHUFFLED = {**CASE_A, "shuffle": True}
#: B. moons, 2-25-50-25-2 ReLU, softmax cross-entropy, Adam lr 0.01, batch 32, 100 epochs
CASE_B = {
    "sizes": [2, 25, 50, 25, 2],
    "activation": "relu",
    "loss": "cross_entropy",
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 32,
    "epochs": 100,
    "shuffle": True,
    "dtype": "float64",
    "init": "glorot_uniform",
}
#: C. 784-512-256-10 ReLU, softmax cross-entropy, Adam, float32, batch 256, 20k samples, 3 epochs
CASE_C = {
    "sizes": [784, 512, 256, 10],
    "activation": "relu",
    "loss": "cross_entropy",
    "optimizer": "adam",
    "lr": 0.001,
    "batch_size": 256,
    "epochs": 3,
    "shuffle": True,
    "dtype": "float32",
    "init": "glorot_uniform",
}


def moons():
    """make_moons(3000, noise=0.2), split 80/20, data seed 0."""
    return experiments.moons_split(0)


def synthetic_digits(n_train: int = 20_000, n_test: int = 2_000, seed: int = 0):
    """784 float32 features in 10 classes: noisy copies of 10 random prototypes (learnable,
    not trivial)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.standard_normal((10, 784), dtype=np.float32)
    labels = rng.integers(0, 10, n_train + n_test)
    x = rng.standard_normal((n_train + n_test, 784), dtype=np.float32)
    x += prototypes[labels] * np.float32(0.15)
    return x[:n_train], labels[:n_train], x[n_train:], labels[n_train:]


def matmul_list(batch: int, sizes: list[int]) -> list[tuple[int, int, int]]:
    """The (m, k, n) products of one training step: forward, weight gradients, input gradients
    (none for the first layer, whose input needs no gradient)."""
    products = []
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        products.append((batch, n_in, n_out))  # x @ W
        products.append((n_in, batch, n_out))  # x.T @ dz
        if index > 0:
            products.append((batch, n_out, n_in))  # dz @ W.T
    return products


def flops(batch: int, sizes: list[int]) -> int:
    return sum(2 * m * k * n for m, k, n in matmul_list(batch, sizes))
