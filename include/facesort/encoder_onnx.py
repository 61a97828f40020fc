"""dlib's face encoder on onnxruntime: the session, its check against dlib, its cache.

The ``dlib-bin`` wheel runs dlib's ResNet (``dlib_face_recognition_resnet_model_v1``)
without BLAS, about 60-100 ms a face. The same network on onnxruntime takes a fraction
of that. No ONNX file of the model is published and nothing may be downloaded, so the
graph is built from the weights ``face_recognition_models`` ships:

1. ``facesort.dlib_weights.read_network`` parses the ``.dat`` file, checking every
   layer's kind and shape against dlib's network type;
2. ``facesort.encoder_graph.build_model`` turns it into an ONNX graph;
3. :func:`load_encoder` (here) checks the graph against dlib itself on a test chip,
   and caches it under the weights' SHA-256 (plus ``BUILDER_VERSION``), with
   onnxruntime's optimised copy of it for this machine, so this happens once per model,
   not once per process; :class:`OnnxFaceEncoder` runs it on aligned chips.

tests/unit/test_encoder_onnx.py checks the descriptors against dlib's.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from facesort.dlib_weights import ModelFormatError, read_network
from facesort.encoder_graph import CHIP_PADDING, CHIP_SIZE, build_model

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

__all__ = [
    "CHIP_PADDING",
    "CHIP_SIZE",
    "ModelFormatError",
    "OnnxFaceEncoder",
    "load_encoder",
    "read_network",
]

log = logging.getLogger(__name__)

# Part of the cache key: a change to how the graph is built must not reuse old files.
BUILDER_VERSION = 1
# Largest Euclidean distance between dlib's and the graph's descriptor of the test chip
# for the graph to be used (routing thresholds are 0.55 and 0.65; measured ~1e-6).
CHECK_TOLERANCE = 1e-3


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
        # nor buffers planned for the largest batch seen, kept between runs: ~7 MiB
        options.enable_mem_pattern = False
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
