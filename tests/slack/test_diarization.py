"""A several-voice recording shared in Slack: the posted transcript names its speakers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.slack.conftest import GENERAL, Harness
from tests.speech import synthesize_dialogue

pytestmark = pytest.mark.anyio

TURNS = [
    (0, "Good morning. The new release is ready for the review today."),
    (1, "Thanks. I will test the payment page after lunch."),
    (0, "Great, then we ship it on Friday if nothing breaks."),
    (1, "I will write the release notes tonight."),
]


@pytest.mark.slow
async def test_the_posted_transcript_labels_each_voice(slack: Harness, tmp_path: Path) -> None:
    audio, _ = synthesize_dialogue(TURNS, tmp_path / "call.m4a", "m4a")
    file = slack.fake.add_file("call.m4a", audio.read_bytes(), "audio/mp4")
    message = await slack.share_file(file)
    await slack.settle()

    _, transcript, recap = slack.thread_replies(GENERAL, message["ts"])
    posted = "\n".join(b["text"]["text"] for b in transcript["blocks"] if "text" in b)
    lines = re.findall(r"^\[\d+:\d\d\] (Speaker \d+): (.*)$", posted, re.MULTILINE)
    assert [who for who, _ in lines] == ["Speaker 1", "Speaker 2", "Speaker 1", "Speaker 2"]
    assert "release is ready" in lines[0][1] and "payment" in lines[1][1]
    # The recap quotes the voices but gives no item to "Speaker 2": a voice is not a person.
    recap_text = "\n".join(b["text"]["text"] for b in recap["blocks"] if "text" in b)
    assert "release notes" in recap_text and "— Speaker" not in recap_text
