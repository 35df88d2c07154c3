"""Export to ONNX: a network or a fitted estimator as a graph of standard operators.

:func:`to_onnx` turns a :class:`~glassnet.NeuralNetwork`, a fitted
:class:`~glassnet.estimators.NeuralNetworkClassifier` or a fitted
:class:`~glassnet.estimators.NeuralNetworkRegressor` into an ONNX model (``pip install
glassnet[onnx]``) that onnxruntime and any other ONNX runtime can run. :func:`register_skl2onnx`
teaches skl2onnx the estimators, so that a scikit-learn pipeline that ends in one converts with
``skl2onnx.to_onnx``; importing this module registers them when skl2onnx is installed.

The graph computes what glassnet computes, formula for formula, so that a runtime's outputs equal
glassnet's to rounding:

* each layer is ``MatMul`` then ``Add`` (``z = x @ W + b``, as :func:`glassnet.model.plan.infer`);
* ``relu`` is ``Relu``, ``tanh`` ``Tanh``, ``identity`` nothing; ``leaky_relu`` is
  ``Max(z, alpha·z)`` (``LeakyRelu``'s ``alpha`` is a float32 attribute, which would round
  glassnet's float64 slope); ``sigmoid`` is ``0.5·tanh(z/2) + 0.5``, glassnet's formula, rather
  than ``Sigmoid`` (the two differ in the far tails, where glassnet's rounds to 0); ``softplus``
  is ``max(z, 0) + log1p(exp(max(−|z|, floor)))`` with ``log1p`` spelled in standard operators;
  ``exp`` clips ``z`` to glassnet's floor and ceiling first; ``softmax`` is
  ``exp(max(z − max z, floor)) / Σ`` (``Softmax`` has no floor). The bounds are those of
  :func:`glassnet.model.activations.exp_floor` and ``exp_ceiling`` in the exported dtype.
* A classifier's ``probabilities`` follow :func:`glassnet.model.probabilities.class_probabilities`
  (a single unit ``p`` gives ``[1 − p, p]``; outputs other than softmax are clipped at 0 and
  scaled to sum to 1) and its ``label`` is the class of the largest probability, taken from the
  classes as they are (int64 for integer classes, strings for text). A multilabel classifier's
  ``probabilities`` are its outputs clipped to ``[0, 1]`` and its ``label`` the int64 indicator
  matrix (1 where above 0.5).

Outputs that overflow (inputs far too large for the weights) are not made robust as glassnet's
:meth:`~glassnet.NeuralNetwork.predict_proba` makes them: the graph gives what the arithmetic gives.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_dtype
from ._version import __version__
from .files.atomic import PathArgument, atomic_write, check_save_target
from .model import activations
from .model.activations import exp_ceiling, exp_floor
from .network import NeuralNetwork

if TYPE_CHECKING:
    import onnx

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "register_skl2onnx", "to_onnx"]

#: the opset :func:`to_onnx` writes unless told otherwise (onnxruntime 1.13 and later run it)
DEFAULT_OPSET = 17
#: the oldest opset the graph can be written in (``ReduceSum`` takes its axes as an input)
MIN_OPSET = 13

_INSTALL = "pip install glassnet[onnx]"


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            f"exporting to ONNX needs the onnx package, which is not installed ({_INSTALL})"
        ) from error
    return onnx


# ====================================================================== what is exported
class _Target:
    """What a model exports: its network, and how outputs become labels.

    ``kind`` is ``"network"`` (output ``variable``, plus ``label`` and ``probabilities`` for a
    classification network), ``"regressor"``, ``"classifier"`` or ``"multilabel"``.
    """

    def __init__(self, model: object) -> None:
        self.classes: np.ndarray | None = None
        if isinstance(model, NeuralNetwork):
            self.network = model
            self.kind = "network"
            self.name = "NeuralNetwork"
        else:
            self.network, self.kind = _estimator_parts(model)
            self.name = type(model).__name__
            if self.kind == "classifier":
                self.classes = _label_constant(model.classes_)  # type: ignore[attr-defined]
        if not self.network.layers:
            raise ValueError("to_onnx needs a network with layers, got one without any")
        for index, layer in enumerate(self.network.layers):
            _check_activation(layer.activation, index)
        self.classification = self.kind in ("classifier", "multilabel") or (
            self.kind == "network" and self.network.task == "classification"
        )


def _estimator_parts(model: object) -> tuple[NeuralNetwork, str]:
    """The network of a fitted glassnet estimator and what it exports."""
    module = type(model).__module__ or ""
    name = type(model).__name__
    if not (module.startswith("glassnet") and name.startswith("NeuralNetwork")):
        raise TypeError(
            "model must be a glassnet NeuralNetwork, NeuralNetworkClassifier or "
            f"NeuralNetworkRegressor, got {name} {model!r:.80}"
        )
    network = getattr(model, "network_", None)
    if not isinstance(network, NeuralNetwork):
        raise ValueError(f"this {name} is not fitted yet: call fit before exporting it")
    if not hasattr(model, "classes_"):
        return network, "regressor"
    multilabel = bool(model._is_multilabel())  # type: ignore[attr-defined]
    return network, "multilabel" if multilabel else "classifier"


def _label_constant(classes: np.ndarray) -> np.ndarray:
    """The classes as an ONNX label tensor holds them: int64 for integers (and integral
    floats, as skl2onnx does), strings for text."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if np.all(np.isfinite(classes)) and np.array_equal(classes, np.round(classes)):
            return classes.astype(np.int64)
        raise ValueError(
            f"classes_ must be integers or strings to be exported as ONNX labels, got "
            f"{classes.tolist()!r:.100}"
        )
    if all(isinstance(label, str) for label in classes.tolist()):
        return np.array(classes.tolist(), dtype=object)
    raise ValueError(
        f"classes_ must be integers or strings to be exported as ONNX labels, got "
        f"{classes.tolist()!r:.100}"
    )


#: the activations the graph can compute, by their classes (a subclass may change the formula)
_EXPORTABLE: dict[type[activations.Activation], str] = {
    activations.Identity: "identity",
    activations.ReLU: "relu",
    activations.LeakyReLU: "leaky_relu",
    activations.Sigmoid: "sigmoid",
    activations.Tanh: "tanh",
    activations.Softplus: "softplus",
    activations.Exponential: "exp",
    activations.Softmax: "softmax",
}


def _check_activation(activation: activations.Activation, index: int) -> None:
    if type(activation) not in _EXPORTABLE:
        known = ", ".join(sorted(set(_EXPORTABLE.values())))
        raise ValueError(
            f"layer {index} has the activation {activation.name!r} "
            f"({type(activation).__name__}), which cannot be exported to ONNX: only glassnet's "
            f"own activations can ({known})"
        )


# ====================================================================== the graph
class _Graph:
    """Where nodes and constants go: a plain list here, skl2onnx's container in a pipeline.

    ``node(op, inputs, **attributes)`` returns the name of the node's output; ``constant(value)``
    the name of a new initializer.
    """

    def __init__(self, dtype: np.dtype, opset: int) -> None:
        self.dtype = dtype
        self.opset = opset
        self.onnx = _import_onnx()

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        raise NotImplementedError

    def constant(self, value: np.ndarray, hint: str) -> str:
        raise NotImplementedError

    def scalar(self, value: float | np.ndarray, hint: str) -> str:
        return self.constant(np.asarray(value, self.dtype), hint)

    def reduce(self, op: str, x: str) -> str:
        """``op`` (``ReduceMax`` or ``ReduceSum``) over each row, keeping the axis."""
        if op == "ReduceSum" or self.opset >= 18:  # axes became an input
            axes = self.constant(np.array([1], np.int64), "axes")
            return self.node(op, [x, axes], keepdims=1)
        return self.node(op, [x], axes=[1], keepdims=1)


class _ProtoGraph(_Graph):
    """Nodes and initializers for :func:`to_onnx`'s own model."""

    def __init__(self, dtype: np.dtype, opset: int) -> None:
        super().__init__(dtype, opset)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        output = output or self._name(op.lower())
        name = self._name(op)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def constant(self, value: np.ndarray, hint: str) -> str:
        name = self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name


class _ContainerGraph(_Graph):
    """Nodes and initializers added to skl2onnx's ``scope`` and ``container``."""

    def __init__(self, scope: Any, container: Any, dtype: np.dtype) -> None:
        super().__init__(dtype, int(container.target_opset))
        self.scope = scope
        self.container = container

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        output = output or self.scope.get_unique_variable_name(op.lower())
        name = self.scope.get_unique_operator_name(op)
        self.container.add_node(op, inputs, output, name=name, **attrs)
        return output

    def constant(self, value: np.ndarray, hint: str) -> str:
        name = self.scope.get_unique_variable_name(hint)
        if value.dtype == object:
            strings = [str(label).encode() for label in value.tolist()]
            self.container.add_initializer(
                name, self.onnx.TensorProto.STRING, list(value.shape), strings
            )
        else:
            tensor = self.onnx.numpy_helper.from_array(value, name)
            self.container.add_initializer(name, tensor.data_type, list(value.shape), tensor)
        return name


def _activate(graph: _Graph, activation: activations.Activation, z: str) -> str:
    """The nodes of ``activation`` on ``z`` (see the module's docstring for each formula)."""
    kind = _EXPORTABLE[type(activation)]
    dtype = graph.dtype
    if kind == "identity":
        return z
    if kind == "relu":
        return graph.node("Relu", [z])
    if kind == "tanh":
        return graph.node("Tanh", [z])
    if kind == "leaky_relu":
        alpha = graph.scalar(activation.alpha, "alpha")  # type: ignore[attr-defined]
        return graph.node("Max", [z, graph.node("Mul", [z, alpha])])
    if kind == "sigmoid":  # 0.5·tanh(0.5·z) + 0.5, as Sigmoid.forward
        half = graph.scalar(0.5, "half")
        squashed = graph.node("Tanh", [graph.node("Mul", [z, half])])
        return graph.node("Add", [graph.node("Mul", [squashed, half]), half])
    if kind == "softplus":  # max(z, 0) + log1p(exp(max(−|z|, floor)))
        floor = graph.scalar(exp_floor(dtype), "exp_floor")
        tail = graph.node("Neg", [graph.node("Abs", [z])])
        tail = graph.node("Exp", [graph.node("Max", [tail, floor])])
        positive = graph.node("Max", [z, graph.scalar(0.0, "zero")])
        return graph.node("Add", [positive, _log1p(graph, tail)])
    if kind == "exp":
        floor = graph.scalar(exp_floor(dtype), "exp_floor")
        ceiling = graph.scalar(exp_ceiling(dtype), "exp_ceiling")
        return graph.node("Exp", [graph.node("Clip", [z, floor, ceiling])])
    # softmax: exp(max(z − max(z), floor)) / Σ, as Softmax.forward
    shifted = graph.node("Sub", [z, graph.reduce("ReduceMax", z)])
    exps = graph.node(
        "Exp", [graph.node("Max", [shifted, graph.scalar(exp_floor(dtype), "floor")])]
    )
    return graph.node("Div", [exps, graph.reduce("ReduceSum", exps)])


def _log1p(graph: _Graph, t: str) -> str:
    """``log(1 + t)`` for ``t`` in ``(0, 1]``, to a few units in the last place.

    ONNX has no ``Log1p``; ``log(u)·t/(u − 1)`` with ``u = 1 + t`` corrects the rounding of
    ``u`` (Goldberg's identity), and where ``u`` rounds to 1 the answer is ``t`` itself.
    """
    one = graph.scalar(1.0, "one")
    u = graph.node("Add", [t, one])
    rounded = graph.node("Sub", [u, one])
    tiny = graph.node("Equal", [rounded, graph.scalar(0.0, "zero")])
    divisor = graph.node("Where", [tiny, one, rounded])  # no division by 0, even unused
    corrected = graph.node("Mul", [graph.node("Log", [u]), graph.node("Div", [t, divisor])])
    return graph.node("Where", [tiny, t, corrected])


def _layers(graph: _Graph, network: NeuralNetwork, x: str) -> tuple[str, str]:
    """Every layer on ``x``; returns the output layer's logits ``z`` and its output ``a``."""
    h = x
    z = x
    for index, layer in enumerate(network.layers):
        weights = graph.constant(layer.weights.astype(graph.dtype), f"W{index}")
        bias = graph.constant(layer.bias.astype(graph.dtype), f"b{index}")
        z = graph.node("Add", [graph.node("MatMul", [h, weights]), bias])
        h = _activate(graph, layer.activation, z)
    return z, h


def _probabilities(graph: _Graph, network: NeuralNetwork, output: str, into: str) -> str:
    """Class probabilities from the network's output, as ``class_probabilities`` computes them."""
    activation = network.layers[-1].activation
    if isinstance(activation, activations.Softmax):
        return graph.node("Identity", [output], into)
    zero, one = graph.scalar(0.0, "zero"), graph.scalar(1.0, "one")
    if network.n_outputs == 1:  # p → [1 − p, p]
        p = graph.node("Clip", [output, zero, one])
        return graph.node("Concat", [graph.node("Sub", [one, p]), p], into, axis=1)
    # clip at 0, divide by the row's peak (an all-zero row becomes uniform), then by the sum
    scores = graph.node("Max", [output, zero])
    peak = graph.reduce("ReduceMax", scores)
    empty = graph.node("Equal", [peak, zero])
    scores = graph.node("Where", [empty, one, scores])
    peak = graph.node("Where", [empty, one, peak])
    scores = graph.node("Div", [scores, peak])
    return graph.node("Div", [scores, graph.reduce("ReduceSum", scores)], into)


def _body(graph: _Graph, target: _Target, x: str, outputs: dict[str, str]) -> None:
    """The whole graph from the input ``x`` to the named ``outputs`` (``variable``, ``label``,
    ``probabilities``, as ``target`` has them; the values are the names to give them)."""
    network = target.network
    logits, output = _layers(graph, network, x)
    if target.kind in ("network", "regressor"):
        graph.node("Identity", [output], outputs["variable"])
    if target.kind == "multilabel":
        zero, one = graph.scalar(0.0, "zero"), graph.scalar(1.0, "one")
        probabilities = graph.node("Clip", [output, zero, one], outputs["probabilities"])
        above = graph.node("Greater", [probabilities, graph.scalar(0.5, "half")])
        graph.node("Cast", [above], outputs["label"], to=graph.onnx.TensorProto.INT64)
        return
    if not target.classification:
        return
    probabilities = _probabilities(graph, network, output, outputs["probabilities"])
    if target.kind == "classifier":  # classes_[argmax(probabilities)], as predict
        index = graph.node("ArgMax", [probabilities], axis=1, keepdims=0)
        assert target.classes is not None  # a classifier's target has its classes
        classes = graph.constant(target.classes, "classes")
        graph.node("Gather", [classes, index], outputs["label"], axis=0)
        return
    # a classification network: its predict takes the largest logit of a softmax or sigmoid
    name = network.layers[-1].activation.name
    if name in ("softmax", "sigmoid") and network.n_outputs == 1:
        above = graph.node("GreaterOrEqual", [logits, graph.scalar(0.0, "zero")])
        flat = graph.node("Squeeze", [above, graph.constant(np.array([1], np.int64), "axes")])
        graph.node("Cast", [flat], outputs["label"], to=graph.onnx.TensorProto.INT64)
    else:
        scores = logits if name in ("softmax", "sigmoid") else probabilities
        graph.node("ArgMax", [scores], outputs["label"], axis=1, keepdims=0)


def _output_names(target: _Target) -> list[str]:
    if target.kind == "regressor":
        return ["variable"]
    if target.kind == "network":
        return ["variable", "label", "probabilities"] if target.classification else ["variable"]
    return ["label", "probabilities"]


# ====================================================================== to_onnx
def _scaling(
    scaling: tuple[object, object], size: int, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, scale)`` checked (``size`` finite values each, scales positive), with the power
    of two in ``(scale / 2, scale]`` that standardisation computes in."""
    if not isinstance(scaling, (tuple, list)) or len(scaling) != 2:
        raise TypeError(f"{name} must be a (mean, scale) pair, got {scaling!r:.80}")
    mean, scale = (np.asarray(part, dtype=np.float64).reshape(-1) for part in scaling)
    for part, what in ((mean, "mean"), (scale, "scale")):
        if part.shape != (size,) or not np.isfinite(part).all():
            raise ValueError(f"{name}'s {what} must hold {size} finite numbers, got {part!r:.80}")
    if (scale <= 0).any():
        raise ValueError(f"{name}'s scale must be positive, got {scale!r:.80}")
    _, exponent = np.frexp(scale)
    return mean, scale, np.ldexp(1.0, exponent - 1)


def _check_opset(opset: object, onnx: Any) -> int:
    newest = int(onnx.defs.onnx_opset_version())
    if (
        not isinstance(opset, (int, np.integer))
        or isinstance(opset, bool)
        or not MIN_OPSET <= opset <= newest
    ):
        raise ValueError(
            f"opset must be an integer from {MIN_OPSET} to {newest} (the newest this onnx "
            f"package knows), got {opset!r:.40}"
        )
    return int(opset)


def to_onnx(
    model: object,
    path: PathArgument | None = None,
    *,
    dtype: str | np.dtype | None = None,
    opset: int = DEFAULT_OPSET,
    input_scaling: tuple[object, object] | None = None,
    output_scaling: tuple[object, object] | None = None,
    classes: object = None,
) -> onnx.ModelProto:
    """Export a network or a fitted estimator to ONNX (needs ``pip install glassnet[onnx]``).

    Parameters
    ----------
    model : NeuralNetwork, NeuralNetworkClassifier or NeuralNetworkRegressor
        A network with layers, or a fitted estimator. Every layer's activation must be one of
        glassnet's own (a custom registered activation is refused).
    path : str or os.PathLike, optional
        Also write the model there, atomically (a regular file there is replaced; a folder or a
        device is refused before anything is written).
    dtype : {"float32", "float64"}, optional
        What the graph computes in and takes (default: the network's dtype).
    opset : int, default=17
        The ONNX operator set, from 13 to the newest the installed onnx knows.
    input_scaling, output_scaling : tuple (mean, scale) of arrays, optional
        For a network trained on standardised data (``glassnet train --standardize`` and
        ``--standardize-target`` keep these): the graph takes the raw ``X`` and computes
        ``(X − mean) / scale`` first, and returns ``variable · scale + mean``, in the same
        operations (and units of a power of two near ``scale``) as ``glassnet predict``.
    classes : sequence of labels, optional
        For a classification network: ``label`` gives ``classes[index]`` instead of the index
        (as ``glassnet predict`` writes the labels it was trained on).

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape ``(N, n_inputs)``, ``N`` any batch size. Outputs:

        * a network or a regressor: ``variable``, shape ``(N, n_outputs)`` (the network's
          output: one column is kept as a column, as skl2onnx does);
        * a classifier: ``label``, shape ``(N,)`` (int64 or string, the classes themselves) and
          ``probabilities``, shape ``(N, n_classes)``; a multilabel classifier's ``label`` is
          the int64 indicator matrix ``(N, n_labels)``;
        * a classification network: ``variable``, and ``label`` (int64 class indices, as
          :meth:`NeuralNetwork.predict`) and ``probabilities`` (as ``predict_proba``).

        ``metadata_props`` hold ``glassnet_version``, ``glassnet_model`` (the class),
        ``glassnet_config`` (``network.get_config()`` as JSON) and, for a classifier,
        ``glassnet_classes`` (JSON).

    Raises
    ------
    ImportError
        When the onnx package is not installed.
    TypeError
        For anything else than a glassnet network or estimator.
    ValueError
        For an unfitted estimator, a network without layers, an activation that cannot be
        exported (named), a bad ``dtype`` or ``opset``, or a ``path`` that cannot be written.
    """
    onnx = _import_onnx()
    target = _Target(model)
    network = target.network
    resolved = network.dtype if dtype is None else check_dtype(dtype)
    opset = _check_opset(opset, onnx)
    if path is not None:
        path = check_save_target(path)
    elem = onnx.helper.np_dtype_to_tensor_dtype(resolved)
    graph = _ProtoGraph(resolved, opset)
    names = _output_names(target)
    x_name, renamed = "X", {name: name for name in names}
    if input_scaling is not None:
        mean, scale, power = _scaling(input_scaling, int(network.n_inputs or 0), "input_scaling")
        divided = graph.node("Div", ["X", graph.constant(power.astype(resolved), "power")])
        centred = graph.node("Sub", [divided, graph.constant((mean / power).astype(resolved), "m")])
        x_name = graph.node("Div", [centred, graph.constant((scale / power).astype(resolved), "s")])
    if output_scaling is not None:
        if "variable" not in names:
            raise ValueError("output_scaling is for a network or a regressor, not a classifier")
        renamed["variable"] = "standardised_variable"
    if classes is not None:
        if target.kind != "network" or not target.classification:
            raise ValueError("classes is for a classification network (estimators have theirs)")
        labels = np.asarray(classes)
        if labels.shape != (network.n_classes,):
            raise ValueError(
                f"classes must hold {network.n_classes} labels (one per class), got "
                f"{labels.shape[0] if labels.ndim else 'a scalar'}"
            )
        target.classes = _label_constant(labels)
        renamed["label"] = "label_index"
    _body(graph, target, x_name, renamed)
    if output_scaling is not None:
        mean, scale, power = _scaling(output_scaling, int(network.n_outputs or 0), "output_scaling")
        scaled = graph.node(
            "Mul", ["standardised_variable", graph.constant((scale / power).astype(resolved), "s")]
        )
        shifted = graph.node("Add", [scaled, graph.constant((mean / power).astype(resolved), "m")])
        graph.node("Mul", [shifted, graph.constant(power.astype(resolved), "power")], "variable")
    if classes is not None:
        assert target.classes is not None  # set above
        graph.node(
            "Gather", [graph.constant(target.classes, "classes"), "label_index"], "label", axis=0
        )
    batch = "N"
    shapes: dict[str, tuple[int, list[Any]]] = {
        "variable": (elem, [batch, network.n_outputs]),
        "probabilities": (elem, [batch, network.n_classes]),
    }
    if target.kind == "multilabel":
        shapes["label"] = (onnx.TensorProto.INT64, [batch, network.n_outputs])
    elif target.classes is not None and target.classes.dtype == object:
        shapes["label"] = (onnx.TensorProto.STRING, [batch])
    else:
        shapes["label"] = (onnx.TensorProto.INT64, [batch])
    outputs = [onnx.helper.make_tensor_value_info(name, *shapes[name]) for name in names]
    inputs = [onnx.helper.make_tensor_value_info("X", elem, [batch, network.n_inputs])]
    graph_proto = onnx.helper.make_graph(
        graph.nodes, f"glassnet_{target.name}", inputs, outputs, graph.initializers
    )
    opset_ids = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(
        graph_proto,
        opset_imports=opset_ids,
        producer_name="glassnet",
        producer_version=__version__,
        ir_version=onnx.helper.find_min_ir_version_for(opset_ids),
        doc_string=f"glassnet {__version__} {target.name} {network!r}",
    )
    metadata = {
        "glassnet_version": __version__,
        "glassnet_model": target.name,
        "glassnet_config": json.dumps(network.get_config(), sort_keys=True),
    }
    if target.classes is not None:
        metadata["glassnet_classes"] = json.dumps(target.classes.tolist())
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        atomic_write(path, proto.SerializeToString())
    return proto


# ====================================================================== skl2onnx
_SKL2ONNX_ALIASES = {
    "NeuralNetworkClassifier": "GlassnetNeuralNetworkClassifier",
    "NeuralNetworkRegressor": "GlassnetNeuralNetworkRegressor",
}


def _skl2onnx_shapes(operator: Any) -> None:
    """skl2onnx's shape calculator: the outputs' types from the input's and the estimator."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    target = _Target(operator.raw_operator)
    given = operator.inputs[0].type
    n = given.shape[0] if given.shape else None
    tensor = DoubleTensorType if isinstance(given, DoubleTensorType) else FloatTensorType
    network = target.network
    if target.kind == "regressor":
        operator.outputs[0].type = tensor([n, network.n_outputs])
        return
    if target.kind == "multilabel":
        operator.outputs[0].type = Int64TensorType([n, network.n_outputs])
    elif target.classes is not None and target.classes.dtype == object:
        operator.outputs[0].type = StringTensorType([n])
    else:
        operator.outputs[0].type = Int64TensorType([n])
    operator.outputs[1].type = tensor([n, network.n_classes])


def _skl2onnx_convert(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx's converter: the estimator's graph on the operator's input, in its dtype."""
    from skl2onnx.common.data_types import DoubleTensorType

    target = _Target(operator.raw_operator)
    given = operator.inputs[0].type
    dtype = np.dtype(np.float64 if isinstance(given, DoubleTensorType) else np.float32)
    graph = _ContainerGraph(scope, container, dtype)
    names = ["variable"] if target.kind == "regressor" else ["label", "probabilities"]
    outputs = {name: output.full_name for name, output in zip(names, operator.outputs)}
    _body(graph, target, operator.inputs[0].full_name, outputs)


def register_skl2onnx() -> bool:
    """Register glassnet's estimators with skl2onnx (done when this module is imported).

    Afterwards ``skl2onnx.to_onnx`` converts a pipeline that contains a fitted
    ``NeuralNetworkClassifier`` or ``NeuralNetworkRegressor``, computing in the dtype of the
    data that reaches it. A classifier takes skl2onnx's classifier options (``zipmap``:
    probabilities as a list of dictionaries by default, as for scikit-learn's classifiers).
    Returns whether skl2onnx is installed (nothing is registered without it).
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        return False
    from .estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

    estimator_classes: tuple[type, ...] = (NeuralNetworkClassifier, NeuralNetworkRegressor)
    for cls in estimator_classes:
        options: dict[str, list[Any]] | None = None
        if cls is NeuralNetworkClassifier:
            options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
        update_registered_converter(
            cls,
            _SKL2ONNX_ALIASES[cls.__name__],
            _skl2onnx_shapes,
            _skl2onnx_convert,
            options=options,
        )
    return True


def _register_quietly() -> None:
    # skl2onnx or scikit-learn may be missing or broken; exporting with to_onnx still works
    with contextlib.suppress(ImportError):
        register_skl2onnx()


_register_quietly()
