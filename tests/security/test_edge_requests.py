"""Issue #11, items 12, 13 and 17 (part): odd requests get a 4xx, never a 500 or a leak.

- 12: deeply nested JSON (1,000 and 100,000 levels) on `/v1/recaps` and the playground's
  JSON endpoints is a 400 with the documented error, and nothing is stored.
- 13: `/admin` answers 401 to non-ASCII, undecodable or colon-less credentials.
- 17: `/readyz` names the failing check but never echoes the exception; `/metrics` is
  behind METRICS_TOKEN when it is set.

All against the app `balafon serve` runs (`build_runtime`), over httpx's ASGI transport.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.main import Settings, build_runtime
from tests.db import migrated_sqlite
from tests.security.edge_support import table_rows

API_TOKEN = "edge-api-token"
ADMIN_TOKEN = "edge-admin-token"
METRICS_TOKEN = "edge-metrics-token"
ACCESS_TOKEN = "edge-access-token"
PLAYGROUND = {
    "Content-Type": "application/json",
    "X-Playground": "1",
    "Authorization": "Bearer " + ACCESS_TOKEN,
}


def _settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("api_token", API_TOKEN)
    values.setdefault("access_token", ACCESS_TOKEN)
    return Settings(
        _env_file=None,
        database_url=migrated_sqlite(tmp_path / "edge.db"),
        data_dir=str(tmp_path / "data"),
        **values,
    )


async def _call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        return await c.request(method, path, **kwargs)


def _nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    # a plausible request whose message id hides the nesting
    inner = b"[" * depth + b"]" * depth
    return b'{"messages": [{"author": "Ann", "text": "hi", "id": ' + inner + b"}]}"


# --- 12: deeply nested JSON --------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("kind", ["array", "object", "envelope"])
async def test_deeply_nested_json_on_the_api_is_a_400(
    tmp_path: Path, depth: int, kind: str
) -> None:
    runtime = build_runtime(_settings(tmp_path))
    rows = table_rows(tmp_path / "edge.db")
    answer = await _call(
        runtime.app,
        "POST",
        "/v1/recaps",
        content=_nested(depth, kind),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"},
    )
    # The envelope at 1,000 levels may parse; the schema then refuses it (422, not 500).
    expected = {400, 422} if kind == "envelope" else {400}
    assert answer.status_code in expected, answer.text[:300]
    body = answer.json()
    assert set(body) >= {"error", "message"} and body["error"] in {"malformed", "invalid"}
    assert table_rows(tmp_path / "edge.db") == rows  # no recap, no job


@pytest.mark.anyio
@pytest.mark.parametrize("depth", [1_000, 10_000])  # 100,000 levels is over its 64 KB: 413
@pytest.mark.parametrize(
    "path", ["/playground/api/messages", "/playground/api/users", "/playground/api/channels"]
)
async def test_deeply_nested_json_on_the_playground_is_a_400(
    tmp_path: Path, depth: int, path: str
) -> None:
    runtime = build_runtime(_settings(tmp_path), host="127.0.0.1")
    assert runtime.playground
    rows = table_rows(tmp_path / "edge.db")
    for kind in ("array", "object"):
        answer = await _call(
            runtime.app,
            "POST",
            path,
            content=_nested(depth, kind),
            headers=PLAYGROUND,
        )
        assert answer.status_code == 400, (kind, answer.text[:300])
        assert answer.json()["error"] == "invalid"
    assert table_rows(tmp_path / "edge.db") == rows  # nothing said, nobody added


@pytest.mark.anyio
async def test_a_nested_body_over_the_playground_limit_is_a_413(tmp_path: Path) -> None:
    runtime = build_runtime(_settings(tmp_path), host="127.0.0.1")
    answer = await _call(
        runtime.app,
        "POST",
        "/playground/api/messages",
        content=_nested(100_000, "array"),
        headers=PLAYGROUND,
    )
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"


# --- 13: /admin credentials --------------------------------------------------------------


def _basic(raw: bytes) -> bytes:
    return b"Basic " + base64.b64encode(raw)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "authorization",
    [
        _basic("ops:pässwörd".encode()),  # non-ASCII password, UTF-8
        _basic("ops:pässwörd".encode("latin-1")),  # non-ASCII, not even UTF-8
        "Bearer tökén".encode(),  # raw non-ASCII bytes in the header
        "Basic ópś".encode(),  # raw non-ASCII where base64 belongs
        b"Basic !!!not-base64!!!",
        b"Basic " + base64.b64encode(b"\xff\xfe\x00"),
        _basic(ADMIN_TOKEN.encode()),  # the token, but no `user:` before it
        _basic(b"ops:" + ADMIN_TOKEN.encode() + b"x"),
        b"Basic",
        b"Bearer",
    ],
)
async def test_admin_refuses_odd_credentials_with_401(tmp_path: Path, authorization: bytes) -> None:
    runtime = build_runtime(_settings(tmp_path, admin_token=ADMIN_TOKEN))
    answer = await _call(runtime.app, "GET", "/admin", headers={"Authorization": authorization})
    assert answer.status_code == 401
    assert "Recent failures" not in answer.text


@pytest.mark.anyio
async def test_admin_with_a_non_ascii_token(tmp_path: Path) -> None:
    token = "sécret-tökén"
    runtime = build_runtime(_settings(tmp_path, admin_token=token))
    right = _basic(b"ops:" + token.encode())
    bearer = b"Bearer " + token.encode()
    for good in (right, bearer):
        answer = await _call(runtime.app, "GET", "/admin", headers={"Authorization": good})
        assert answer.status_code == 200, good
    for wrong in (_basic(b"ops:" + token.encode("latin-1")), b"Bearer s\xe9cret", b"Bearer x"):
        answer = await _call(runtime.app, "GET", "/admin", headers={"Authorization": wrong})
        assert answer.status_code == 401, wrong


# --- 17: /readyz and /metrics -------------------------------------------------------------


@pytest.mark.anyio
async def test_readyz_names_the_failing_check_but_keeps_its_reason_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "secret-model-folder"
    missing.mkdir()
    runtime = build_runtime(_settings(tmp_path, whisper_model=str(missing)))
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        answer = await _call(runtime.app, "GET", "/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False, "failures": {"model": "failed"}}
    assert "secret-model-folder" not in answer.text and "model.bin" not in answer.text
    assert "secret-model-folder" in caplog.text  # the operator still learns why


@pytest.mark.anyio
async def test_readyz_does_not_echo_a_broker_url(tmp_path: Path) -> None:
    runtime = build_runtime(
        _settings(
            tmp_path,
            job_executor="celery",
            celery_broker_url="redis://:hunter2@127.0.0.1:1/0",
        )
    )
    answer = await _call(runtime.app, "GET", "/readyz")
    assert answer.status_code == 503 and answer.json()["failures"] == {"broker": "failed"}
    assert "hunter2" not in answer.text and "127.0.0.1" not in answer.text


@pytest.mark.anyio
async def test_metrics_behind_metrics_token(tmp_path: Path) -> None:
    runtime = build_runtime(_settings(tmp_path, metrics_token=METRICS_TOKEN))
    for authorization in (None, b"Bearer wrong", "Bearer tökén".encode(), b"Basic x"):
        headers = {"Authorization": authorization} if authorization else {}
        answer = await _call(runtime.app, "GET", "/metrics", headers=headers)
        assert answer.status_code == 401, authorization
        assert "balafon_requests_total" not in answer.text
    answer = await _call(
        runtime.app, "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert answer.status_code == 200 and "balafon_jobs" in answer.text


@pytest.mark.anyio
async def test_metrics_open_without_metrics_token(tmp_path: Path) -> None:
    runtime = build_runtime(_settings(tmp_path))
    answer = await _call(runtime.app, "GET", "/metrics")
    assert answer.status_code == 200 and "balafon_requests_total" in answer.text


@pytest.mark.anyio
@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deeply_nested_json_to_teams_is_refused_not_a_500(tmp_path: Path, depth: int) -> None:
    """/api/messages parses before it authenticates: a nesting too deep to parse is an
    unreadable body (401 without a token, 400 in anonymous mode), never a crash."""
    body = b"[" * depth + b"]" * depth
    for values, status in (
        ({"microsoft_app_id": "edge-app", "microsoft_app_password": "edge-secret"}, 401),
        ({"teams_anonymous": True}, 400),
    ):
        runtime = build_runtime(_settings(tmp_path / str(status), **values), host="127.0.0.1")
        answer = await _call(
            runtime.app,
            "POST",
            "/api/messages",
            content=b'{"type": "message", "text": ' + body + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == status, answer.text[:300]
