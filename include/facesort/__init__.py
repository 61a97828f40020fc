"""facesort: sort downloaded photos and videos by the people in them.

The package is pure Python and usable without Airflow; the DAGs in ``dags/`` only
wire its functions together. Heavy imports (dlib, numpy, Pillow, SQLAlchemy) live
inside the modules that need them so that importing :mod:`facesort` stays cheap.

Packages: ``config`` (the YAML file, validated), ``state`` (the database, its models and
migrations), ``files`` (hashing, owners, the journal's gate, recovery, undo),
``sorting`` (evaluate, route, batches, workers, one run), ``immich`` (Immich's faces,
names and their carrying over), ``review`` (the review queue's verbs, clusters),
``people`` (the people page's actions), ``resort`` (re-sorting sorted files),
``report`` (the weekly report), ``cli`` (the ``facesort`` command) and ``airflow``
(everything that imports Airflow).

Modules, one question each: ``vocab`` (the domain's words as enums), ``errors``,
``words`` (counted words), ``names`` (safe folder names), ``scan`` (which staged files
are complete and new), ``media`` (decoding photos and video frames), ``dedupe``
(duplicates), ``faces`` (detection and encodings), ``hog`` (dlib's HOG detector:
its saved copy, its pyramid's top levels), ``dlib_weights`` /
``encoder_graph`` / ``encoder_onnx`` (dlib's encoder on onnxruntime), ``references``
(reference photos), ``matching`` (encodings against references), ``thresholds`` (a
person's own distances), ``policy`` (faces found -> destination), ``learning``
(references learnt from sure matches), ``status`` (read-only views), ``progress``,
``faults`` (crash points for tests) and ``sample`` (sample workspaces).
"""

__version__ = "0.1.0"
