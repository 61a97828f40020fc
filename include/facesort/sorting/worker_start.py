"""What a sorting worker process loads before its first batch, once for all workers.

The workers of ``facesort run --workers N`` fork from a multiprocessing forkserver that
imports this module (``set_forkserver_preload``): a batch's code, the decoders (HEIF,
imagehash with SciPy) and dlib's models are loaded there once, while the parent scans,
instead of in every worker after the scan (1-2 s of CPU each on a cold start). The
schema's head revision comes from the parent, which has read it already
(``sorting.workers``).
Importing this module is what does it; a failure only means each worker loads them
itself.
"""

from __future__ import annotations

import logging

import facesort.sorting.batches  # noqa: F401  (the code every batch runs)
from facesort import faces, media

try:
    media.preload_decoders()
    faces.preload_models()
except Exception as exc:  # the worker loads them itself and says what is wrong
    logging.getLogger(__name__).warning("cannot preload the face models: %s", exc)
