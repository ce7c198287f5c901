"""The `balafon` command line: outputs, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import run
from bot.main import Settings
from summarizer.audio import probe
from summarizer.errors import MediaError

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=str(tmp_path / "data"))


def test_recap_markdown_of_a_conversation(settings, capsys) -> None:
    assert run(["recap", str(FIXTURES / "release_thread.json")], settings=settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Recap: release_thread")
    assert "- [ ] **Tom Becker**: Add the missing index (due 2026-11-19)" in out
    assert "## Decisions" in out and "## Open questions" in out


def test_recap_markdown_leaves_empty_sections_out_and_dates_refs(
    settings, tmp_path, capsys
) -> None:
    """One rule for empty sections (left out, as in chat), and refs a reader can use: the
    time a message was sent, not the epoch seconds the file holds."""
    chat = tmp_path / "chat.json"
    chat.write_text(
        json.dumps(
            [
                {"user": "ann", "text": "We decided to ship on Monday.", "ts": 1763900000},
                {"user": "bob", "text": "Great, thanks everyone.", "ts": 1763900060},
            ]
        )
    )
    assert run(["recap", str(chat)], settings=settings) == 0
    out = capsys.readouterr().out
    assert "- We decided to ship on Monday _(2025-11-23 12:13 UTC)_" in out
    assert "1763900000" not in out
    assert "## Action items" not in out and "None" not in out


def test_recap_json_to_a_file(settings, tmp_path, capsys) -> None:
    output = tmp_path / "recap.json"
    code = run(
        ["recap", str(FIXTURES / "release_thread.json"), "--format", "json", "-o", str(output)],
        settings=settings,
    )
    assert code == 0
    data = json.loads(output.read_text())
    assert {item["owner"] for item in data["action_items"]} == {"Tom Becker", "Lena Ortiz"}
    assert data["engine"] == "offline"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "no such file"),
        ("empty.txt", "", "the file is empty"),
        ("broken.json", "[{", "not valid JSON"),
        ("notes.pdf", "%PDF-1.4 not media", "isn't audio or video"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(settings, tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert run(["recap", str(path)], settings=settings) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("balafon: error: ")
    assert message in err[0]


def test_errors_read_the_same_for_conversations_recordings_and_chat(
    settings, tmp_path, capsys
) -> None:
    """One style: "<file>: <clause>." in the CLI; the same clause after "I couldn't
    transcribe “<file>”:" in chat."""
    from bot import sentences as messages

    for name in ("empty.txt", "empty.mp3"):
        path = tmp_path / name
        path.write_bytes(b"")
        assert run(["recap", str(path)], settings=settings) == 2
        assert capsys.readouterr().err == f"balafon: error: {path}: the file is empty.\n"
    path = tmp_path / "empty.mp3"
    assert run(["transcribe", str(path)], settings=settings) == 2
    assert capsys.readouterr().err == f"balafon: error: {path}: the file is empty.\n"
    with pytest.raises(MediaError) as caught:
        probe(path)
    chat = messages.MEDIA_FAILED.format(name=caught.value.source, reason=caught.value)
    assert chat == "I couldn't transcribe “empty.mp3”: the file is empty."


def test_transcribe_missing_file(settings, tmp_path, capsys) -> None:
    assert run(["transcribe", str(tmp_path / "nope.wav")], settings=settings) == 2
    assert "no such file" in capsys.readouterr().err


def test_console_script_exit_status(tmp_path) -> None:
    """The installed entry point, as a user runs it, exits 2 with one line on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "recap", str(tmp_path / "nope.txt")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"balafon: error: {tmp_path / 'nope.txt'}: no such file or folder."
    )


def test_db_upgrade_creates_the_schema(tmp_path, capsys) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'db' / 'b.db'}")
    assert run(["db", "upgrade"], settings=settings) == 0
    assert capsys.readouterr().out.strip().startswith("schema revision: 0")
    assert (tmp_path / "db" / "b.db").exists()


def test_export_of_an_empty_database(tmp_path, capsys) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'e.db'}")
    out = tmp_path / "items.csv"
    assert (
        run(["export", "action-items", "--format", "csv", "-o", str(out)], settings=settings) == 0
    )
    assert out.read_text() == ""
    assert "Exported 0 action-items." in capsys.readouterr().err
