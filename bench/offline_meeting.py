"""Offline recap speed on a one-hour meeting (~1,000 dialogue acts) and a 1,000-message chat.

Run by hand (never in tests):

    python bench/offline_meeting.py --acts /work/shared/data/meetings/dev_dialogue_acts.jsonl \
        [--chat /work/shared/data/chat/ubuntu_irc_dev.jsonl] [--repeat 5]

Meeting: the acts (with words) of the val meetings in order, cut to the first 1,000, one
message per act, as `balafon eval recap` builds them. The model is loaded (and timed) once
first; each recap is then timed on its own and the median is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from summarizer.meeting_model import MODEL_PATH, MeetingModel, default_model
from summarizer.offline import is_meeting, offline_recap
from summarizer.text import clean_spoken, sentences_of
from summarizer.types import Conversation, Message


def _meeting(path: Path, acts: int) -> Conversation:
    messages: list[Message] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("qmsum_split") != "val":
                continue
            for act in row["dialogue_acts"]:
                if clean_spoken(act.get("text") or ""):
                    messages.append(Message(author=act["role"], text=act["text"], ref=act["id"]))
            if len(messages) >= acts:
                return Conversation(messages=messages[:acts])
    return Conversation(messages=messages)


def _chat(path: Path, count: int) -> Conversation:
    """The first `count` lines of a chat log ({"user", "text"} per line)."""
    messages: list[Message] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            row = json.loads(line)
            messages.append(Message(author=row["user"], text=row["text"], ref=f"m{number}"))
            if len(messages) >= count:
                break
    return Conversation(messages=messages)


def _time(conversation: Conversation, repeat: int) -> tuple[float, float]:
    """(first, median) seconds: the first run also fills the feature-hash cache."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        offline_recap(conversation)
        timings.append(time.perf_counter() - started)
    return timings[0], statistics.median(timings)


def _ms(times: tuple[float, float]) -> str:
    return f"recap first {1000 * times[0]:.0f} ms, median {1000 * times[1]:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--acts", type=Path, required=True)
    parser.add_argument("--chat", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    MeetingModel.load(MODEL_PATH)
    print(
        f"model load: {1000 * (time.perf_counter() - started):.0f} ms "
        f"({MODEL_PATH.stat().st_size / 1e6:.2f} MB)"
    )
    default_model()  # the cached copy the engine uses
    meeting = _meeting(args.acts, args.count)
    spoken = is_meeting(meeting, sentences_of(meeting))
    words = sum(len(m.text.split()) for m in meeting.messages)
    print(
        f"meeting: {len(meeting.messages)} acts, {words} words, model path: {spoken}, "
        + _ms(_time(meeting, args.repeat))
    )
    if args.chat:
        chat = _chat(args.chat, args.count)
        print(f"chat: {len(chat.messages)} messages, " + _ms(_time(chat, args.repeat)))


if __name__ == "__main__":
    main()
