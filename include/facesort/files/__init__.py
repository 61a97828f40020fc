"""Files on disk: crash-safe moves through the journal, and getting them back.

- ``journal``: the one gate every move or copy goes through (:class:`Journal`,
  :class:`TransferRequest`, :class:`TransferOutcome`): intent recorded, then the
  filesystem work, then the result, so that a crash at any instant loses nothing;
- ``recovery``: finishes or re-plans the transfers a dead run left in flight;
- ``undo``: reverts a group of transfers (a run, a re-sort, a review action) and lists
  the recent groups;
- ``owners``: who owns a claim (a batch, a transfer, an open review or people action's
  row, ``open_action_row``) and whether they are gone;
- ``hashing``: the content hashes that say a file is still the one examined.
"""
