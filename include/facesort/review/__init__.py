"""The review loop: what a person does with the review queue, and what facesort learns.

- :mod:`~facesort.review.actions`: approve, reject, add as reference, not a duplicate,
  name a cluster, undo; every action is one journal group (undoable);
- :mod:`~facesort.review.trash`: rejected files wait in the trash folder, then are purged;
- :mod:`~facesort.review.recheck`: the nightly re-check of the queue against today's
  references;
- :mod:`~facesort.review.clustering`: clusters of unknown faces, stable from night to night;
- :mod:`~facesort.review.queue`: read-only views of the queue (the page, ``facesort review``);
- :mod:`~facesort.review.pictures`: cached thumbnails and face crops.
"""
