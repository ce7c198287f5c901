import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from summarizer.conversation_formats import load_conversation
from summarizer.errors import InputError


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_slack_export_channel_folder(tmp_path: Path) -> None:
    _write(
        tmp_path / "users.json",
        [
            {"id": "U1", "name": "ann", "profile": {"real_name": "Ann Lee", "display_name": ""}},
            {"id": "U2", "name": "bob", "profile": {"real_name": "Bob Roy", "display_name": "bob"}},
        ],
    )
    channel = tmp_path / "dev"
    _write(
        channel / "2026-11-24.json",
        [{"type": "message", "user": "U2", "text": "second day", "ts": "1764000000.000200"}],
    )
    _write(
        channel / "2026-11-23.json",
        [
            {"type": "message", "subtype": "channel_join", "user": "U1", "text": "joined"},
            {
                "type": "message",
                "user": "U1",
                "text": "<@U2> can you check <https://ci.example/1|the build> &amp; <#C9|ops>?",
                "ts": "1763900000.000100",
            },
        ],
    )
    conversation = load_conversation(channel)
    assert conversation.title == "#dev"
    first, second = conversation.messages
    assert (first.author, first.author_id) == ("Ann Lee", "U1")
    assert first.text == "@bob can you check the build & #ops?"
    assert first.at == datetime.fromtimestamp(1763900000.0001, tz=UTC)
    assert first.ref == "2025-11-23 12:13 UTC"  # for a reader, not epoch seconds
    assert second.author == "bob"


def test_json_list_of_user_text_ts(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "chat.json",
        [
            {"user": "ann", "text": "hello", "ts": 1763900000},
            {"user": "bob", "text": "hi", "ts": "2026-11-23T10:00:00Z"},
            {"user": "bob", "text": "   "},
        ],
    )
    conversation = load_conversation(path)
    assert [m.author for m in conversation.messages] == ["ann", "bob"]
    assert conversation.messages[1].at == datetime(2026, 11, 23, 10, tzinfo=UTC)
    refs = [m.ref for m in conversation.messages]
    assert refs == ["2025-11-23 12:13 UTC", "2026-11-23 10:00 UTC"]


def test_plain_lines_with_times_and_continuations(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "notes.txt",
        "[2026-11-23 09:00] Ann Lee: first line\n  continued here\n\nBob: reply\n",
    )
    conversation = load_conversation(path)
    assert [(m.author, m.text) for m in conversation.messages] == [
        ("Ann Lee", "first line\ncontinued here"),
        ("Bob", "reply"),
    ]
    assert conversation.messages[0].at == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert conversation.messages[1].ref == "line 4"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "", "the file is empty"),
        ("bad.json", "[{", "not valid JSON \\(line 1"),
        ("shape.json", '{"a": 1}', "expected a JSON list"),
        ("notext.json", '[{"user": "a"}]', "message 1 has no text"),
        ("nouser.json", '[{"text": "a"}]', "message 1 has no user"),
        ("prose.txt", "Just some prose without speakers", "expected 'Name: text' lines"),
        ("when.json", '[{"user": "a", "text": "b", "ts": "yesterday"}]', "unreadable time"),
    ],
)
def test_bad_inputs_say_what_is_wrong(tmp_path: Path, name, content, message) -> None:
    with pytest.raises(InputError, match=message):
        load_conversation(_write(tmp_path / name, content))


def test_missing_path_and_empty_export(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_conversation(tmp_path / "nope.txt")
    (tmp_path / "empty-channel").mkdir()
    with pytest.raises(InputError, match="no day files"):
        load_conversation(tmp_path / "empty-channel")
