"""The meeting model: reproducible training, loading, and its use on spoken meetings.

Everything runs on a small synthetic dialogue-act file written by the test (the real AMI
data lives outside the repository).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.cli import run
from summarizer.evaluation.acts import evaluate_act_recaps, is_dialogue_act_file
from summarizer.meeting_model import MODEL_PATH, MeetingModel, Unit, tokens
from summarizer.meeting_training import read_meetings
from summarizer.offline import is_meeting, offline_recap
from summarizer.text import sentences_of, spoken_only
from summarizer.types import Conversation, Message

_TALK = [
    "Um so we looked at the {x} yesterday.",
    "Uh I think the {x} is a bit too big.",
    "Yeah.",
    "Mm-hmm, the {x} was fine in the last test.",
    "Right, and the {x} costs about twelve euros.",
    "Okay.",
]
_ACTION = "I'll send the {x} report to everyone by tomorrow."
_DECISION = "So we agreed to go with the {x} then."


def _meeting(meeting_id: str, split: str, topic: str) -> dict:
    acts, abstract = [], [{"id": f"{meeting_id}.a1", "text": f"They discussed the {topic}."}]
    for block in range(12):
        for i, template in enumerate(_TALK):
            acts.append((template.format(x=topic), None, i == 0))
        if block % 4 == 1:
            acts.append((_ACTION.format(x=topic), "actions", True))
        if block % 4 == 3:
            acts.append((_DECISION.format(x=topic), "decisions", True))
    rows = []
    for n, (text, section, ext) in enumerate(acts):
        links = [{"section": section, "sentence_id": f"{meeting_id}.{section}1"}] if section else []
        rows.append(
            {
                "id": f"{meeting_id}.{n}",
                "spk": "AB"[n % 2],
                "role": ["Project Manager", "Marketing"][n % 2],
                "start": float(n),
                "end": n + 0.5,
                "text": text,
                "da": "inform",
                "ext": ext,
                "links": links,
            }
        )
    return {
        "meeting_id": meeting_id,
        "source": "AMI",
        "qmsum_split": split,
        "speakers": {"A": "Project Manager", "B": "Marketing"},
        "dialogue_acts": rows,
        "abstractive": {
            "abstract": abstract,
            "actions": [{"id": f"{meeting_id}.actions1", "text": "Send the report."}],
            "decisions": [{"id": f"{meeting_id}.decisions1", "text": "The design."}],
        },
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("acts") / "acts.jsonl"
    rows = [
        _meeting("ES2002a", "train", "battery"),
        _meeting("ES2002b", "train", "screen"),
        _meeting("IS1000a", "train", "button"),
        _meeting("TS3003a", "train", "casing"),
        _meeting("TS3003b", "train", "charger"),
        _meeting("ES2006a", "val", "speaker"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("model")
    first, second = out / "one.npz", out / "two.npz"
    assert run(["train", "meetings", str(data), "-o", str(first), "--folds", "3"]) == 0
    assert run(["train", "meetings", str(data), "-o", str(second), "--folds", "3"]) == 0
    return first, second


def test_training_is_byte_identical_on_a_rerun(trained: tuple[Path, Path]) -> None:
    first, second = trained
    assert first.read_bytes() == second.read_bytes()
    model = MeetingModel.load(first)
    assert model.weights.dtype == np.float32
    assert model.labels == ("action", "decision", "problem", "ext")


def test_training_reads_only_the_train_split(data: Path) -> None:
    meetings = list(read_meetings(data))
    assert [m.split for m in meetings].count("val") == 1
    # The dialogue-act type is never an input: units carry only text and speaker.
    assert set(Unit.__dataclass_fields__) == {"text", "speaker"}
    assert meetings[0].series == "ES2002" and meetings[0].scenario == "ES"


def test_topic_words_are_not_features() -> None:
    assert tokens("I'll send the battery report") == tokens("I'll send the screen report")
    assert tokens("So we agreed to go with the casing?")[-1] == "?"
    # The everyday vocabulary holds none of AMI's remote-control topic words.
    assert tokens("the remote button screen battery") == ["the", "_"]


def test_trained_model_finds_the_commitment(trained: tuple[Path, Path]) -> None:
    model = MeetingModel.load(trained[0])
    units = [Unit(t.format(x="remote"), "A") for t in _TALK] + [
        Unit(_ACTION.format(x="remote"), "B")
    ]
    probs = model.predict(units)
    assert probs["action"].argmax() == len(units) - 1


def _spoken_meeting() -> Conversation:
    lines = []
    for block in range(15):
        lines += [("Ann", t.format(x="budget")) for t in _TALK]
        if block == 5:
            lines.append(("Bob", "I'll send the budget report to everyone by tomorrow."))
        if block == 9:  # another task: a repeat of Bob's would merge into his item
            lines.append(("Ann", "The budget forecast needs to go to the board by tomorrow."))
    return Conversation(
        messages=[Message(author=a, text=t, ref=f"act-{i}") for i, (a, t) in enumerate(lines)]
    )


def test_spoken_meeting_uses_the_model_and_owners_are_never_guessed(
    trained: tuple[Path, Path],
) -> None:
    conversation = _spoken_meeting()
    assert is_meeting(conversation, sentences_of(conversation))
    recap = offline_recap(conversation, model=MeetingModel.load(trained[0]))
    said = {m.ref: m.text for m in conversation.messages}
    owners = {said[a.ref]: a.owner for a in recap.action_items}
    commitment = "I'll send the budget report to everyone by tomorrow."
    assert owners.get(commitment) == "Bob"  # a first-person commitment: the speaker
    assert owners.get("The budget forecast needs to go to the board by tomorrow.", "") is None
    assert all(owner is None for text, owner in owners.items() if text != commitment)
    assert all(0 <= a.confidence <= 1 for a in recap.action_items)
    assert recap.summary


def test_chat_threads_keep_the_rules() -> None:
    chat = Conversation(
        messages=[
            Message(author="Ann", text="I'll send the deck by Friday.", ref="m1"),
            Message(author="Bob", text="Great, thanks.", ref="m2"),
        ]
    )
    assert not is_meeting(chat, sentences_of(chat))


def test_eval_scores_cited_acts_and_rouge(data: Path, trained: tuple[Path, Path]) -> None:
    assert is_dialogue_act_file(data)
    model = MeetingModel.load(trained[0])
    report = evaluate_act_recaps(
        data, lambda c: offline_recap(c, model=model), split="val", clock=lambda: 0.0
    )
    assert len(report.items) == 1
    actions = report.total("actions")
    assert actions.reference == 3  # blocks 1, 5, 9 of 12
    assert 0 <= actions.correct <= actions.predicted
    assert report.mean_rouge("lead_r1") > 0
    assert "Acts P / R / F1" in report.to_markdown()
    rules = evaluate_act_recaps(data, lambda c: offline_recap(c, model=False), split="val")
    assert rules.total("actions").reference == 3


def test_the_shipped_model_loads_quickly() -> None:
    import time

    if not MODEL_PATH.is_file():
        pytest.skip("no bundled model in this checkout")
    started = time.perf_counter()
    model = MeetingModel.load(MODEL_PATH)
    assert time.perf_counter() - started < 1.0  # generous: it takes a few ms
    assert model.weights.shape[1] == len(model.labels)
    assert (MODEL_PATH.parent / "LICENSE.md").is_file()


def test_only_real_commitments_name_the_speaker() -> None:
    from summarizer.meeting_owners import commits as _commits

    assert _commits("I'll send the report to everyone")
    assert _commits("Okay, I'm gonna do the slides then")
    assert not _commits("Which I'll presume he'll work out")
    assert not _commits("I'll just say this")
    assert not _commits("The designer is going to work on the case")


def test_meeting_items_keep_the_due_dates_people_said(trained: tuple[Path, Path]) -> None:
    """A spoken meeting goes through the model, yet "by tomorrow" still resolves against
    when it was said, as in chat (the rules' reading of the same sentence is kept)."""
    said_at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    spoken = _spoken_meeting()
    conversation = Conversation(
        messages=[m.model_copy(update={"at": said_at}) for m in spoken.messages]
    )
    recap = offline_recap(conversation, model=MeetingModel.load(trained[0]))
    [item] = [a for a in recap.action_items if a.owner == "Bob"]
    assert item.due == date(2026, 12, 3)
    assert item.task.startswith("Send the budget report")
    assert 0 <= item.confidence <= 1


def test_a_meeting_summary_names_who_said_a_first_person_sentence(
    trained: tuple[Path, Path],
) -> None:
    lines = []
    for block in range(24):
        topic = ["budget", "schedule", "launch", "hiring"][block % 4]
        lines += [
            ("Ann", f"Um I looked at the {topic} plan yesterday."),
            ("Bob", f"Uh I think the {topic} plan is a bit too big."),
            ("Ann", "Yeah."),
            ("Bob", f"I checked the {topic} numbers with the finance team."),
            ("Ann", "Mm-hmm."),
        ]
    conversation = Conversation(
        messages=[Message(author=a, text=t, ref=f"act-{i}") for i, (a, t) in enumerate(lines)]
    )
    assert is_meeting(conversation, sentences_of(conversation))
    recap = offline_recap(conversation, model=MeetingModel.load(trained[0]))
    first_person = [s for s in recap.summary.split(". ") if " I " in f" {s} "]
    assert first_person, recap.summary  # the summary quotes somebody's "I…"
    assert all(s.startswith(("Ann: ", "Bob: ")) for s in first_person), recap.summary


def test_a_meeting_lists_only_its_likeliest_open_questions(trained: tuple[Path, Path]) -> None:
    conversation = _spoken_meeting()
    asked = _QUESTIONS
    messages = list(conversation.messages)
    for k, question in enumerate(asked):  # spread out, nobody answers
        messages.insert(10 + 12 * k, Message(author="Bob", text=question, ref=f"q-{k}"))
    conversation = Conversation(messages=messages)
    rules_only = offline_recap(conversation, model=False)
    assert len(rules_only.open_questions) == len(asked)
    recap = offline_recap(conversation, model=MeetingModel.load(trained[0]))
    assert 0 < len(recap.open_questions) <= 5
    refs = [q.ref for q in recap.open_questions]
    assert refs == sorted(refs, key=lambda ref: int(ref.split("-")[1]))  # in the order asked


_QUESTIONS = [
    "How many seats does the venue in Lisbon have?",
    "What happened to the hiring freeze memo?",
    "Where are the signed vendor contracts stored?",
    "How long will the pricing review take?",
    "What does legal say about the trademark filing?",
    "Where should the launch party happen?",
    "How often do travel refunds arrive late?",
    "What exactly is blocking the roadmap slides?",
]


def test_a_meeting_keeps_marked_questions_and_clear_commitments(
    trained: tuple[Path, Path],
) -> None:
    conversation = _spoken_meeting()
    messages = list(conversation.messages)
    messages.insert(20, Message(author="Bob", text="Q: who signs off on the new logo?", ref="q"))
    messages.insert(
        40, Message(author="Ann", text="I'll email the signed contract to legal.", ref="c")
    )
    model = MeetingModel.load(trained[0])
    recap = offline_recap(Conversation(messages=messages), model=model)
    assert "q" in [q.ref for q in recap.open_questions]  # marked open: always listed
    spoken = spoken_only(sentences_of(Conversation(messages=messages)))
    probs = model.predict([Unit(s.raw, s.author) for s in spoken])["action"]
    said = float(probs[[s.ref for s in spoken].index("c")])
    # A commitment the rules read is kept when the model finds it half as likely as its
    # cut, not when it finds it less likely than that.
    k = model.labels.index("action")
    for cut, kept in ((said * 1.5, True), (said * 3, False)):
        model.thresholds[k] = cut
        recap = offline_recap(Conversation(messages=messages), model=model)
        cited = {a.ref: a.owner for a in recap.action_items}
        assert ("c" in cited) is kept
        assert cited.get("c", "Ann") == "Ann"
