"""The seed's experiment, in full: 2-25-50-25-2 sigmoid, the post's initialisation, squared
error, learning rate 0.01, one sample per step, 500 epochs, make_moons(3000, noise=0.2), 80/20.

The configuration stalls on a plateau near 0.88 on some data draws, and the attainable accuracy
moves with the draw, so the test compares the median over data seeds 0-4 with an RBF SVM on the
same splits instead of a fixed number. It takes about three minutes: `make test-slow`.
"""

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

import glassnet as gn

SEEDS = range(5)


def seed_experiment(seed: int) -> tuple[float, float]:
    x, y = make_moons(n_samples=3000, noise=0.2, random_state=seed)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=seed)
    svm = SVC(C=10, gamma=1).fit(x_train, y_train).score(x_test, y_test)
    network = gn.NeuralNetwork(loss="mse", optimizer=gn.SGD(learning_rate=0.01), random_state=seed)
    for n_in, n_out in [(2, 25), (25, 50), (50, 25), (25, 2)]:
        network.add_layer(gn.Layer(n_in, n_out, "sigmoid", "seed"))
    # the post walks through the training set in the same order every epoch
    network.train(x_train, y_train, epochs=500, batch_size=1, shuffle=False)
    return network.accuracy(x_test, y_test), svm


@pytest.mark.slow
def test_seed_experiment_median_matches_an_rbf_svm():
    results = [seed_experiment(seed) for seed in SEEDS]
    for seed, (accuracy, svm) in zip(SEEDS, results):
        print(f"data seed {seed}: glassnet {accuracy:.4f}   RBF SVM {svm:.4f}")
    accuracies, svms = np.array(results).T
    print(f"median: glassnet {np.median(accuracies):.4f}   RBF SVM {np.median(svms):.4f}")
    assert np.median(accuracies) >= np.median(svms) - 0.01
