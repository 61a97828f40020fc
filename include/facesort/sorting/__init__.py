"""Sorting files: what each file is, where it goes, and one pass over staging.

- ``evaluate``: what is this file and who is in it (hashes, duplicates, faces, matches,
  the policy's decision) — :class:`~facesort.sorting.evaluate.Evaluator`;
- ``route``: where it goes and the journaled move there —
  :meth:`~facesort.sorting.route.Router.route_decision`, used by runs, re-sorts and
  review alike;
- ``sorter``: one claimed file, evaluated then routed, or left in staging / postponed;
- ``batches``: claiming pending files into batches, sorting a batch, retrying a file
  and giving up on it;
- ``workers``: a run's batches sorted in worker processes, forked from a server that
  loaded their code and models once (``worker_start``; the server is started by
  ``worker_server``, which imports nothing heavy, as early as a run can);
- ``library_index``: the library's files indexed when the state database is new;
- ``largest``: the largest copy kept where parallel batches split a picture's copies;
- ``run``: one whole pass (``facesort run``) and its read-only preview (``--dry-run``).
"""
