"""The training monitor, the diagnosis, the pictures and ``glassnet inspect``."""

import csv
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import cli
from glassnet.diagnosis import diagnose, find_plateau
from glassnet.training.monitor import LAYER_STATISTICS, Monitor


def _network(activation, weights, bias, output="sigmoid", loss="mse"):
    """A 2-3-1 network whose first layer has the given weights and bias."""
    network = gn.NeuralNetwork.from_sizes(
        (2, 3, 1), activation=activation, output_activation=output, loss=loss, random_state=0
    )
    network.layers[0].weights = weights
    network.layers[0].bias = bias
    return network


def _probe():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, size=(50, 2))
    return x, (x[:, 0] > 0.5).astype(float)


def test_every_sigmoid_unit_saturated_when_all_pre_activations_exceed_ten():
    x, y = _probe()
    network = _network("sigmoid", np.zeros((2, 3)), np.full(3, 12.0))
    monitor = Monitor(x, y)
    monitor(network, 0, {"loss": 1.0})
    assert monitor.series("saturated")[0, 0] == 1.0
    assert np.isnan(monitor.series("dead")[0, 0])  # sigmoid units cannot die
    assert monitor.series("z_mean")[0, 0] == pytest.approx(12.0)
    assert monitor.series("z_std")[0, 0] == pytest.approx(0.0)


def test_no_sigmoid_unit_saturated_near_zero():
    x, y = _probe()
    network = _network("sigmoid", np.full((2, 3), 0.1), np.zeros(3))
    monitor = Monitor(x, y)
    monitor(network, 0, {"loss": 1.0})
    assert monitor.series("saturated")[0, 0] == 0.0


def test_every_relu_dead_when_all_pre_activations_are_negative():
    x, y = _probe()
    network = _network("relu", np.full((2, 3), -1.0), np.full(3, -0.5))
    monitor = Monitor(x, y)
    monitor(network, 0, {"loss": 1.0})
    assert monitor.series("dead")[0, 0] == 1.0
    assert monitor.series("a_mean")[0, 0] == 0.0
    # no gradient reaches the dead layer's weights
    assert monitor.series("grad_norm")[0, 0] == 0.0
    lines = diagnose(monitor)
    assert any("dead ReLUs: layer 1 (relu, 3 units) has 100% of its units (3)" in s for s in lines)


def test_one_of_three_relus_dead():
    x, y = _probe()
    network = _network("relu", np.array([[1.0, -1.0, 1.0], [1.0, -1.0, 0.5]]), np.zeros(3))
    monitor = Monitor(x, y)
    monitor(network, 0, {"loss": 1.0})
    assert monitor.series("dead")[0, 0] == pytest.approx(1 / 3)


def test_monitor_during_training_records_norms_and_keeps_training_unchanged():
    x, y = _probe()
    plain = gn.NeuralNetwork.from_sizes((2, 4, 1), activation="tanh", random_state=3)
    watched = plain.copy()
    monitor = Monitor(x, y, every=2, snapshot_epochs=[1, 3])
    monitor.snapshot(watched)
    plain.train(x, y, epochs=5, batch_size=8, validation_data=(x, y))
    watched.train(x, y, epochs=5, batch_size=8, validation_data=(x, y), callbacks=[monitor])
    np.testing.assert_array_equal(plain.parameters, watched.parameters)
    assert plain.history.loss == watched.history.loss
    assert monitor.epochs == [1, 3, 5]
    assert sorted(monitor.snapshots) == [0, 1, 3]
    assert monitor.loss == watched.history.loss
    assert monitor.val_loss == watched.history.val_loss
    norms = monitor.series("weight_norm")
    assert norms.shape == (3, 2)
    assert norms[-1, 0] == pytest.approx(np.linalg.norm(watched.layers[0].weights))
    updates = monitor.series("update_norm")
    assert np.isnan(updates[0]).all() and (updates[1:] > 0).all()
    ratio = monitor.series("update_ratio")
    np.testing.assert_allclose(ratio[1:], updates[1:] / norms[1:])
    assert (monitor.series("grad_norm") > 0).all()
    assert monitor.layers == ["layer 1 (tanh, 4 units)", "layer 2 (identity, 1 unit)"]


def test_monitor_restores_the_gradient_buffer():
    x, y = _probe()
    network = gn.NeuralNetwork.from_sizes((2, 4, 1), random_state=0)
    network.gradients[...] = 7.0
    Monitor(x, y)(network, 0, {"loss": 0.5})
    assert (network.gradients == 7.0).all()


def test_monitor_without_probe_says_how_to_give_one():
    network = gn.NeuralNetwork.from_sizes((2, 3, 1), random_state=0)
    with pytest.raises(ValueError, match=r"no probe batch: pass Monitor\(x, y\)"):
        network.train(*_probe(), epochs=1, callbacks=[Monitor()])


def test_monitor_bad_arguments():
    with pytest.raises(ValueError, match="every"):
        Monitor(every=0)
    with pytest.raises(ValueError, match="snapshot_epochs"):
        Monitor(snapshot_epochs=[-1])
    with pytest.raises(ValueError, match="probe_x must be a non-empty 2-D"):
        Monitor(np.zeros(3))
    with pytest.raises(ValueError, match="probe_y must have one row per row"):
        Monitor(np.zeros((4, 2)), np.zeros(3))


def test_probe_is_at_most_probe_size_rows():
    monitor = Monitor(np.arange(2000.0).reshape(1000, 2), np.zeros(1000), probe_size=256)
    assert monitor.probe_x is not None and monitor.probe_x.shape == (256, 2)
    assert monitor.probe_x[0, 0] == 0 and monitor.probe_x[-1, 0] == 1998


def test_json_and_csv(tmp_path):
    x, y = _probe()
    network = gn.NeuralNetwork.from_sizes((2, 3, 2), activation="relu", random_state=1)
    monitor = Monitor(x, y.astype(int))
    network.train(x, y.astype(int), epochs=3, callbacks=[monitor])
    monitor.write_json(tmp_path / "m.json")
    monitor.write_csv(tmp_path / "m.csv")
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["epoch"] == [1, 2, 3]
    assert len(data["grad_norm"]) == 3 and len(data["grad_norm"][0]) == 2
    assert data["saturated"][0][0] is None  # ReLU units do not saturate
    rows = list(csv.reader(open(tmp_path / "m.csv")))
    assert rows[0][:3] == ["epoch", "loss", "probe_loss"]
    assert len(rows[0]) == 3 + 2 * len(LAYER_STATISTICS) and len(rows) == 4


def _monitor_with(loss, grads=None, val_loss=()):
    """A monitor filled by hand: ``loss`` per epoch, gradient norms per epoch and layer."""
    monitor = Monitor()
    monitor.loss = list(loss)
    monitor.val_loss = list(val_loss)
    if grads is not None:
        grads = np.asarray(grads, dtype=float)
        monitor.layers = [f"layer {i + 1} (sigmoid, 4 units)" for i in range(grads.shape[1])]
        monitor.units = [4] * grads.shape[1]
        for epoch, row in enumerate(grads):
            stats = np.full((grads.shape[1], len(LAYER_STATISTICS)), 0.5)
            stats[:, LAYER_STATISTICS.index("grad_norm")] = row
            stats[:, LAYER_STATISTICS.index("saturated")] = [1.0] * (grads.shape[1] - 1) + [0.0]
            monitor._rows.append(stats)
            monitor._recorded_loss.append(loss[epoch])
            monitor.epochs.append(epoch + 1)
    return monitor


def test_diagnosis_of_a_forced_plateau_names_start_gradients_and_saturated_layers():
    loss = np.concatenate([np.linspace(0.3, 0.1, 20), np.full(180, 0.1)])
    grads = np.concatenate([np.full((20, 2), 0.05), np.full((180, 2), 0.005)])
    lines = diagnose(_monitor_with(loss, grads))
    text = "\n".join(lines)
    assert "flat from epoch 20 to the end (epoch 200, 181 epochs)" in text
    assert "10.0 times smaller (median over the layers) than at epoch 1" in text
    assert "saturated units on the plateau (epoch 200): layer 1 (sigmoid, 4 units): 100%" in text
    assert "saturation: layer 1" in text


def test_diagnosis_of_a_plateau_left():
    loss = np.concatenate([np.full(100, 0.1), np.linspace(0.1, 0.02, 20), np.full(20, 0.02)])
    plateau = find_plateau(loss)
    assert plateau is not None and plateau.start == 1 and plateau.end in (100, 101)
    assert plateau.left_at is not None and 100 < plateau.left_at < 110
    assert "the run left it at epoch" in diagnose(_monitor_with(loss))[0]


def test_diagnosis_of_divergence_and_exploding_gradients():
    loss = [1.0, 0.5, 0.4, 2.0, 50.0]
    grads = [[1.0, 1.0], [1.0, 1.0], [2.0, 1.0], [50.0, 3.0], [900.0, 5.0]]
    text = "\n".join(diagnose(_monitor_with(loss, grads)))
    assert "divergence: the training loss rose from 0.4 at epoch 3 to 50 at epoch 5" in text
    assert "exploding gradients: layer 1 (sigmoid, 4 units)'s gradient norm grew from 1" in text
    assert "(900 times)" in text
    assert "became nan at epoch 2" in diagnose(_monitor_with([1.0, float("nan")]))[0]


def test_diagnosis_of_vanishing_gradients():
    text = "\n".join(diagnose(_monitor_with([1.0, 0.9], [[1e-6, 1.0], [1e-7, 1.0]])))
    assert "vanishing gradients: at epoch 2 the first layer's gradient norm is 1e-07" in text


def test_diagnosis_of_overfitting():
    loss = np.linspace(1.0, 0.1, 40)
    val = np.concatenate([np.linspace(1.0, 0.5, 20), np.linspace(0.5, 0.9, 20)])
    text = "\n".join(diagnose(_monitor_with(loss, val_loss=val)))
    assert "overfitting: the validation loss rose from 0.5 at epoch 20 to 0.9 at epoch 40" in text


def test_diagnosis_without_monitoring_says_what_is_missing():
    history = gn.History(loss=[0.5, 0.4, 0.3])
    lines = diagnose(history)
    assert "nothing unusual" in lines[0]
    assert any("no per-layer dynamics were recorded" in s for s in lines)
    assert any("no validation loss was recorded" in s for s in lines)
    assert diagnose(gn.History()) == ["nothing was recorded: the network has not been trained"]
    assert gn.diagnose is diagnose
    with pytest.raises(TypeError, match="takes a History, a Monitor or a NeuralNetwork"):
        diagnose([1.0])  # type: ignore[arg-type]


def test_pictures_are_written(tmp_path):
    from glassnet import pictures

    x, y = _probe()
    labels = y.astype(int)
    network = gn.NeuralNetwork.from_sizes((2, 5, 3, 2), activation="tanh", random_state=0)
    monitor = Monitor(x, labels, snapshot_epochs=[1, 2, 3])
    monitor.snapshot(network)
    network.train(x, labels, epochs=3, callbacks=[monitor])
    pictures.plot_neuron_maps(network, tmp_path / "neurons.png", x, labels, resolution=16)
    pictures.plot_network_graph(network, tmp_path / "network.png")
    pictures.plot_training_dynamics(monitor, tmp_path / "dynamics.png", plateau=(1, 2))
    frames = pictures.animate_training(
        network, monitor.snapshots, x, labels, tmp_path / "training.gif", resolution=16
    )
    assert frames == 4
    for name in ("neurons.png", "network.png", "dynamics.png", "training.gif"):
        size = (tmp_path / name).stat().st_size
        assert 2_000 < size < 5_000_000, (name, size)
    assert (tmp_path / "training.gif").read_bytes()[:3] == b"GIF"
    wide = gn.NeuralNetwork.from_sizes((3, 60, 2), random_state=0)
    pictures.plot_network_graph(wide, tmp_path / "heatmaps.png")  # heatmaps instead
    assert (tmp_path / "heatmaps.png").stat().st_size > 2_000
    with pytest.raises(ValueError, match="2 inputs over the input plane; this one has 3"):
        pictures.plot_neuron_maps(wide, tmp_path / "no.png")


def _saved_model(tmp_path, n_inputs=2):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, n_inputs))
    y = (x[:, 0] > 0).astype(int)
    network = gn.NeuralNetwork.from_sizes((n_inputs, 4, 2), activation="relu", random_state=0)
    network.train(x, y, epochs=2)
    path = tmp_path / "model.safetensors"
    gn.save(network, path)
    data = tmp_path / "data.csv"
    header = ",".join(f"x{i + 1}" for i in range(n_inputs))
    np.savetxt(data, x, delimiter=",", header=header, comments="")
    return path, data


def test_inspect_writes_summary_maps_and_statistics(tmp_path, capsys):
    model, data = _saved_model(tmp_path)
    out = tmp_path / "inspect"
    assert cli.main(["inspect", str(model), "--data", str(data), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["activations.csv", "network.png", "neurons.png", "summary.txt"]
    rows = list(csv.DictReader(open(out / "activations.csv")))
    assert [r["layer"] for r in rows] == ["1", "2"]
    assert (
        "Dense" in (out / "summary.txt").read_text() or "layer" in (out / "summary.txt").read_text()
    )
    assert "layer 1" in capsys.readouterr().out


def test_inspect_without_data_and_with_more_inputs(tmp_path, capsys):
    model, _ = _saved_model(tmp_path, n_inputs=3)
    out = tmp_path / "inspect"
    assert cli.main(["inspect", str(model), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["network.png", "summary.txt"]
    assert "skipped" in capsys.readouterr().err


def test_inspect_on_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    assert cli.main(["inspect", str(bad), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "notes.txt" in error
    assert not (tmp_path / "o").exists()


def test_run_dynamics_of_a_plateau_left_gives_its_extent_gradient_ratio_and_states():
    from glassnet.diagnosis import layer_state, run_dynamics

    loss = np.concatenate([np.full(100, 0.1), np.linspace(0.1, 0.02, 20), np.full(20, 0.02)])
    grads = np.concatenate([np.full((1, 2), 0.04), np.full((119, 2), 0.002), np.full((20, 2), 0.1)])
    monitor = _monitor_with(loss, grads)
    dynamics = run_dynamics(monitor, at_epochs=(1, 50, 1000))
    plateau = find_plateau(loss)
    assert dynamics.plateau == plateau and dynamics.epochs == 140
    assert dynamics.plateau_loss == pytest.approx(0.1)
    assert dynamics.gradient_ratio == pytest.approx([0.05, 0.05])  # 0.002 / 0.04, the median
    assert dynamics.start.first == 1 and dynamics.end.last == 140
    assert dynamics.end.grad_norm == pytest.approx([0.1, 0.1])
    assert dynamics.end.saturated == [1.0, 0.0]
    assert sorted(dynamics.at) == [1, 50]  # no record at epoch 1000
    assert dynamics.at[50].loss is None  # this monitor kept no probe losses
    data = dynamics.as_dict()
    assert data["plateau"] == {
        "start": plateau.start,
        "end": plateau.end,
        "left_at": plateau.left_at,
        "loss": pytest.approx(0.1),
    }
    assert set(data["at"]) == {"1", "50"}
    json.dumps(data, allow_nan=False)
    stretch = layer_state(monitor, 2, 100)
    assert stretch is not None and (stretch.first, stretch.last) == (2, 100)
    assert layer_state(monitor, 500) is None


def test_run_dynamics_of_a_short_run_has_no_plateau_and_needs_a_record():
    from glassnet.diagnosis import run_dynamics

    x, y = _probe()
    network = _network("relu", np.full((2, 3), 0.5), np.zeros(3))
    monitor = Monitor(x, y)
    with pytest.raises(ValueError, match="recorded at least once"):
        run_dynamics(monitor)
    monitor.record(network, 0)
    network.train(x, y.astype(int), epochs=2, callbacks=[monitor])
    dynamics = run_dynamics(monitor, at_epochs=(0,))
    assert dynamics.plateau is None and dynamics.on_plateau is None
    assert dynamics.gradient_ratio is None
    assert dynamics.start.first == 0 and dynamics.start.loss is not None
    assert dynamics.start.saturated == [None, 0.0]  # ReLU units do not saturate
    json.dumps(dynamics.as_dict(), allow_nan=False)


def test_the_plateau_is_the_first_flat_stretch_not_where_the_run_converged():
    # 60 flat epochs near 0.09, a fall, then 200 flat epochs near 0.02: the run converged there
    loss = np.concatenate([np.full(60, 0.09), np.linspace(0.09, 0.02, 20), np.full(200, 0.02)])
    plateau = find_plateau(loss)
    assert plateau is not None and plateau.start == 1 and 60 <= plateau.end < 70
    assert plateau.left_at is not None and plateau.left_at < 80
