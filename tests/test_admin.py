"""`/admin`: off without a token, 401 with a wrong one, the status page with the right one."""

from __future__ import annotations

import base64

import httpx
import pytest

from bot.app import create_app
from bot.jobs import JobQueue


async def _get(app, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/admin", headers=headers or {})


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"ops:{password}".encode()).decode()}


@pytest.mark.anyio
async def test_admin_page(engine) -> None:
    assert (
        await _get(create_app(adapters=[], worker=None, metrics_engine=engine))
    ).status_code == 404
    app = create_app(adapters=[], worker=None, metrics_engine=engine, admin_token="s3cret")
    refused = await _get(app, _basic("wrong"))
    assert refused.status_code == 401 and "Basic" in refused.headers["www-authenticate"]
    assert (await _get(app)).status_code == 401

    queue = JobQueue(engine)
    queue.enqueue("transcribe", {}, key="x", max_attempts=1)
    claimed = queue.claim("w")
    queue.fail(claimed, "w", "<script>boom</script> decoder error", retry=False)
    page = await _get(app, _basic("s3cret"))
    assert page.status_code == 200
    assert "Recent failures" in page.text and "decoder error" in page.text
    assert "<script>boom" not in page.text and "&lt;script&gt;" in page.text
    assert (await _get(app, {"Authorization": "Bearer s3cret"})).status_code == 200
