"""Subprocess helper for test_io.py: trains, saves or resumes, in a fresh interpreter."""

import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np

import glassnet as gn


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 6))  # big enough that training outlasts the tests' signals
    y = (np.sin(x[:, 0] * 2) + x[:, 1] * x[:, 2] > 0).astype(int) + (x[:, 3] > 1)
    return x, y


def network():
    net = gn.NeuralNetwork.from_sizes(
        [6, 64, 64, 3],
        activation="tanh",
        loss="cross_entropy",
        optimizer=gn.Adam(learning_rate=gn.schedules.ExponentialDecay(0.01, 0.5, 2000)),
        random_state=7,
    )
    return net


def main() -> None:
    command, path = sys.argv[1], sys.argv[2]
    x, y = data()
    options = {"validation_data": (x[:500], y[:500])}
    if command == "straight":
        net = network()
        net.train(
            x,
            y,
            epochs=8,
            batch_size=16,
            early_stopping=gn.EarlyStopping("val_loss", patience=100),
            **options,
        )
        gn.save(net, path)
    elif command == "checkpointed":
        net = network()
        print("ready", flush=True)
        net.train(
            x,
            y,
            epochs=8,
            batch_size=16,
            early_stopping=gn.EarlyStopping("val_loss", patience=100),
            checkpoint=path,
            checkpoint_every=1,
            **options,
        )
        print("returned", len(net.history), flush=True)
    elif command == "resume":
        net = gn.resume(path, x, y, **options)
        gn.save(net, sys.argv[3])
    elif command == "save-loop":
        big = gn.NeuralNetwork.from_sizes([1000, 1000, 2], random_state=0)
        print("ready", flush=True)
        version = 0
        while True:
            version += 1
            big.layers[1].bias[...] = version
            gn.save(big, path)


if __name__ == "__main__":
    main()
