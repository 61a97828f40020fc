"""What a sorting worker process loads before its first batch, once for all workers.

The workers of ``facesort run --workers N`` fork from a multiprocessing forkserver that
imports this module (``set_forkserver_preload``): the imports of a batch's code,
dlib's models and the schema's head revision are loaded there once, while the parent
scans, instead of in every worker after the scan (1-2 s of CPU each on a cold start).
Importing this module is what does it; a failure only means each worker loads them
itself.
"""

from __future__ import annotations

import logging

import facesort.sorting.batches  # noqa: F401  (the code every batch runs)
from facesort import faces
from facesort.state import head_revision

try:
    faces.preload_models()
    head_revision()  # each batch's State checks the schema against it
except Exception as exc:  # the worker loads them itself and says what is wrong
    logging.getLogger(__name__).warning("cannot preload the face models: %s", exc)
