"""Case E: resident memory of case C's training, one contestant per fresh process.

Usage: python benchmarks/memory.py CONTESTANT EPOCHS THREADS
Prints one JSON line: RSS after imports, after the data are made, after each epoch, and the peak.
"""

from __future__ import annotations

import json
import os
import resource
import sys

CONTESTANT, EPOCHS, THREADS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
os.environ["OMP_NUM_THREADS"] = str(THREADS)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
import contestants  # noqa: E402

import glassnet as gn  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak() -> None:
    """Start the kernel's high-water mark (VmHWM) afresh, so making the data does not count."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    spec = dict(cases.CASE_C)
    if CONTESTANT == "PyTorch":
        import torch

        torch.set_num_threads(THREADS)
    if CONTESTANT == "scikit-learn":
        import sklearn.neural_network  # noqa: F401
    if CONTESTANT == "glassnet":  # numba and the compiled kernels load like an import
        rng = np.random.default_rng(0)
        tiny = contestants.glassnet_network(
            [784, 2, 10], "relu", "cross_entropy", gn.Adam(), spec["dtype"], "glorot_uniform", 0
        )
        tiny.train(rng.standard_normal((2, 784)), [0, 1], epochs=1, batch_size=2)
    after_import = rss_mb()
    x, y, _, _ = cases.synthetic_digits()
    after_data = rss_mb()
    reset_peak()
    per_epoch = []
    spec["epochs"] = 1
    if CONTESTANT in ("glassnet", contestants.NUMPY_PATH):
        backend = "numpy" if CONTESTANT == contestants.NUMPY_PATH else "auto"
        network = contestants.glassnet_network(
            spec["sizes"],
            spec["activation"],
            spec["loss"],
            contestants._glassnet_optimizer(spec),
            spec["dtype"],
            spec["init"],
            0,
            backend,
        )
        network.train(
            x,
            y,
            epochs=EPOCHS,
            batch_size=spec["batch_size"],
            callbacks=[lambda *args: per_epoch.append(rss_mb())],
        )
    elif CONTESTANT == "scikit-learn":
        import warnings

        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(
            hidden_layer_sizes=(512, 256),
            learning_rate_init=spec["lr"],
            batch_size=spec["batch_size"],
            alpha=0.0,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(EPOCHS):
                model.partial_fit(x, y, classes=np.arange(10))
                per_epoch.append(rss_mb())
    else:
        import torch

        model = contestants.torch_network(spec)
        inputs, labels = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        optimizer = torch.optim.Adam(model.parameters(), lr=spec["lr"])
        loss_function = torch.nn.CrossEntropyLoss()
        for _ in range(EPOCHS):
            order = torch.randperm(len(labels))
            for start in range(0, len(labels), spec["batch_size"]):
                index = order[start : start + spec["batch_size"]]
                optimizer.zero_grad(set_to_none=True)
                loss_function(model(inputs[index]), labels[index]).backward()
                optimizer.step()
            per_epoch.append(rss_mb())
    peak = peak_mb()
    print(
        json.dumps(
            {
                "after_import": after_import,
                "after_data": after_data,
                "per_epoch": per_epoch,
                "peak": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
