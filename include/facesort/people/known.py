"""Who facesort knows by name: a person as facesort spells them (``known_person``), and
the names Immich gives to the faces facesort read (``immich_names``).

The people page's views and actions (``overview``, ``rename``, ``photos``, ``split``)
import these from here, so none of them imports another for them.
"""

from __future__ import annotations

import sqlalchemy as sa

from facesort.config import Config
from facesort.names import UnsafeNameError, person_key
from facesort.review.results import ReviewError
from facesort.state import State
from facesort.state.models import ImmichFile


def name_key(name: str) -> str | None:
    """The name's folder identity (``names.person_key``), or None for an unsafe name."""
    try:
        return person_key(name)
    except UnsafeNameError:
        return None


def known_person(state: State, config: Config, name: str) -> str:
    """The person's name as facesort knows it (reference folder or library), or an error."""
    from facesort.resort import known_people

    people = known_people(state, config)
    if name in people:
        return name
    key = name_key(name)
    found = [p for p in people if key is not None and person_key(p) == key]
    if len(found) == 1:
        return found[0]
    raise ReviewError(
        f"facesort knows nobody called {name!r}: the people page (or `facesort people "
        "list`) lists everyone."
    )


def immich_names(state: State) -> set[str]:
    """Keys of the names given in Immich to faces facesort read (hidden people left out)."""
    keys = set()
    with state.session() as session:
        for faces in session.scalars(
            sa.select(ImmichFile.faces).where(ImmichFile.faces.is_not(None))
        ):
            for face in faces or []:
                name = face.get("name") if isinstance(face, dict) else None
                if name and not face.get("hidden") and (key := name_key(name)):
                    keys.add(key)
    return keys
