"""facesort's Immich integration: use the faces Immich found and the names the user gave.

- :mod:`~facesort.immich.endpoint`: resolved settings (URL, key, database, path map);
- :mod:`~facesort.immich.api`: the REST client (libraries, queues, asset search) over
  :mod:`~facesort.immich.transport` (errors named, retries with backoff) and
  :mod:`~facesort.immich.faces_api` (faces and people);
- :mod:`~facesort.immich.database`: the optional read-only database reader (its schema
  detection and query: :mod:`~facesort.immich.db_schema`);
- :mod:`~facesort.immich.faces`: Immich's faces in one shape, from either source;
- :mod:`~facesort.immich.runs`: Immich's part in a run: its steps in order, summary,
  report; :mod:`~facesort.immich.run_record`: the run's record and files, which the
  steps share;
- :mod:`~facesort.immich.prepare`: probe, check the key, queue scans (and the rescan);
- :mod:`~facesort.immich.wait`: is the face data final? (queues, database);
- :mod:`~facesort.immich.read`: who is in each of the run's files;
- :mod:`~facesort.immich.resolve`: using the stored answers while sorting;
- :mod:`~facesort.immich.people`: named people -> local reference photos;
- :mod:`~facesort.immich.carry`: names carried over onto a moved file's new asset
  (its parts ``carry_record``, ``carry_pass``, ``carry_match``, ``carry_write``,
  ``carry_result``; :mod:`~facesort.immich.writes`: the face writes;
  :mod:`~facesort.immich.carry_undo`: taking them back; :mod:`~facesort.immich.carry_moves`:
  carry-overs for moves after the ingest run).

Nothing here imports Airflow; the hook, trigger and sensor are in :mod:`facesort.airflow`.
"""
