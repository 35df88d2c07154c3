import os

# One BLAS thread: results then do not depend on how a matrix product was split across threads.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# lets scikit-learn run (rather than skip) its array-API check with the NumPy namespace
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import glassnet as gn  # noqa: E402


def network_state(network: gn.NeuralNetwork):
    """Everything a failed call must leave as it was."""
    return (
        network.parameters.copy(),
        network.gradients.copy(),
        len(network.history),
        network.optimizer.iterations,
        network.task,
        str(network.rng.bit_generator.state),
        len(network.layers),
    )


def assert_unchanged(network: gn.NeuralNetwork, before) -> None:
    after = network_state(network)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2:] == before[2:]


@pytest.fixture
def moons():
    from sklearn.datasets import make_moons

    return make_moons(n_samples=300, noise=0.2, random_state=0)


@pytest.fixture
def small_classifier():
    net = gn.NeuralNetwork(random_state=0, loss="cross_entropy", optimizer="adam")
    net.add_layer(gn.Layer(2, 8, "tanh"))
    net.add_layer(gn.Layer(8, 3, "softmax"))
    return net


def run_in_threads(work, n_threads: int) -> None:
    """Run ``work(index)`` in ``n_threads`` threads at once and wait for all of them."""
    import threading

    start = threading.Barrier(n_threads)

    def run(index):
        start.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
