"""The kinds of value that several config keys share, each with the bounds every such
key has: a face distance, a margin between distances, a fraction, seconds, a count, a
picture's side, a text that is not empty.

A key of one of these kinds says so by its type (``sure_distance: Distance``); where it
is bounded further, its own ``Field`` adds that (``max_frames: Count = Field(24, le=500)``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonEmptyStr = Annotated[str, AfterValidator(_non_empty)]

# dlib's distance between two face encodings: the closer, the likelier the same face.
Distance = Annotated[float, Field(gt=0, le=2)]
# How much further one such distance is than another (0: no margin asked for).
DistanceMargin = Annotated[float, Field(ge=0, le=2)]
# A part of a whole, less than all of it (0: none).
Fraction = Annotated[float, Field(ge=0, lt=1)]
# How long to wait, in seconds (0: not at all).
Seconds = Annotated[float, Field(ge=0)]
# How many of something: at least one.
Count = Annotated[int, Field(ge=1)]
# The longest side of a scaled copy of a picture, in pixels.
ImageSide = Annotated[int, Field(ge=160)]
