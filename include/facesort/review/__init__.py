"""The review loop: what a person does with the review queue, and what facesort learns.

- :mod:`~facesort.review.actions`: the verbs — approve, reject, add as reference, not a
  duplicate, keep instead, not this person, name a cluster, undo; every action is one
  journal group (undoable);
- :mod:`~facesort.review.context`: what every verb acts with (``ReviewContext``: the
  config, the state, the actor, their reference photos, the gate); the verb modules
  below take it, :class:`~facesort.review.actions.Reviewer` is one;
- :mod:`~facesort.review.intent`: the gate every action passes (recover first, record
  the intent, a retry continues); ``ActionKey`` says which action (its kind, person and
  files, its group or the action it undoes);
- :mod:`~facesort.review.targets`: which files, faces and person an action acts on;
- :mod:`~facesort.review.spelling`: is a new name a typo of a known person's?
- :mod:`~facesort.review.naming`: naming a cluster of unknown faces;
- :mod:`~facesort.review.keep_instead`: a duplicate and the file kept swapping places;
- :mod:`~facesort.review.not_duplicate`: a file in duplicates becomes an original;
- :mod:`~facesort.review.not_person`: a face is not this person (never suggested again);
  :mod:`~facesort.review.swap`: what the swap changes besides the moves (the original,
  the other duplicates, the faces), done, undone and done again;
- :mod:`~facesort.review.manual_faces`: faces the detector missed, drawn by a person;
- :mod:`~facesort.review.suggestions`: whom facesort suggests for a face ("is this X?"),
  and whom a person said it is not;
- :mod:`~facesort.review.search`: the queue's search and sort;
- :mod:`~facesort.review.results`: what an action did (or why it could not be done);
- :mod:`~facesort.review.reference_photos`: reference photos made in review (face crops);
- :mod:`~facesort.review.record`: the record of each action (``ActionRecord``: who did
  what, for whom, on which files, what else changed), and undoing or redoing it;
- :mod:`~facesort.review.trash`: rejected files wait in the trash folder, then are purged;
- :mod:`~facesort.review.recheck`: the nightly re-check of the queue against today's
  references;
- :mod:`~facesort.review.clustering`: clusters of unknown faces, stable from night to night;
- :mod:`~facesort.review.queue`: read-only views of the queue (the page, ``facesort review``);
- :mod:`~facesort.review.pictures`: cached thumbnails and face crops;
- :mod:`~facesort.review.cli`: ``facesort review ...``.
"""
