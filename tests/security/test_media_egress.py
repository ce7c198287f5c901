"""Issue #11, item 18: no traffic the operator did not configure.

`balafon serve` runs with every endpoint on loopback, in a network namespace where every
address leads back to recorders (tests/security/media_netns.py), and transcribes a clip
through /v1 with a recap from a fake OpenAI server. Before the fix, onnxruntime (loaded by
faster-whisper's voice detection) looked up mobile.events.data.microsoft.com ten seconds
later. Now nothing is looked up and nothing is dialled but the API and the LLM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.quiet import disable_library_telemetry
from tests.speech import synthesize

DRIVER = Path(__file__).with_name("media_netns.py")


def _namespaces_available() -> str | None:
    """Why the test cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"cannot create a network namespace here: {probe.stderr.decode().strip()}"
    return None


def test_library_telemetry_is_off_unless_the_operator_set_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("ORT_DISABLE_TELEMETRY", "DO_NOT_TRACK", "LANGSMITH_TRACING"):
        monkeypatch.setenv(name, "")  # so that monkeypatch restores the variable afterwards
        monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "0")  # the operator's own choice
    monkeypatch.setenv("LANGCHAIN_TRACING_V2", "true")
    disable_library_telemetry()
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1" and os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "0"
    assert "LANGSMITH_TRACING" not in os.environ  # tracing the operator asked for stays on
    monkeypatch.delenv("LANGCHAIN_TRACING_V2")
    disable_library_telemetry()
    assert os.environ["LANGSMITH_TRACING"] == "false"


@pytest.mark.slow
def test_serve_and_a_transcription_contact_only_configured_hosts(tmp_path: Path) -> None:
    if reason := _namespaces_available():
        pytest.skip(f"{reason} (the egress test needs root in a Linux network namespace)")
    clip = synthesize("We agreed to ship the release on Friday.", tmp_path / "clip.wav")
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        ["unshare", "--net", "--mount", sys.executable, str(DRIVER), str(tmp_path), str(clip)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    serve_log = tmp_path.joinpath("serve.log")
    context = f"{done.stderr[-3000:]}\n--- serve.log ---\n" + (
        serve_log.read_text(errors="replace")[-3000:] if serve_log.exists() else ""
    )
    assert done.returncode == 0, context
    report = json.loads(tmp_path.joinpath("report.json").read_text())

    # The work really happened: speech was transcribed (VAD included) and the LLM recapped.
    assert report["job"] == {"status": "done", "error": None}, context
    assert "friday" in report["text"].lower()
    assert report["llm_requests"] >= 1
    # ... and nobody else was asked for or dialled.
    assert report["lookups"] == [], "DNS look-ups of unconfigured hosts"
    assert report["dialled"] == [], "connections to unconfigured hosts"
    if report["strace"]:
        allowed = {f"127.0.0.1:{report['port']}", f"127.0.0.1:{report['llm_port']}"}
        assert set(report["connects"]) <= allowed, report["connects"]
