"""Contract: the double's answers and facesort's requests, checked against Immich's own
OpenAPI description (``../shared/immich/immich-openapi-specs-v1.137.3.json``).

A whole ``facesort run`` against the v1.137.3 double is recorded; every request facesort
sent must be valid for its route, and every successful answer must match the route's
response schema. Error answers (401, 403, 500) are not described by the file and only
their requests are checked.
"""

from __future__ import annotations

import pytest
from conftest import REPO, configure_immich

SPEC = REPO.parent / "shared" / "immich" / "immich-openapi-specs-v1.137.3.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SPEC.is_file(),
        reason=f"Immich's OpenAPI description is not at {SPEC} (../shared beside the repo)",
    ),
]


@pytest.fixture(scope="module")
def openapi():
    from openapi_core import Config, OpenAPI

    # Immich's file itself is not strictly valid OpenAPI 3.0 (its bearer scheme carries an
    # "in"), so the file is not validated; requests and answers are, against it.
    return OpenAPI.from_file_path(str(SPEC), config=Config(spec_validator_cls=None))


def _validate(openapi, exchange) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    request = MockRequest(
        "http://immich.test",
        exchange.method.lower(),
        "/api" + exchange.path,
        args=exchange.query,
        data=exchange.body or None,
        headers={"x-api-key": exchange.headers.get("x-api-key", "")},
        content_type=exchange.headers.get("content-type") or "application/json",
    )
    openapi.validate_request(request)
    if exchange.status < 400:
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            content_type=exchange.response_type.split(";")[0] or "application/json",
        )
        openapi.validate_response(request, response)


def test_a_run_speaks_immich_v1_137_as_its_openapi_file_says(
    openapi, make_workspace, immich_double, facesort_cli
):
    from facesort.sorting.run import run_once

    ws = make_workspace(stage=("incoming",), extras=False)
    double = immich_double(ws, flavour="v1")
    configure_immich(ws, double.url)
    run_once(ws.config(), workers=1, sleep=lambda _: None)
    # The routes a run does not use: faces per asset (fallback) and people's thumbnails
    # (already fetched by the run's sync; fetch the faces of one asset too).
    asset_id = next(iter(double.assets))
    from facesort.immich.api import ImmichApi
    from facesort.immich.endpoint import endpoint_from_config

    with ImmichApi(endpoint_from_config(ws.config())) as api:
        assert api.faces(asset_id) is not None
        assert list(api.people())

    used = {(e.method, e.path.split("/")[1]) for e in double.exchanges}
    assert {("GET", "jobs"), ("POST", "search"), ("GET", "faces"), ("GET", "people"),
            ("POST", "libraries"), ("GET", "server")} <= used  # fmt: skip
    # The check can fail: a search answer without its required nextPage is refused.
    import dataclasses
    import json

    search = next(e for e in double.exchanges if e.path == "/search/metadata")
    broken = json.loads(search.response_body)
    del broken["assets"]["nextPage"]
    with pytest.raises(Exception, match=r"nextPage|Invalid response"):
        _validate(openapi, dataclasses.replace(search, response_body=json.dumps(broken).encode()))

    for exchange in double.exchanges:
        try:
            _validate(openapi, exchange)
        except Exception as exc:
            raise AssertionError(
                f"{exchange.method} {exchange.path} ({exchange.status}) breaks the contract: "
                f"{exc!r} {getattr(exc, '__cause__', '')!r}"
            ) from exc
