"""The evaluation harness: metrics on hand-computed examples, runners on tiny files.

No model and no ../shared data: the transcriber and summariser are fakes, which is fine
here because they are the harness's inputs, not what is under test.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from pathlib import Path

import pytest

from summarizer.errors import InputError, LLMError, MediaError
from summarizer.evaluation import (
    PRF,
    RecapReport,
    TranscriptionReport,
    evaluate_recaps,
    evaluate_transcription,
    item_similarity,
    match_items,
    normalize_text,
    recap_action_texts,
    rouge,
    rouge_l,
    rouge_n,
    rouge_tokenize,
    word_error_rate,
    word_errors,
)
from summarizer.evaluation import io as evaluation_io
from summarizer.types import (
    ActionItem,
    Conversation,
    Decision,
    Recap,
    Segment,
    Transcript,
)

# --------------------------------------------------------------------------------------
# Normalisation and WER
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,   World!", "hello world"),
        ("A well-known fact.", "a well known fact"),
        ("It's Mr. Smith's", "its mister smiths"),
        ("i.e. the U.S.A.", "ie the usa"),
        ('the "forty-two line Bible" of fourteen fifty-five', "the 42 line bible of 1455"),
        ("the 42-line Bible of 1455", "the 42 line bible of 1455"),
        ("in the fifteenth century", "in the 15th century"),
        ("fifteen or twenty years", "15 or 20 years"),
        ("one hundred and five", "105"),
        ("two thousand and twenty-one", "2021"),
        ("one hundred twenty three thousand four hundred fifty six", "123456"),
        ("nineteen hundred", "1900"),
        ("a hundred days", "100 days"),
        ("one two three", "1 2 3"),
        ("the twenty first", "the 21st"),
        ("two point five percent", "2.5 percent"),
        ("$5 and 12.50, or 5%", "5 dollars and 12.50 or 5 percent"),
        ("1,000,000 people", "1000000 people"),
        ("2 million", "2000000"),
        ("bread and butter", "bread and butter"),
        ("one hundred and", "100 and"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_normalize_text_basic_leaves_numbers_alone() -> None:
    assert normalize_text("Forty-two, Mr. X!", standardize=False) == "forty two mr x"


def test_wer_is_corpus_level() -> None:
    refs = ["the cat sat on the mat", "hello world"]
    hyps = ["the cat sat on mat", "hello there world"]
    # 1 deletion + 1 insertion over 8 reference words, not the mean of 1/6 and 1/2.
    assert word_error_rate(refs, hyps) == pytest.approx(2 / 8)
    counts = word_errors(refs, hyps)
    assert (counts.hits, counts.substitutions, counts.deletions, counts.insertions) == (
        7,
        0,
        1,
        1,
    )


def test_wer_ignores_case_punctuation_and_number_spelling() -> None:
    ref = "The Gutenberg, or 'forty-two line Bible' of about fourteen fifty-five."
    hyp = "the Gutenberg or 42-line Bible of about 1455"
    assert word_error_rate([ref], [hyp]) == 0.0
    assert word_error_rate([ref], [hyp], standardize=False) > 0.0


def test_wer_substitution_and_empty_cases() -> None:
    assert word_error_rate(["a b c d"], ["a x c d"]) == pytest.approx(0.25)
    assert word_error_rate(["a b"], [""]) == 1.0
    assert word_errors("", "extra words").wer is None
    with pytest.raises(ValueError, match="no words"):
        word_error_rate([""], ["x"])
    with pytest.raises(ValueError, match="2 references but 1"):
        word_error_rate(["a", "b"], ["a"])


# --------------------------------------------------------------------------------------
# ROUGE
# --------------------------------------------------------------------------------------


def test_rouge_tokenize_like_rouge_score() -> None:
    assert rouge_tokenize("Don't stop—the A-team's 2nd!") == [
        "don",
        "t",
        "stop",
        "the",
        "a",
        "team",
        "s",
        "2nd",
    ]


def test_rouge_hand_computed() -> None:
    ref, pred = "The cat sat on the mat.", "the cat lay on the mat"
    scores = rouge(ref, pred)
    # unigrams: the x2, cat, on, mat shared = 5 of 6 each side
    assert scores.rouge1.fmeasure == pytest.approx(5 / 6)
    # bigrams: the-cat, on-the, the-mat shared = 3 of 5 each side
    assert scores.rouge2.precision == pytest.approx(3 / 5)
    assert scores.rouge2.fmeasure == pytest.approx(3 / 5)
    # LCS: the cat on the mat = 5
    assert scores.rouge_l.fmeasure == pytest.approx(5 / 6)


def test_rouge_asymmetric_lengths_and_clipping() -> None:
    r1 = rouge_n("a b c d", "a c", 1)
    assert (r1.precision, r1.recall) == (1.0, 0.5)
    assert r1.fmeasure == pytest.approx(2 / 3)
    assert rouge_n("a b c d", "a c", 2).fmeasure == 0.0
    assert rouge_l("a b c d", "a c").fmeasure == pytest.approx(2 / 3)
    # Counts are clipped: "the" is only twice in the reference.
    clipped = rouge_n("the the", "the the the", 1)
    assert (clipped.precision, clipped.recall) == pytest.approx((2 / 3, 1.0))
    assert clipped.fmeasure == pytest.approx(0.8)


def test_rouge_empty_sides_score_zero() -> None:
    assert rouge_n("", "words", 1).fmeasure == 0.0
    assert rouge_l("words", "").fmeasure == 0.0
    assert rouge_n("one", "one", 2).fmeasure == 0.0  # no bigram on either side


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def test_rouge_l_matches_textbook_lcs() -> None:
    rng = random.Random(0)
    for _ in range(300):
        ref = rng.choices("abcd", k=rng.randint(1, 9))
        pred = rng.choices("abcd", k=rng.randint(1, 9))
        got = rouge_l(" ".join(ref), " ".join(pred))
        assert got.recall == pytest.approx(_lcs(ref, pred) / len(ref))
        assert got.precision == pytest.approx(_lcs(ref, pred) / len(pred))


# --------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------


def test_item_similarity_rewards_paraphrase_not_subset() -> None:
    ref = "The industrial designer will work on the working design of the remote."
    assert item_similarity("Industrial Designer work on the working design", ref) >= 70
    # token_set_ratio alone would give 100 here: one word is a subset of the sentence.
    assert item_similarity("remote", ref) < 70
    assert item_similarity("", ref) == 0.0


def test_match_empty_cases() -> None:
    both = match_items([], [])
    assert (both.precision, both.recall, both.f1) == (1.0, 1.0, 1.0)
    missed = match_items([], ["send the minutes"])
    assert (missed.precision, missed.recall, missed.f1) == (1.0, 0.0, 0.0)
    spurious = match_items(["send the minutes"], [])
    assert (spurious.precision, spurious.recall, spurious.f1) == (0.0, 1.0, 0.0)


def test_match_is_one_to_one() -> None:
    result = match_items(
        ["Project Manager send the minutes", "Project Manager send the minutes today"],
        ["The project manager will send the minutes."],
    )
    assert result.true_positives == 1
    assert (result.precision, result.recall) == (0.5, 1.0)
    assert result.f1 == pytest.approx(2 / 3)
    assert result.unmatched_predictions == ("Project Manager send the minutes today",)
    assert result.pairs[0].prediction_index == 0


def test_match_greedy_best_first_with_threshold() -> None:
    table = {("p0", "r0"): 90, ("p0", "r1"): 80, ("p1", "r0"): 85, ("p1", "r1"): 10}
    result = match_items(["p0", "p1"], ["r0", "r1"], scorer=lambda p, r: table[p, r])
    # p0-r0 (90) goes first; p1-r0 and p0-r1 are then blocked; p1-r1 is under 70.
    assert [(p.prediction, p.reference) for p in result.pairs] == [("p0", "r0")]
    assert result.unmatched_references == ("r1",)
    lower = match_items(["p0", "p1"], ["r0", "r1"], scorer=lambda p, r: table[p, r], threshold=5)
    assert lower.true_positives == 2


def test_prf_micro_average() -> None:
    total = PRF.total([PRF(1, 2, 1), PRF(0, 0, 3), PRF(0, 0, 0)])
    assert (total.true_positives, total.predicted, total.reference) == (1, 2, 4)
    assert (total.precision, total.recall) == (0.5, 0.25)
    assert total.f1 == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------
# Runners: helpers
# --------------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each clip or meeting takes exactly 0.5 s."""
    ticks = itertools.count(step=0.5)
    monkeypatch.setattr(evaluation_io, "clock", lambda: next(ticks))


def _transcript(text: str) -> Transcript:
    return Transcript(segments=[Segment(start=0.0, end=1.0, text=text)])


# --------------------------------------------------------------------------------------
# Transcription runner
# --------------------------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    (tmp_path / "clips").mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        (tmp_path / "clips" / name).write_bytes(b"RIFF")
    return _write_jsonl(
        tmp_path / "manifest.jsonl",
        [
            {"id": "a", "audio": "clips/a.wav", "text": "Forty-two apples.", "duration_s": 2},
            "",
            {"id": "b", "audio": "clips/b.wav", "text": "the cat sat", "duration_s": 1.5},
            {"id": "c", "audio": "clips/c.wav", "text": "three more words", "duration_s": 0.5},
        ],
    )


def test_evaluate_transcription(manifest: Path, fixed_clock: None) -> None:
    heard = {"a.wav": "42 apples", "b.wav": "the cat sat down", "c.wav": "three more words"}
    seen: list[str] = []
    report = evaluate_transcription(
        manifest, lambda p: _transcript(heard[p.name]), on_item=lambda c: seen.append(c.id)
    )
    assert isinstance(report, TranscriptionReport)
    assert seen == ["a", "b", "c"]
    a, b, _ = report.items
    assert a.wer == 0.0
    assert b.wer == pytest.approx(1 / 3)
    assert a.processing_s == pytest.approx(0.5)
    assert report.wer == pytest.approx(1 / 8)  # 1 insertion over 2 + 3 + 3 words
    assert report.wer_basic == pytest.approx(3 / 9)  # "forty two" vs "42": 1 sub + 1 del
    assert report.audio_s == pytest.approx(4.0)
    assert report.rtf == pytest.approx(1.5 / 4.0)
    markdown = report.to_markdown(per_item=True)
    assert "| manifest.jsonl | 3 (0 failed) | 4.0 | 1.5 | 0.375 | 12.5% |" in markdown
    assert "| b | 1.5 | 0.50 | 33.3% | the cat sat down |" in markdown
    data = json.loads(json.dumps(report.to_dict()))
    assert data["wer"] == pytest.approx(1 / 8)
    assert data["items"][1]["insertions"] == 1


def test_evaluate_transcription_limit_reads_no_further(manifest: Path) -> None:
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n")
    report = evaluate_transcription(manifest, lambda p: _transcript("x"), limit=2)
    assert [c.id for c in report.items] == ["a", "b"]
    with pytest.raises(InputError, match="line 4: invalid JSON"):
        evaluate_transcription(manifest, lambda p: _transcript("x"))


def test_evaluate_transcription_records_media_errors(manifest: Path) -> None:
    def transcribe(path: Path) -> Transcript:
        if path.name == "b.wav":
            raise MediaError("cannot decode b.wav")
        return _transcript("forty two apples" if path.name == "a.wav" else "three more words")

    report = evaluate_transcription(manifest, transcribe)
    assert [c.id for c in report.failures] == ["b"]
    assert report.items[1].hypothesis == ""
    assert report.wer == pytest.approx(3 / 8)  # b's three words count as deleted
    assert "- b: cannot decode b.wav" in report.to_markdown()


def test_evaluate_transcription_lets_bugs_through(manifest: Path) -> None:
    def broken(path: Path) -> Transcript:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        evaluate_transcription(manifest, broken)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["{bad json"], "manifest.jsonl line 1: invalid JSON"),
        (
            [{"id": "a", "audio": "a.wav", "text": "x", "duration_s": 1}, "[1, 2]"],
            "line 2: expected a JSON object",
        ),
        ([{"id": "a", "audio": "a.wav", "duration_s": 1}], "line 1: missing field 'text'"),
        (
            [{"id": "a", "audio": "a.wav", "text": "x", "duration_s": "1"}],
            "field 'duration_s' must be a number",
        ),
        ([{"id": "a", "audio": "gone.wav", "text": "x", "duration_s": 1}], "audio file not found"),
        ([], "no clips to evaluate"),
    ],
)
def test_evaluate_transcription_input_errors(
    tmp_path: Path, rows: list[object], message: str
) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    path = _write_jsonl(tmp_path / "manifest.jsonl", rows)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        evaluate_transcription(path, lambda p: _transcript("x"))
    assert "\n" not in str(info.value)


def test_evaluate_transcription_missing_file_and_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        evaluate_transcription(tmp_path / "nope.jsonl", lambda p: _transcript("x"))
    path = _write_jsonl(tmp_path / "m.jsonl", [])
    with pytest.raises(InputError, match="limit"):
        evaluate_transcription(path, lambda p: _transcript("x"), limit=0)


# --------------------------------------------------------------------------------------
# Recap runner
# --------------------------------------------------------------------------------------

M1 = {
    "meeting_id": "M1",
    "turns": [
        {"speaker": "Project Manager", "text": "We agreed the remote sells for 25 Euro."},
        {"speaker": "Industrial Designer", "text": "I will look into the components."},
    ],
    "summary": "A kick-off meeting.",
    "abstract": "The team agreed the remote sells for 25 Euro.",
    "actions": [
        "The industrial designer will look into the components.",
        "The marketing expert will research user requirements.",
    ],
    "decisions": ["The remote will sell for 25 Euro."],
}
M2 = {  # no abstract: ROUGE against the summary; "*NA*" means no action item
    "meeting_id": "M2",
    "turns": [{"speaker": "Grad A", "text": "Nothing to do."}],
    "summary": "Nothing was decided.",
    "actions": ["*NA*"],
    "decisions": [],
}
M3 = {  # like ICSI: neither actions nor decisions annotated
    "meeting_id": "M3",
    "turns": [{"speaker": "Professor B", "text": "Status update."}],
    "summary": "Status update.",
    "abstract": "",
}

RECAPS = {
    "M1": Recap(
        summary="The team agreed the remote sells for 25 Euro.",
        key_points=["Components next"],
        action_items=[
            ActionItem(task="look into the components", owner="Industrial Designer"),
            ActionItem(task="order pizza", owner="Project Manager"),
        ],
        decisions=[Decision(text="The remote sells for 25 Euro")],
    ),
    "M2": Recap(summary="Nothing was decided."),
    "M3": Recap(summary="Status update.", action_items=[ActionItem(task="write the report")]),
}


def _summarize(conversation: Conversation) -> Recap:
    assert conversation.title is not None
    return RECAPS[conversation.title]


def test_evaluate_recaps(tmp_path: Path, fixed_clock: None) -> None:
    path = _write_jsonl(tmp_path / "meetings.jsonl", [M1, M2, M3])
    conversations: list[Conversation] = []

    def summarize(conversation: Conversation) -> Recap:
        conversations.append(conversation)
        return _summarize(conversation)

    report = evaluate_recaps(path, summarize)
    assert isinstance(report, RecapReport)
    first = conversations[0].messages[1]
    assert (first.author, first.ref) == ("Industrial Designer", "turn-1")

    m1, m2, m3 = report.items
    assert (m1.reference_kind, m2.reference_kind, m3.reference_kind) == (
        "abstract",
        "summary",
        "summary",
    )
    assert m2.rouge.rouge1.fmeasure == 1.0
    assert m1.seconds == pytest.approx(0.5)
    assert m1.words == 14
    assert m1.actions is not None and m1.actions.true_positives == 1
    assert m1.actions.pairs[0].reference.startswith("The industrial designer")
    assert m1.decisions is not None and m1.decisions.true_positives == 1
    assert m2.actions is not None and m2.actions.reference == 0  # "*NA*" dropped
    assert m3.actions is None and m3.decisions is None  # skipped, not zero

    # Micro-average over M1 and M2 only: 1 of 2 predicted, 1 of 2 reference.
    actions = report.actions
    assert actions is not None
    assert (actions.precision, actions.recall) == (0.5, 0.5)
    assert report.no_action_meetings == (1, 1)
    decisions = report.decisions
    assert decisions is not None and decisions.f1 == 1.0
    assert report.engines == {"offline": 3}

    markdown = report.to_markdown(per_item=True)
    assert "| meetings.jsonl | 3 (0 failed) | offline ×3 |" in markdown
    assert "| 50.0 / 50.0 / 50.0 | 1 / 1 | 100.0 / 100.0 / 100.0 | 0.50 |" in markdown
    assert "| M3 |" in markdown and "n/a" in markdown
    data = json.loads(json.dumps(report.to_dict()))
    assert data["actions"]["f1"] == 0.5
    assert data["items"][2]["actions"] is None
    assert data["items"][0]["actions"]["unmatched_predictions"] == ["Project Manager order pizza"]


def test_predicted_actions_where_none_are_expected_are_false_positives(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [{**M2, "actions": []}])
    report = evaluate_recaps(
        path, lambda c: Recap(summary="x", action_items=[ActionItem(task="t")])
    )
    actions = report.actions
    assert actions is not None
    assert (actions.precision, actions.recall, actions.f1) == (0.0, 1.0, 0.0)
    assert report.no_action_meetings == (0, 1)


def test_recap_action_texts() -> None:
    recap = Recap(summary="", action_items=[ActionItem(task="b", owner="A"), ActionItem(task="c")])
    assert recap_action_texts(recap) == ["A b", "c"]
    assert recap_action_texts(recap, prefix_owner=False) == ["b", "c"]


def test_evaluate_recaps_records_llm_failures(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "m.jsonl", [M1, M2])

    def summarize(conversation: Conversation) -> Recap:
        if conversation.title == "M1":
            raise LLMError("the model timed out")
        return _summarize(conversation)

    report = evaluate_recaps(path, summarize, limit=1)
    (m1,) = report.items
    assert m1.error == "the model timed out"
    assert m1.rouge.rouge1.fmeasure == 0.0
    assert m1.actions is not None and m1.actions.recall == 0.0
    assert "- M1: the model timed out" in report.to_markdown()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([M1, '{"meeting_id": "M2",'], "meetings.jsonl line 2: invalid JSON"),
        (
            [{k: v for k, v in M1.items() if k != "meeting_id"}],
            "line 1: missing field 'meeting_id'",
        ),
        ([{k: v for k, v in M2.items() if k != "summary"}], "missing field 'summary'"),
        ([{**M1, "turns": "hello"}], "field 'turns' must be a list"),
        ([{**M1, "turns": [{"speaker": "A"}]}], "turn 0 must have a string 'speaker' and 'text'"),
        ([{**M1, "actions": [1, 2]}], "field 'actions' must be a list of strings"),
        ([], "no meetings to evaluate"),
    ],
)
def test_evaluate_recaps_input_errors(tmp_path: Path, rows: list[object], message: str) -> None:
    path = _write_jsonl(tmp_path / "meetings.jsonl", rows)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        evaluate_recaps(path, _summarize)
    assert "\n" not in str(info.value)


def test_evaluate_recaps_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape("nope.jsonl: no such file")):
        evaluate_recaps(tmp_path / "nope.jsonl", _summarize)
