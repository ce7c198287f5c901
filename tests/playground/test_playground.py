"""The playground without a browser: its JSON API drives the real core (commands, jobs,
history, files), its platform keeps the ChatPlatform contract, and it answers only the
access token (cookie or Bearer) and only its own page."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from adapters.playground import PlaygroundAdapter
from adapters.playground.platform import place
from adapters.playground.store import PlaygroundStore, StoreError
from bot import sentences as messages
from bot.errors import PermanentJobError
from bot.inbound import CommandRequest
from bot.ports import ChatPlatform, FileRef, ReplyTarget, TextReply
from bot.storage.db import downgrade, upgrade
from summarizer.errors import MediaError, MediaTooLargeError
from tests.playground.conftest import (
    ACCESS_COOKIE,
    ACCESS_TOKEN,
    WRITE,
    Server,
    Stack,
    local_client,
    make_stack,
)


async def say(client: httpx.AsyncClient, user: str, text: str, **extra: object) -> dict:
    answer = await client.post(
        "/playground/api/messages",
        json={"channel": "general", "user": user, "text": text, **extra},
        headers=WRITE,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def view(client: httpx.AsyncClient, user: str, channel: str = "general") -> list[dict]:
    answer = await client.get(f"/playground/api/channels/{channel}/messages?user={user}")
    assert answer.status_code == 200
    return answer.json()["messages"]


@pytest.fixture
async def client(stack: Stack):
    await stack.playground.startup()
    async with local_client(stack.app) as http:
        yield http


@pytest.mark.anyio
async def test_first_start_shows_people_channels_and_a_welcome(stack: Stack, client) -> None:
    home = await client.get("/")
    assert home.status_code == 307 and home.headers["location"] == "/playground/"
    page = await client.get("/playground/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    state = json.loads(page.text.split('id="state">', 1)[1].split("</script>", 1)[0])
    assert [u["name"] for u in state["users"]] == ["Ann", "Bob", "Cy"]
    assert [c["id"] for c in state["channels"]] == ["general", "design"]
    assert state["max_upload_bytes"] == stack.core.services.max_media_bytes
    [welcome] = await view(client, "ann")
    assert "Welcome to the balafon playground" in welcome["html"]
    assert (await client.get("/playground/static/app.js")).status_code == 200
    await stack.playground.startup()  # a restart seeds nothing twice
    assert len(await view(client, "ann")) == 1


@pytest.mark.anyio
async def test_mention_in_a_thread_recaps_it_and_the_ack_is_private(stack: Stack, client) -> None:
    root = (await say(client, "ann", "The release candidate is ready."))["message"]["id"]
    await say(client, "bob", "I will update the changelog by Thursday.", thread=root)
    reply = (await say(client, "ann", "We agreed to ship on Friday.", thread=root))["message"]
    await say(client, "cy", "Unrelated: lunch at noon?")
    # Answering a reply means answering in its thread (as Slack does).
    asked = await say(client, "bob", "@balafon recap", thread=reply["id"])
    assert asked["open_thread"] == root and asked["message"]["thread"] == root

    def acks(listing: list[dict]) -> list[dict]:
        return [m for m in listing if messages.WORKING_RECAP[:20] in m["html"]]

    [ack] = acks(await view(client, "bob"))
    assert "it will be posted in this thread" in ack["html"]
    assert acks(await view(client, "ann")) == []  # only the requester sees it
    assert await stack.worker.drain() == 1
    assert acks(await view(client, "bob")) == []  # the recap is here: the ack is gone
    [recap] = [m for m in await view(client, "ann") if "card recap" in m["html"]]
    assert recap["thread"] == root and recap["kind"] == "bot"
    assert "Update the changelog" in recap["html"] and "@Bob" in recap["html"]
    assert "lunch" not in recap["html"]
    # The source link points at Bob's message, in a form the page can follow.
    assert f'href="/playground/?channel=general&amp;message={root + 1}"' in recap["html"]


@pytest.mark.anyio
async def test_an_ack_posted_after_the_job_answered_is_withdrawn_at_once(
    stack: Stack, client
) -> None:
    """The in-process worker may finish before the adapter posts its "working on it"."""
    await say(client, "ann", "I'll write the migration guide by Friday.")
    request = CommandRequest(
        place=place("general"), user_id="bob", text="recap 12h", event_key="race", via="slash"
    )
    outcome = await stack.core.handle_command(request)
    assert await stack.worker.drain() == 1  # the recap is posted first
    target = ReplyTarget(place=place("general"), ephemeral_to="bob")
    await stack.core.acknowledge(stack.playground, target, outcome)
    seen = await view(client, "bob")
    assert any("card recap" in m["html"] for m in seen)
    assert not any(messages.WORKING_RECAP[:20] in m["html"] for m in seen)
    gone = stack.playground.store.events_after(0)[-1]  # the open pages are told
    assert gone["kind"] == "message" and stack.playground.store.message(gone["message_id"]) is None


@pytest.mark.anyio
async def test_slash_command_answers_the_requester_then_posts_in_the_channel(
    stack: Stack, client
) -> None:
    await say(client, "ann", "I'll write the migration guide by Friday.")
    await say(client, "ann", "/recap 12h", timezone="Europe/Paris")
    bob_sees = await view(client, "bob")
    assert not any("/recap 12h" in m["html"] for m in bob_sees)  # nobody else sees it
    mine = [m for m in await view(client, "ann") if "ephemeral" in m["html"]]
    assert ["/recap 12h" in mine[0]["html"], messages.WORKING_RECAP[:20] in mine[1]["html"]] == [
        True,
        True,
    ]
    assert "it will be posted in this channel" in mine[1]["html"]
    await stack.worker.drain()
    [recap] = [m for m in await view(client, "bob") if "card recap" in m["html"]]
    assert recap["thread"] is None and "Write the migration guide" in recap["html"]
    still = [m for m in await view(client, "ann") if "ephemeral" in m["html"]]
    assert len(still) == 1 and "/recap 12h" in still[0]["html"]  # the ack went, not the command

    helped = await say(client, "cy", "/recap help")
    assert helped["open_thread"] is None
    [help_reply] = [m for m in await view(client, "cy") if "Here&#x27;s what I can do" in m["html"]]
    assert "ephemeral" in help_reply["html"]
    unknown = await client.post(
        "/playground/api/messages",
        json={"channel": "general", "user": "cy", "text": "/dance now"},
        headers=WRITE,
    )
    assert unknown.status_code == 400 and "/recap" in unknown.json()["message"]


@pytest.mark.anyio
async def test_history_comes_from_the_store_with_edits_and_deletes(stack: Stack, client) -> None:
    platform = stack.playground
    first = (await say(client, "ann", "I'll update the dashboards tomorrow."))["message"]["id"]
    second = (await say(client, "bob", "I'll write the FAQ by Friday."))["message"]["id"]
    await say(client, "bob", "@balafon help")  # a command: not conversation
    await platform.post(
        ReplyTarget(place=place("general"), ephemeral_to="bob"), TextReply(text="psst")
    )
    history = await platform.fetch_messages(place("general"))
    assert [m.text for m in history if not m.from_bot] == [
        "I'll update the dashboards tomorrow.",
        "I'll write the FAQ by Friday.",
    ]
    assert all("psst" not in m.text for m in history)
    assert [m.from_bot for m in history] == [True, False, False, True]  # welcome, help reply

    edited = await client.patch(
        f"/playground/api/messages/{first}",
        json={"user": "ann", "text": "I'll update the status page tomorrow."},
        headers=WRITE,
    )
    assert edited.status_code == 200 and "(edited)" in edited.json()["message"]["html"]
    not_mine = await client.delete(f"/playground/api/messages/{second}?user=ann", headers=WRITE)
    assert not_mine.status_code == 400
    gone = await client.delete(f"/playground/api/messages/{second}?user=bob", headers=WRITE)
    assert "This message was deleted" in gone.json()["message"]["html"]

    # The core's store followed both (the recap sees the edit and not the deleted message).
    workspace = stack.core.services.repo.get_workspace("playground", "local")
    stored = stack.core.services.repo.messages(
        stack.core.services.repo.get_channel(workspace.id, "general")
    )
    assert [m.text for m in stored] == ["I'll update the status page tomorrow."]

    # A restart (a new adapter over the same database) finds everything where it was.
    again = PlaygroundAdapter(
        core=stack.core, files_dir=platform.files_dir, access_token=ACCESS_TOKEN
    )
    reread = await again.fetch_messages(place("general"))
    assert [m.text for m in reread if not m.from_bot] == ["I'll update the status page tomorrow."]
    oldest = history[1].at  # from Ann's message on: hers and the help reply
    assert len(await again.fetch_messages(place("general"), oldest=oldest)) == 2


@pytest.mark.anyio
async def test_uploads_transcribe_media_only_and_respect_the_limit(
    sqlite_engine, tmp_path: Path
) -> None:
    stack = make_stack(sqlite_engine, tmp_path, max_media_bytes=50_000)
    await stack.playground.startup()
    form = {"channel": "general", "user": "ann", "text": "notes"}
    async with local_client(stack.app) as client:
        page = await client.post(
            "/playground/api/uploads",
            data=form,
            files={"file": ("notes.html", b"<script>alert(1)</script>", "text/html")},
            headers=WRITE,
        )
        recording = await client.post(
            "/playground/api/uploads",
            data={**form, "text": ""},
            files={"file": ("call.ogg", b"OggS" + b"\0" * 1000, "audio/ogg")},
            headers=WRITE,
        )
        too_big = await client.post(
            "/playground/api/uploads",
            data=form,
            files={"file": ("long.wav", b"\0" * 60_000, "audio/wav")},
            headers=WRITE,
        )
        [shared] = [m for m in await view(client, "ann") if "notes.html" in m["html"]]
        file_id = shared["html"].split("/playground/api/files/", 1)[1].split('"', 1)[0]
        served = await client.get(f"/playground/api/files/{file_id}")
    assert page.status_code == 201 and page.json()["open_thread"] is None  # nothing to transcribe
    assert recording.status_code == 201
    assert recording.json()["open_thread"] == recording.json()["message"]["id"]
    assert stack.core.services.queue.counts() == {
        "queued": 1
    }  # one transcription job, for the audio
    assert too_big.status_code == 413 and "limit" in too_big.json()["message"]
    # An uploaded page is never served as a page on our origin.
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert len(list(stack.playground.files_dir.iterdir())) == 2  # the refused one is not kept


@pytest.mark.anyio
async def test_the_same_attachment_sent_twice_is_shared_and_transcribed_once(
    stack: Stack, client
) -> None:
    form = {"channel": "general", "user": "ann", "text": "", "upload": "0123456789abcdef0123"}
    sent = []
    for _ in range(2):  # Enter pressed again, or a retry after a lost answer
        sent.append(
            await client.post(
                "/playground/api/uploads",
                data=form,
                files={"file": ("call.ogg", b"OggS" + b"\0" * 1000, "audio/ogg")},
                headers=WRITE,
            )
        )
    first, second = sent
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["message"]["id"] == first.json()["message"]["id"]
    assert len([m for m in await view(client, "ann") if "call.ogg" in m["html"]]) == 1
    assert stack.core.services.queue.counts() == {"queued": 1}  # one transcription
    assert len(list(stack.playground.files_dir.iterdir())) == 1
    odd = await client.post(
        "/playground/api/uploads",
        data={**form, "upload": "../../etc"},
        files={"file": ("call.ogg", b"OggS", "audio/ogg")},
        headers=WRITE,
    )
    assert odd.status_code == 400


@pytest.mark.anyio
async def test_only_the_access_token_and_only_the_page_may_use_it(sqlite_engine, tmp_path) -> None:
    stack = make_stack(sqlite_engine, tmp_path)
    await stack.playground.startup()
    body = {"channel": "general", "user": "ann", "text": "hi"}
    post = "/playground/api/messages"
    local = httpx.ASGITransport(app=stack.app, client=("127.0.0.1", 1234))
    async with httpx.AsyncClient(transport=local, base_url="http://127.0.0.1:8000") as stranger:
        locked = await stranger.get("/playground/")  # on this machine, without the token
        state = await stranger.get("/playground/api/state")
        bearer = await stranger.get(
            "/playground/api/state", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
        )
    assert locked.status_code == 401 and "balafon serve" in locked.text
    assert "Ann" not in locked.text  # no data
    assert state.status_code == 401 and state.json()["error"] == "unauthorized"
    assert bearer.status_code == 200  # programs send the token
    async with local_client(stack.app) as client:
        no_header = await client.post(post, json=body)
        other_site = await client.post(
            post, json=body, headers={**WRITE, "Origin": "http://evil.example"}
        )
        same_site = await client.post(
            post, json=body, headers={**WRITE, "Origin": "http://127.0.0.1:8000"}
        )
    assert [no_header.status_code, other_site.status_code, same_site.status_code] == [
        403,
        403,
        201,
    ]

    # From anywhere (a reverse proxy, another host), the token is what counts.
    remote = httpx.ASGITransport(app=stack.app, client=("203.0.113.9", 1234))
    async with httpx.AsyncClient(
        transport=remote, base_url="http://bot.example", cookies=ACCESS_COOKIE
    ) as member:
        assert (await member.get("/playground/")).status_code == 200


def test_live_stream_replays_from_the_last_event_and_hides_others_ephemerals(
    stack: Stack,
) -> None:
    def events(response: httpx.Response, count: int) -> list[tuple[int, dict]]:
        found: list[tuple[int, dict]] = []
        event_id = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                found.append((event_id, json.loads(line[6:])))
                if len(found) == count:
                    break
        return found

    with (
        Server(stack.app) as server,
        httpx.Client(base_url=server.url, timeout=10, cookies=ACCESS_COOKIE) as http,
    ):
        start = http.get("/playground/api/channels/general/messages?user=bob").json()
        with http.stream(
            "GET", f"/playground/api/events?user=bob&after={start['last_event']}"
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            http.post(
                "/playground/api/messages",
                json={"channel": "general", "user": "ann", "text": "/recap help"},
                headers=WRITE,
            )  # Ann's command and its answer are hers alone
            http.post(
                "/playground/api/messages",
                json={"channel": "general", "user": "ann", "text": "Hello Bob"},
                headers=WRITE,
            )
            [(first_id, hello)] = events(stream, 1)
        assert hello["type"] == "message" and "Hello Bob" in hello["message"]["html"]
        http.post(
            "/playground/api/channels",
            json={"name": "Release Train"},
            headers=WRITE,
        )
        with http.stream(
            "GET", "/playground/api/events?user=bob", headers={"Last-Event-ID": str(first_id)}
        ) as stream:
            [(_, directory)] = events(stream, 1)  # only what happened since: the channel
        assert directory == {"type": "directory"}
        state = http.get("/playground/api/state").json()
        assert "release-train" in [c["id"] for c in state["channels"]]


@pytest.mark.anyio
async def test_platform_contract(stack: Stack, tmp_path: Path) -> None:
    platform = stack.playground
    await platform.startup()
    assert isinstance(platform, ChatPlatform) and platform.name == "playground"
    with pytest.raises(PermanentJobError):
        await platform.post(ReplyTarget(place=place("nowhere")), TextReply(text="hi"))
    await platform.update(ReplyTarget(place=place("general")), "not-a-number", TextReply(text="x"))
    assert await platform.permalink(place("general"), "t=0:01") is None
    assert (
        await platform.permalink(place("general"), "7") == "/playground/?channel=general&message=7"
    )
    assert await platform.is_member(place("general"), "ann")
    assert not await platform.is_member(place("general"), "mallory")
    assert await platform.fetch_messages(place("general", "t=0:01")) == []

    said = await platform.inbound.share(
        channel="design", user="ann", text="", file_id="f" * 32, name="a.wav",
        mimetype="audio/wav", size=3,
    )  # fmt: skip
    platform.file_path("f" * 32).write_bytes(b"abc")
    ref = FileRef(id="f" * 32, name="a.wav", size=3)
    with pytest.raises(MediaError):  # another channel's file
        await platform.download(place("general"), ref, tmp_path / "x.wav", max_bytes=100)
    with pytest.raises(MediaTooLargeError):
        await platform.download(place("design"), ref, tmp_path / "x.wav", max_bytes=2)
    copied = await platform.download(place("design"), ref, tmp_path / "x.wav", max_bytes=100)
    assert copied.read_bytes() == b"abc" and said.open_thread == said.message_id


def test_migration_0004_round_trip(engine) -> None:
    from sqlalchemy import inspect

    names = {"playground_users", "playground_channels", "playground_messages",
             "playground_files", "playground_events"}  # fmt: skip
    assert names <= set(inspect(engine).get_table_names())
    downgrade(engine, "0003")
    assert not names & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert names <= set(inspect(engine).get_table_names())


def test_store_on_each_database(engine) -> None:
    store = PlaygroundStore(engine)
    store.add_user("Ann")
    store.add_channel("#General")
    with pytest.raises(StoreError):
        store.add_channel("general")
    with pytest.raises(StoreError):
        store.add_user("ann")

    def post(text: str, **fields: object) -> int:
        values = {"kind": "message", "author_id": "ann", "author_name": "Ann", **fields}
        return store.add_message(channel_id="general", text=text, **values)

    root = post("root")
    reply = post("reply", thread_id=root)
    nested = post("a reply to the reply", thread_id=reply)
    assert store.message(nested).thread_id == root
    with pytest.raises(StoreError):
        post("lost", thread_id=9999)
    secret = post("", kind="bot", reply={"type": "text", "text": "psst"}, visible_to="ann")
    assert [m.id for m in store.history("general", thread_id=root)] == [root, reply, nested]
    assert [m.id for m in store.channel_messages("general", "ann")] == [root, reply, nested, secret]
    assert secret not in [m.id for m in store.channel_messages("general", "bob")]

    mark = store.last_event()
    store.set_reply(secret, {"type": "text", "text": "psst!"}, "psst!")
    store.add_file(file_id="f1", message_id=root, name="a.ogg", mimetype="audio/ogg", size=4)
    assert [(e["kind"], e["message_id"]) for e in store.events_after(mark)] == [
        ("message", secret),
        ("message", root),
    ]
    assert [f.name for f in store.message(root).files] == ["a.ogg"]
    [removed] = store.delete(root)
    assert removed.id == "f1" and store.file("f1") is None
    assert [m.id for m in store.history("general")] == [reply, nested]  # a tombstone is no history
    assert store.message(root).deleted_at is not None


@pytest.mark.anyio
async def test_a_channel_that_does_not_exist_is_said_at_once(stack: Stack, client) -> None:
    await say(client, "ann", "I'll write the migration guide by Friday.")
    await say(client, "ann", "/recap 7d #nope")
    asked = await say(client, "bob", "@balafon recap 24h #nope")
    mine = [m for m in await view(client, "ann") if "ephemeral" in m["html"]]
    assert "no channel #nope that I can see" in mine[-1]["html"]
    assert not any(messages.WORKING_RECAP[:20] in m["html"] for m in await view(client, "ann"))
    [answer] = [m for m in await view(client, "bob") if "no channel #nope" in m["html"]]
    assert answer["thread"] == asked["open_thread"] == asked["message"]["id"]
    assert stack.core.services.queue.counts() == {} and await stack.worker.drain() == 0
    # A channel that exists, named in any case, is found.
    await say(client, "bob", "I will draw the new logo by Monday.", channel="design")
    await say(client, "cy", "/recap 24h #Design")
    assert await stack.worker.drain() == 1
    assert any("Draw the new logo" in m["html"] for m in await view(client, "cy"))
