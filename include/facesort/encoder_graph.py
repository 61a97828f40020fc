"""dlib's face encoder as an ONNX graph, built from the network read from its weights.

:func:`build_model` turns a :class:`facesort.dlib_weights.Network` into an ONNX model
(the ``onnx`` package): each ``affine`` layer folded into the convolution before it,
the input normalised inside the graph as dlib's ``input_rgb_image_sized`` does
((value - channel mean) / 256). Its input is what dlib's encoder sees: aligned
150x150 RGB chips made by ``dlib.get_face_chip`` (5 landmarks, padding 0.25).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from facesort.dlib_weights import Network

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def build_model(network: Network) -> Any:
    """The network as an ONNX model: uint8 chips (N, 150, 150, 3) -> (N, 128) float32."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []
    names = iter(range(1_000_000))

    def const(array: np.ndarray, hint: str) -> str:
        name = f"{hint}_{next(names)}"
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = f"{hint}_{next(names)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    # input_rgb_image_sized: (value - channel mean) / 256, channels first
    x = node("Cast", ["chips"], "float", to=TensorProto.FLOAT)
    x = node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    means = np.array(network.input_means, dtype=np.float32).reshape(1, 3, 1, 1)
    x = node("Sub", [x, const(means, "mean")], "centred")
    x = node("Mul", [x, const(np.array(1 / 256, dtype=np.float32), "scale")], "input")
    shape = (3, CHIP_SIZE, CHIP_SIZE)  # channels, rows, columns
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    layers = network.layers
    i = 0
    while i < len(layers):
        layer = layers[i]
        kind = layer.spec[0]
        if kind == "con":
            weights, bias = layer.values["weights"], layer.values["bias"]
            if i + 1 < len(layers) and layers[i + 1].spec[0] == "affine":
                # fold the affine layer into the convolution: scale * (w * x + b) + shift
                scale, shift = layers[i + 1].values["scale"], layers[i + 1].values["shift"]
                weights = weights * scale.reshape(-1, 1, 1, 1)
                bias = bias * scale + shift
                i += 1
            size, stride = layer.spec[2], layer.spec[3]
            pad_y, pad_x = layer.values["pads"]
            x = node(
                "Conv",
                [x, const(weights.astype(np.float32), "w"), const(bias.astype(np.float32), "b")],
                "con",
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[pad_y, pad_x, pad_y, pad_x],
            )
            shape = (
                weights.shape[0],
                1 + (shape[1] + 2 * pad_y - size) // stride,
                1 + (shape[2] + 2 * pad_x - size) // stride,
            )
        elif kind == "affine":
            scale = layer.values["scale"].reshape(1, -1, 1, 1)
            shift = layer.values["shift"].reshape(1, -1, 1, 1)
            x = node("Mul", [x, const(scale, "gamma")], "affine")
            x = node("Add", [x, const(shift, "beta")], "affine")
        elif kind == "relu":
            x = node("Relu", [x], "relu")
        elif kind in ("max_pool", "avg_pool"):
            size, stride = layer.spec[1], layer.spec[2]
            if size == 0:  # avg_pool_everything
                x = node("GlobalAveragePool", [x], "gap")
                shape = (shape[0], 1, 1)
            else:
                op = "MaxPool" if kind == "max_pool" else "AveragePool"
                x = node(op, [x], "pool", kernel_shape=[size, size], strides=[stride, stride])
                shape = (
                    shape[0],
                    1 + (shape[1] - size) // stride,
                    1 + (shape[2] - size) // stride,
                )
        elif kind == "tag":
            tags[layer.spec[1]] = (x, shape)
        elif kind == "skip":
            x, shape = tags[layer.spec[1]]
        elif kind == "add_prev":
            # dlib adds tensors of different sizes as if the smaller one were padded
            # with zeros at its end (more channels, more rows, more columns)
            other, other_shape = tags[layer.spec[1]]
            target = tuple(max(a, b) for a, b in zip(shape, other_shape, strict=True))
            x = _padded(x, shape, target, node, const)
            other = _padded(other, other_shape, target, node, const)
            x = node("Add", [x, other], "add")
            shape = target
        elif kind == "fc":
            x = node("Flatten", [x], "flat", axis=1)
            x = node("MatMul", [x, const(layer.values["weights"], "fc")], "fc")
            shape = (layer.values["weights"].shape[1],)
        i += 1
    nodes.append(helper.make_node("Identity", [x], ["descriptors"]))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", shape[0]])],
        initializers,
    )
    model = helper.make_model(
        graph, producer_name="facesort", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8  # what every onnxruntime since 1.10 reads
    onnx.checker.check_model(model)
    return model


def _padded(x: str, shape: tuple, target: tuple, node, const) -> str:
    import numpy as np

    if shape == target:
        return x
    ends = [0, *(t - s for s, t in zip(shape, target, strict=True))]
    pads = np.array([0, 0, 0, 0, *ends], dtype=np.int64)
    return node("Pad", [x, const(pads, "pads")], "pad")
