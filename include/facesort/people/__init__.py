"""People: which name owns which library folder (``folders``), and the people page's
views and actions (``known``: a person as facesort spells them, and the names Immich knows;
``overview``: who is known and how much of them; ``rename``: renaming and merging
people; ``photos``: their reference photos; ``split``: files sorted to the wrong person;
``plain_moves``: moving files that have no record; ``intent``: the actions' records,
written before anything moves; ``follow``: records that follow a new name; ``undo``;
``cli``: ``facesort people``).
"""
