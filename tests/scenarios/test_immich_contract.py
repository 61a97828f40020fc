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

SPEC_NAME = "shared/immich/immich-openapi-specs-v1.137.3.json"
# ../shared beside the checkout, or beside a folder of worktrees above it.
SPEC = next(
    (p / SPEC_NAME for p in REPO.parents if (p / SPEC_NAME).is_file()),
    REPO.parent / SPEC_NAME,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SPEC.is_file(),
        reason=f"Immich's OpenAPI description is not at {SPEC} (../shared beside the repo)",
    ),
]


@pytest.fixture(scope="module")
def openapi():
    import json

    from openapi_core import Config, OpenAPI

    # Immich's file itself is not strictly valid OpenAPI 3.0 (its bearer scheme carries an
    # "in"), so the file is not validated; requests and answers are, against it.
    spec = json.loads(SPEC.read_text())
    schemas = spec["components"]["schemas"]

    def nullable_refs(node):
        # {"allOf": [{"$ref": X}], "nullable": true} (a face's person) means "X or null";
        # openapi-core applies the allOf to null too, so X is written out, nullable.
        if isinstance(node, dict):
            if node.get("nullable") and len(node.get("allOf") or []) == 1:
                ref = node["allOf"][0].get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    rest = {k: v for k, v in node.items() if k != "allOf"}
                    return {**schemas[ref.rsplit("/", 1)[1]], **rest}
            return {k: nullable_refs(v) for k, v in node.items()}
        if isinstance(node, list):
            return [nullable_refs(v) for v in node]
        return node

    return OpenAPI.from_dict(nullable_refs(spec), config=Config(spec_validator_cls=None))


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
        content_type = exchange.response_type.split(";")[0] or "application/json"
        if exchange.path.endswith("/thumbnail") and content_type == "image/jpeg":
            # The file says application/octet-stream; a real v1.137.3 sends image/jpeg.
            content_type = "application/octet-stream"
        response = MockResponse(
            exchange.response_body, status_code=exchange.status, content_type=content_type
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


def test_moves_and_face_writes_speak_the_openapi_file(openapi, make_workspace, immich_double):
    """The routes of carrying names over (face.read, face.update, face.create, a person by
    id, a search withDeleted) and the double's error answers, on a moved file."""
    import httpx

    from facesort.immich.api import ImmichApi
    from facesort.immich.endpoint import endpoint_from_config

    ws = make_workspace(stage=(), extras=False)
    (ws.staging / "obama1.jpg").write_bytes(
        (REPO / "tests/fixtures/faces/incoming/obama1.jpg").read_bytes()
    )
    double = immich_double(ws, flavour="v1")
    configure_immich(ws, double.url)
    double.scan_now()
    double.settle()
    target = ws.root / "library" / "obama"
    target.mkdir(parents=True)
    (ws.staging / "obama1.jpg").rename(target / "obama1.jpg")
    double.scan_now()
    double.settle()
    old = double.asset_at("/mnt/downloads/obama1.jpg", with_deleted=True)
    new = double.asset_at("/mnt/photos/library/obama/obama1.jpg")
    obama = double.person_id("obama")
    with ImmichApi(endpoint_from_config(ws.config())) as api:
        assert api.person(obama)["name"] == "obama"
        assert api.person("00000000-0000-4000-8000-000000000000") is None  # 400: gone
        (face,) = api.faces(new.id)
        assert face["person"] is None
        assert api.assign_face(obama, face["id"])["id"] == obama
        api.create_face(old.id, obama, (10, 10, 60, 60), (1480, 832))
        assert len(api.faces(old.id)) == 2
    client = httpx.Client(base_url=double.url + "/api", headers={"x-api-key": "test-api-key"})
    body = {"originalPath": "/mnt/downloads", "withDeleted": True, "withPeople": True}
    assert client.post("/search/metadata", json=body).json()["assets"]["items"]
    client.get(f"/assets/{new.id}")
    client.get(f"/people/{obama}/thumbnail")
    routes = {(e.method, e.path) for e in double.exchanges}
    assert {("PUT", f"/faces/{obama}"), ("POST", "/faces"), ("GET", f"/people/{obama}")} <= routes
    for exchange in double.exchanges:
        try:
            _validate(openapi, exchange)
        except Exception as exc:
            raise AssertionError(
                f"{exchange.method} {exchange.path} ({exchange.status}) breaks the contract: "
                f"{exc!r} {getattr(exc, '__cause__', '')!r}"
            ) from exc
