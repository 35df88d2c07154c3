import os
import tempfile

# One BLAS thread: results then do not depend on how a matrix product was split across threads.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# lets scikit-learn run (rather than skip) its array-API check with the NumPy namespace
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# numba's cache of the compiled kernels goes to a temporary folder (kept between runs, so only
# the first run compiles), not into the package's __pycache__: tests write only under temp
os.environ.setdefault(
    "NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"glassnet-tests-numba-{os.getuid()}")
)

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


# ---------------------------------------------------------------------- a real browser
#: Debian's Chromium (`apt-get install chromium`), driven by Playwright; no browser is downloaded
#: (GLASSNET_CHROMIUM names another binary, or a missing one to see the tests skip)
CHROMIUM = os.environ.get("GLASSNET_CHROMIUM", "/usr/bin/chromium")
#: what it needs here: run as root, no GPU, a closed network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.exists(CHROMIUM):
        return f"browser tests skipped: {CHROMIUM} not found; install with apt-get install chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: playwright is not installed; pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module (Playwright gives it a fresh profile). Skipped when
    Chromium or Playwright is missing, except under GLASSNET_REQUIRE_BROWSER=1 (CI), where that
    is a failure."""
    problem = browser_problem()
    if problem is not None:
        if os.environ.get("GLASSNET_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{problem} (GLASSNET_REQUIRE_BROWSER=1: these tests must run)")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
