"""Reading dlib's face encoder from its ``.dat`` file: the network's layers and weights.

``face_recognition_models`` ships dlib's ResNet (``dlib_face_recognition_resnet_model_v1``)
in dlib's own serialization of the network type of dlib's ``face_recognition_model_v1``
(``_ARCHITECTURE``). :func:`read_network` parses it layer by layer, checking every
layer's kind and shape against that type, and returns the weights and the input's
channel means; anything else is a :class:`ModelFormatError`. facesort.encoder_graph
turns the result into an ONNX graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class ModelFormatError(ValueError):
    """The file is not the network this module knows how to read."""


# ------------------------------------------------------------------ architecture


def _residual(filters: int, down: bool) -> list[tuple]:
    """dlib's ``ares``/``ares_down`` block, from its input outwards."""
    layers: list[tuple] = [
        ("tag", 1),
        ("con", filters, 3, 2 if down else 1),
        ("affine",),
        ("relu",),
        ("con", filters, 3, 1),
        ("affine",),
    ]
    if down:
        # the block's output is tag2; the input (tag1), pooled, is added to it
        layers += [("tag", 2), ("skip", 1), ("avg_pool", 2, 2), ("add_prev", 2)]
    else:
        layers += [("add_prev", 1)]
    return [*layers, ("relu",)]


def _architecture() -> list[tuple]:
    """The layers of dlib's face_recognition_model_v1, from the input to the loss."""
    layers: list[tuple] = [("con", 32, 7, 2), ("affine",), ("relu",), ("max_pool", 3, 2)]
    for filters, down, plain in ((32, False, 3), (64, True, 3), (128, True, 2), (256, True, 2)):
        if down:
            layers += _residual(filters, down=True)
        for _ in range(plain):
            layers += _residual(filters, down=False)
    layers += _residual(256, down=True)
    layers += [("avg_pool", 0, 1), ("fc", 128), ("loss_metric",)]
    return layers


_ARCHITECTURE = _architecture()


# ------------------------------------------------------------------ dlib's format


class _Reader:
    """dlib's serialization primitives (dlib/serialize.h, dlib/cuda/tensor.h)."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelFormatError(f"file ends early (at byte {self.pos})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        # one control byte (size in the low bits, 0x80 for negative), then the
        # magnitude's bytes, little-endian
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise ModelFormatError(f"bad integer at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def float(self) -> float:
        # a 64-bit mantissa and a 16-bit exponent, both as integers
        import math

        if self.data[self.pos] & 0x70:
            raise ModelFormatError(f"old text float format at byte {self.pos}")
        mantissa, exponent = self.int(), self.int()
        if exponent >= 32000:
            return {32000: math.inf, 32001: -math.inf}.get(exponent, math.nan)
        return math.ldexp(mantissa, exponent)

    def bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise ModelFormatError(f"bad bool at byte {self.pos - 1}")
        return char == b"1"

    def string(self) -> str:
        return self._take(self.int()).decode("latin-1")

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: version 2, four dimensions, little-endian float32s."""
        import numpy as np

        if self.int() != 2:
            raise ModelFormatError(f"unknown tensor version at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self._take(4 * count), dtype="<f4")
        return values.astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: only its shape (the values are in the layer's params)."""
        if self.int() != 1:
            raise ModelFormatError(f"unknown alias_tensor version at byte {self.pos}")
        return (self.int(), self.int(), self.int(), self.int())

    def version(self, *allowed: str) -> str:
        name = self.string()
        if name not in allowed:
            raise ModelFormatError(f"expected {' or '.join(allowed)}, found {name!r}")
        return name


def _size(shape: tuple[int, ...]) -> int:
    out = 1
    for dim in shape:
        out *= dim
    return out


@dataclass
class Layer:
    """One parsed layer: its kind (as in ``_ARCHITECTURE``) and what it holds."""

    spec: tuple
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Network:
    input_means: tuple[float, float, float]  # red, green, blue
    layers: list[Layer]  # from the input to the loss


def _read_con(r: _Reader, spec: tuple) -> dict[str, Any]:
    version = r.version("con_4", "con_5", "con_6")
    params = r.tensor().reshape(-1)
    filters = r.int()
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
    filter_shape = r.alias()
    bias_shape = r.alias()
    for _ in range(4):
        r.float()  # learning rate and weight decay multipliers
    use_bias = r.bool() if version in ("con_5", "con_6") else True
    use_relu = r.bool() if version == "con_6" else False
    expected = (spec[1], spec[2], spec[2], spec[3], spec[3])
    if (filters, rows, cols, stride_y, stride_x) != expected or use_relu:
        raise ModelFormatError(
            f"convolution {filters} {rows}x{cols}/{stride_y}x{stride_x} where "
            f"{spec[1]} {spec[2]}x{spec[2]}/{spec[3]} was expected"
        )
    weights = params[: _size(filter_shape)].reshape(filter_shape)
    if use_bias and params.size >= _size(filter_shape) + _size(bias_shape):
        bias = params[_size(filter_shape) : _size(filter_shape) + _size(bias_shape)]
    else:
        import numpy as np

        bias = np.zeros(filters, dtype=np.float32)
    return {"weights": weights, "bias": bias.reshape(-1), "pads": (pad_y, pad_x)}


def _read_affine(r: _Reader) -> dict[str, Any]:
    import numpy as np

    version = r.version("affine_", "affine_2", "bn_con2")
    params = r.tensor().reshape(-1)
    gamma_shape, beta_shape = r.alias(), r.alias()
    n = _size(gamma_shape)
    gamma, beta = params[:n], params[n : n + _size(beta_shape)]
    if version == "bn_con2":
        # batch normalisation as trained: dlib turns it into an affine layer of the
        # running statistics when it loads the file
        r.tensor(), r.tensor()  # the last batch's means and inverse deviations
        running_means, running_variances = r.tensor().reshape(-1), r.tensor().reshape(-1)
        r.int(), r.int()  # number of updates, window size
        for _ in range(4):
            r.float()
        eps = r.float()
        scale = gamma / np.sqrt(running_variances + np.float32(eps))
        return {"scale": scale, "shift": beta - scale * running_means}
    if r.int() != 0:  # layer_mode CONV_MODE: one scale and shift per channel
        raise ModelFormatError("affine layer not in convolution mode")
    if version == "affine_2" and r.bool():
        raise ModelFormatError("disabled affine layer")
    return {"scale": gamma, "shift": beta}


def _read_pool(r: _Reader, spec: tuple, name: str) -> dict[str, Any]:
    r.version(f"{name}_2")
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
    if (rows, cols, stride_y, stride_x, pad_y, pad_x) != (
        spec[1],
        spec[1],
        spec[2],
        spec[2],
        0,
        0,
    ):
        raise ModelFormatError(f"{name} {rows}x{cols}/{stride_y} pad {pad_y} is not {spec}")
    return {}


def _read_fc(r: _Reader, spec: tuple) -> dict[str, Any]:
    version = r.version("fc_2", "fc_3")
    outputs, inputs = r.int(), r.int()
    params = r.tensor().reshape(-1)
    weight_shape = r.alias()
    r.alias()  # biases
    if r.int() != 1:  # FC_NO_BIAS
        raise ModelFormatError("fully connected layer with a bias")
    for _ in range(4):
        r.float()
    if version == "fc_3":
        r.bool()
    if outputs != spec[1] or weight_shape[:2] != (inputs, outputs):
        raise ModelFormatError(f"fully connected layer {inputs}->{outputs}")
    return {"weights": params[: inputs * outputs].reshape(inputs, outputs)}


def _read_details(r: _Reader, spec: tuple) -> dict[str, Any]:
    kind = spec[0]
    if kind == "con":
        return _read_con(r, spec)
    if kind == "affine":
        return _read_affine(r)
    if kind == "relu":
        if r.version("relu_", "relu_2") == "relu_2" and r.bool():
            raise ModelFormatError("disabled relu layer")
        return {}
    if kind in ("max_pool", "avg_pool"):
        return _read_pool(r, spec, kind)
    if kind == "add_prev":
        r.version("add_prev_")
        return {}
    if kind == "fc":
        return _read_fc(r, spec)
    raise ModelFormatError(f"unknown layer {kind}")


def read_network(data: bytes) -> Network:
    """Parse dlib's serialized face_recognition_model_v1 network.

    dlib writes a network from the outside in: the loss layer, then each layer's
    version number down to the input layer, then, coming back out, each layer's own
    data (tag and skip layers have none). Every layer's kind, size and stride is
    checked against ``_ARCHITECTURE``; anything else is a ModelFormatError.
    """
    r = _Reader(data)
    if r.int() != 1:
        raise ModelFormatError("not a dlib network with a loss layer")
    if r.version("loss_metric_", "loss_metric_2") == "loss_metric_2":
        r.float(), r.float()  # margin and distance threshold, used only in training
    inner_first = _ARCHITECTURE[:-1]
    versions = [r.int() for _ in reversed(inner_first)][::-1]
    r.version("input_rgb_image_sized", "input_rgb_image")
    means = (r.float(), r.float(), r.float())
    r.int(), r.int()  # the input's size (150x150)
    layers = []
    for index, (spec, version) in enumerate(zip(inner_first, versions, strict=True)):
        if spec[0] in ("tag", "skip"):
            layers.append(Layer(spec))
            continue
        values = _read_details(r, spec)
        r.bool(), r.bool(), r.bool()  # setup done, gradient stale, outputs disabled
        r.tensor(), r.tensor(), r.tensor()  # gradients and cached outputs (empty)
        if index == 0 and version >= 3:
            r.int()  # sample expansion factor of the layer over the input
        layers.append(Layer(spec, values))
    if r.pos != len(data):
        raise ModelFormatError(f"{len(data) - r.pos} bytes left after the network")
    return Network(means, layers)
