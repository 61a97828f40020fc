"""dlib's face encoder as an ONNX graph, run by onnxruntime.

The ``dlib-bin`` wheel runs dlib's ResNet (``dlib_face_recognition_resnet_model_v1``)
without BLAS, about 60-100 ms a face. The same network on onnxruntime takes a fraction
of that. No ONNX file of the model is published and nothing may be downloaded, so the
graph is built here from the weights ``face_recognition_models`` ships:

1. ``read_network`` parses the ``.dat`` file, which is dlib's serialization of the
   network type of dlib's ``face_recognition_model_v1`` (``_ARCHITECTURE``), layer by
   layer, checking every layer's kind and shape against that type;
2. ``build_model`` turns it into an ONNX graph (each ``affine`` layer folded into the
   convolution before it);
3. ``load_encoder`` checks the graph against dlib itself on a test chip, and caches it
   under the weights' SHA-256 (plus ``BUILDER_VERSION``), so this happens once per
   model, not once per process.

Its input is what dlib's encoder sees: aligned 150x150 RGB chips made by
``dlib.get_face_chip`` (5 landmarks, padding 0.25), normalised inside the graph as
dlib's ``input_rgb_image_sized`` does ((value - channel mean) / 256, the means read from
the file). tests/unit/test_encoder_onnx.py checks the descriptors against dlib's.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

log = logging.getLogger(__name__)

# Part of the cache key: a change to how the graph is built must not reuse old files.
BUILDER_VERSION = 1
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# Largest Euclidean distance between dlib's and the graph's descriptor of the test chip
# for the graph to be used (routing thresholds are 0.55 and 0.65; measured ~1e-6).
CHECK_TOLERANCE = 1e-3


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


# ------------------------------------------------------------------ ONNX graph


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


# ------------------------------------------------------------------ the encoder


class OnnxFaceEncoder:
    """dlib's face encoder on onnxruntime: 150x150 chips -> 128-number descriptors."""

    def __init__(
        self,
        model: bytes | str,
        threads: int = 1,
        *,
        optimized: bool = False,
        save_optimized: str | None = None,
    ):
        """``model``: the graph (bytes or a file). ``optimized``: it is this machine's
        copy optimised by onnxruntime already, load it as it is; ``save_optimized``:
        write that copy to this file."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # facesort's parallelism is its worker processes: no busy-waiting threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # a few faces at a time: an arena that keeps the largest batch costs more memory
        # than it saves time
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3  # not the warning that an optimised copy is local
        if optimized:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if save_optimized:
            options.optimized_model_filepath = save_optimized
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 chips -> (N, 128) float64 descriptors."""
        import numpy as np

        chips = np.ascontiguousarray(chips, dtype=np.uint8)
        if chips.shape[0] == 0:
            return np.zeros((0, 128))
        (out,) = self.session.run(["descriptors"], {"chips": chips})
        return out.astype(np.float64)

    def encode(
        self, chips: list[np.ndarray], num_jitters: int = 1, jitter: Callable | None = None
    ) -> np.ndarray:
        """Descriptors of aligned chips, like dlib's ``compute_face_descriptor``: with
        ``num_jitters`` > 1 the mean over that many randomly jittered copies of each
        chip (``jitter(chip, n)``, by default dlib's ``jitter_image``, what dlib's encoder
        uses), else of the chip itself. All in one batch."""
        import numpy as np

        if not chips:
            return np.zeros((0, 128))
        if num_jitters <= 1:
            return self.descriptors(np.stack(chips))
        if jitter is None:
            import dlib

            jitter = dlib.jitter_image
        copies = [np.stack(jitter(chip, num_jitters)) for chip in chips]
        out = self.descriptors(np.concatenate(copies))
        return out.reshape(len(chips), num_jitters, -1).mean(axis=1)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "facesort"


def cache_path(cache_dir: Path, weights_sha256: str) -> Path:
    return (
        cache_dir / f"dlib_face_recognition_resnet_v1-{weights_sha256[:16]}-b{BUILDER_VERSION}.onnx"
    )


def test_chip() -> np.ndarray:
    """A fixed, face-sized test input for checking the graph against dlib: smooth
    gradients and stripes in every channel, so that every filter sees something."""
    import numpy as np

    rows, cols = np.mgrid[0:CHIP_SIZE, 0:CHIP_SIZE].astype(np.float64)
    red = 128 + 100 * np.sin(rows / 9.0) * np.cos(cols / 13.0)
    green = 40 + 1.2 * rows + 20 * np.sin((rows + cols) / 5.0)
    blue = 255 * ((rows - 75) ** 2 + (cols - 75) ** 2 < 50**2) * (0.5 + 0.4 * np.cos(cols / 7.0))
    return np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)


def check_against_dlib(encoder: OnnxFaceEncoder, dlib_model_path: str) -> float:
    """The distance between dlib's and the graph's descriptor of ``test_chip()``."""
    import dlib
    import numpy as np

    chip = test_chip()
    reference = np.array(
        dlib.face_recognition_model_v1(dlib_model_path).compute_face_descriptor(chip, 1)
    )
    return float(np.linalg.norm(encoder.descriptors(chip[None])[0] - reference))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_checked(weights_path: str, threads: int = 1) -> tuple[bytes, OnnxFaceEncoder, float]:
    """Parse, build and check the model; raises when it cannot be built or is wrong."""
    with open(weights_path, "rb") as f:
        network = read_network(f.read())
    model_bytes = build_model(network).SerializeToString()
    encoder = OnnxFaceEncoder(model_bytes, threads)
    distance = check_against_dlib(encoder, weights_path)
    if not distance < CHECK_TOLERANCE:
        raise ModelFormatError(
            f"the graph's descriptor of the test chip is {distance:.2g} from dlib's"
        )
    return model_bytes, encoder, distance


def _machine_tag() -> str:
    """What an onnxruntime-optimised graph depends on: onnxruntime's version and the
    processor (its layout of convolutions follows the vector instructions there are)."""
    import platform

    import onnxruntime as ort

    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    text = f"{ort.__version__}|{platform.machine()}|{platform.processor()}|{flags}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _replace(partial: Path, path: Path) -> None:
    os.replace(partial, path)  # whole or absent, also with two workers at once


@cache
def load_encoder(weights_path: str, cache_dir: str, threads: int = 1) -> OnnxFaceEncoder:
    """The encoder for ``weights_path``, built once and cached in ``cache_dir`` under the
    weights' hash. Raises (ModelFormatError, ImportError, OSError, onnx's and
    onnxruntime's errors) when it cannot be built or checked; the caller falls back.

    Beside the graph, onnxruntime's optimised copy of it for this machine is cached
    too (checked against the graph on the test chip when it is made): loading that
    copy takes about 40 MiB less memory than optimising the graph in every process."""
    import numpy as np

    path = cache_path(Path(cache_dir), _sha256(weights_path))
    optimized = path.with_name(f"{path.stem}.{_machine_tag()}.onnx")
    if optimized.is_file():
        try:
            return OnnxFaceEncoder(str(optimized), threads, optimized=True)
        except Exception as exc:  # a damaged copy: make it again
            log.warning(
                "face encoder cache %s cannot be loaded (%s); rebuilding it", optimized, exc
            )
    if path.is_file():
        partial = optimized.with_name(f"{optimized.name}.{os.getpid()}.partial")
        try:
            encoder = OnnxFaceEncoder(str(path), threads, save_optimized=str(partial))
        except Exception as exc:  # a damaged copy: build it again
            log.warning("face encoder cache %s cannot be loaded (%s); rebuilding it", path, exc)
        else:
            try:
                chip = test_chip()[None]
                copy = OnnxFaceEncoder(str(partial), 1, optimized=True)
                distance = np.linalg.norm(copy.descriptors(chip) - encoder.descriptors(chip))
                if distance < CHECK_TOLERANCE:
                    _replace(partial, optimized)
                else:
                    log.warning("onnxruntime's optimised face encoder differs; not cached")
            except Exception as exc:
                log.warning("cannot cache the optimised face encoder (%s)", exc)
            partial.unlink(missing_ok=True)
            return encoder
    model_bytes, encoder, distance = build_checked(weights_path, threads)
    log.info("built %s (test chip %.1g from dlib's descriptor)", path, distance)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(model_bytes)
        _replace(partial, path)
    except OSError as exc:
        log.warning("cannot cache the face encoder in %s (%s); it is rebuilt next time", path, exc)
    return encoder
