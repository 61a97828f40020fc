"""The review loop: what a person does with the review queue, and what facesort learns.

- :mod:`~facesort.review.actions`: the verbs — approve, reject, add as reference, not a
  duplicate, name a cluster, undo; every action is one journal group (undoable);
- :mod:`~facesort.review.results`: what an action did (or why it could not be done);
- :mod:`~facesort.review.reference_photos`: reference photos made in review (face crops);
- :mod:`~facesort.review.intent`: the gate before an action's first move (recover first,
  the action recorded open, a retry continues it);
- :mod:`~facesort.review.record`: the record of each action, and undoing or redoing it;
- :mod:`~facesort.review.trash`: rejected files wait in the trash folder, then are purged;
- :mod:`~facesort.review.recheck`: the nightly re-check of the queue against today's
  references;
- :mod:`~facesort.review.clustering`: clusters of unknown faces, stable from night to night;
- :mod:`~facesort.review.queue`: read-only views of the queue (the page, ``facesort review``);
- :mod:`~facesort.review.pictures`: cached thumbnails and face crops;
- :mod:`~facesort.review.cli`: ``facesort review ...``.
"""
