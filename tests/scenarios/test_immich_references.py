"""References learnt from Immich survive people dropping out of ``GET /api/people``
(the double lists only people with a face on a visible, non-trashed asset, as Immich
does, so moving their photos drops them): only a person gone or renamed in Immich changes
them, every change is printed, and a person without a thumbnail is skipped, not fatal."""

from __future__ import annotations

import shutil

from conftest import configure_immich
from immich_double import PHOTOS

STAGING = "/mnt/downloads"


def _staged(ws, double_factory, *names: str, **kwargs):
    for name in names:
        shutil.copy(next(PHOTOS.rglob(name)), ws.staging / name)
    double = double_factory(ws, seeded=False, **kwargs)
    configure_immich(ws, double.url)
    double.scan_now()
    double.settle()
    return double


def _move_out_of_staging(ws, double, *names: str) -> None:
    """The files leave staging for the library (as a sort does) and Immich rescans."""
    target = ws.root / "library" / "sorted"
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        (ws.staging / name).rename(target / name)
    double.scan_now()
    double.settle()


def _references(ws) -> dict[str, list[str]]:
    """The reference photos learnt from Immich (the workspace has the user's own too)."""
    found: dict[str, list[str]] = {}
    for path in sorted(ws.references.glob("*/immich-*")):
        found.setdefault(path.parent.name, []).append(path.name)
    return found


def test_people_who_left_the_list_keep_their_references_unless_gone_or_renamed(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    double = _staged(ws, immich_double, "obama_and_biden.jpg", "lin-manuel-miranda.png")
    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")
    assert code == 0 and out.startswith("3 reference photos saved from Immich"), out
    ids = {k: double.person_id(k) for k in ("obama", "biden", "lin-manuel-miranda")}

    # Every photo of theirs moved: Immich trashed the old assets, nobody is listed now.
    _move_out_of_staging(ws, double, "obama_and_biden.jpg", "lin-manuel-miranda.png")
    assert double.listed_people() == []
    double.delete_person("biden")  # gone from Immich
    double.rename_person("lin-manuel-miranda", "Lin-Manuel Miranda")

    # A run with no new file: it says so, and prints every change to the references.
    code, out, err = facesort_cli("--config", ws.config_path, "run")
    assert code == 0, err
    assert "facesort: Immich: nothing to do (no new files)" in err
    assert "Immich None" not in err and "warning" not in err
    assert (
        f"reference removed: biden/immich-{ids['biden']}.jpg (the person is gone from Immich)"
        in out
    )
    assert "reference moved (renamed in Immich): lin-manuel-miranda -> Lin-Manuel Miranda" in out
    assert "obama" not in out  # kept as it was: nothing to say
    assert _references(ws) == {
        "Lin-Manuel Miranda": [f"immich-{ids['lin-manuel-miranda']}.jpg"],
        "obama": [f"immich-{ids['obama']}.jpg"],
    }
    # The command says who was kept and why.
    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")
    assert code == 0
    assert "0 reference photos saved from Immich, 0 unchanged, 0 moved, 0 removed" in out
    assert "kept: obama (not listed by Immich: no face on a visible asset" in out
    # Looked up by id, never deleted for being unlisted.
    assert {e.path for e in double.exchanges if e.path.startswith("/people/")} >= {
        f"/people/{ids['obama']}",
        f"/people/{ids['biden']}",
    }


def test_a_person_without_a_thumbnail_is_skipped_and_the_others_are_learnt(
    make_workspace, immich_double, facesort_cli
):
    ws = make_workspace(stage=(), extras=False)
    double = _staged(ws, immich_double, "obama_and_biden.jpg", "lin-manuel-miranda.png")
    double.drop_thumbnail("biden")  # e.g. named before Immich's thumbnail job ran

    code, out, _ = facesort_cli("--config", ws.config_path, "references", "sync-immich")

    assert code == 0, out
    assert out.startswith(
        "2 reference photos saved from Immich, 0 unchanged, 0 moved, 0 removed, 1 skipped"
    )
    assert "skipped: biden: Immich has no thumbnail for this person yet (404" in out
    assert sorted(_references(ws)) == ["lin-manuel-miranda", "obama"]
    answer = next(e for e in double.exchanges if e.path.endswith("/thumbnail") and e.status == 404)
    assert answer.response_body == b'{"message":"Not Found","statusCode":404}'
