"""Counted words in messages (facesort.words) and the messages that use them."""

from __future__ import annotations

from facesort.words import form, plural


def test_one_is_singular_everything_else_plural():
    assert [plural(n, "file") for n in (0, 1, 2)] == ["0 files", "1 file", "2 files"]
    assert plural(1, "cluster") == "1 cluster" and plural(11, "cluster") == "11 clusters"
    assert plural(2, "person", "people") == "2 people"
    assert plural(1, "file is", "files are") == "1 file is"
    assert plural(["a", "b"], "face") == "2 faces"  # a collection counts by its length
    assert form(1, "is not a duplicate", "are not duplicates") == "is not a duplicate"
    assert form([1, 2], "is not a duplicate", "are not duplicates") == "are not duplicates"


def test_messages_count_one_thing_in_the_singular():
    from facesort.config import PolicySettings, VideoSettings
    from facesort.matching import FaceMatch
    from facesort.policy import decide_video
    from facesort.review.results import ActionResult, summary_of
    from facesort.sorting.route import FileResult
    from facesort.vocab import Confidence, FaceSource

    stranger = FaceMatch(person=None, confidence=Confidence.UNKNOWN, source=FaceSource.LOCAL)
    decision = decide_video([[stranger], []], PolicySettings(), VideoSettings())
    assert "in 1 frame with faces" in decision.summary, decision.summary
    moved = FileResult(1, "/s/a.jpg", "/l/a.jpg", "library/obama", "")
    result = ActionResult("g", "not_duplicate", "", moved=[moved])
    verb = form(result.moved, "is not a duplicate", "are not duplicates")
    assert summary_of(f"{verb}: sorted", result) == "1 file is not a duplicate: sorted"
