"""The offline engine: an extractive recap plus items; no network, no heavy model.

Chat threads and short transcripts go through the extraction rules, which are precise on
written commitments ("I'll send…", "Action: …"). Spoken meetings (many short, disfluent
acts) go through the meeting model (summarizer/meeting_model.py), which was trained on
annotated meetings and finds the action items, decisions and summary sentences that the
rules miss there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from summarizer.chat_summary import attributed, chat_summary
from summarizer.dates import find_due
from summarizer.extractive import extractive_summary
from summarizer.items import dedupe_similar, tidy_action_items
from summarizer.languages import guess_text_language, language_name
from summarizer.meeting_model import MeetingModel, Unit, default_model
from summarizer.meeting_owners import meeting_owner, spoken_task
from summarizer.rules import Extraction, extract
from summarizer.text import (
    Sentence,
    clean_clause,
    sentences_of,
    spoken_only,
    words,
)
from summarizer.types import ActionItem, Conversation, Decision, OpenQuestion, Recap

ENGINE_NAME = "offline"
# A conversation is a spoken meeting when it is long enough for the model's context and
# position features to mean something and it reads like speech.
MEETING_MIN_SENTENCES = 60
_SPOKEN_SHARE = 0.05
_DISFLUENCY = re.compile(r"(?<![\w'-])(?:u+h+m*|u+m+|e+r+m+|h+m+|m+-?h+m+)(?![\w'-])", re.I)
_MIN_ITEM_WORDS = 3
# The summary's candidates: the model's top fifth of the sentences (at least 30).
_SHORTLIST_SHARE = 0.2
_SHORTLIST_MIN = 30
# Decision acts are hard to tell from the discussion around them (about 1 in 10 of the
# model's picks is right on held-out series at any cut-off), so a meeting shows at most
# this many, the most likely ones: chosen on the train split's cross-validation.
_MAX_DECISIONS = 8
# A spoken meeting asks dozens of questions the talk answers in ways the chat rules cannot
# read ("Shall we pull this up?", "Could you go back?"): a recap lists the few the model
# finds summary-worthy. On AMI val 16 per meeting (38% in the extractive summary) become
# 4.8 (60%), the rule chosen on the train split (docs/quality.md).
_MAX_MEETING_QUESTIONS = 5
_MARKED_QUESTION = re.compile(r"^\W*(?:open question|question|q)\s*[:\-–]", re.I)


def is_meeting(conversation: Conversation, sentences: Sequence[Sentence]) -> bool:
    """Long and spoken: a transcript (cited by timestamps) or disfluent text."""
    if len(sentences) < MEETING_MIN_SENTENCES:
        return False
    refs = [m.ref or "" for m in conversation.messages]
    if refs and all(ref.startswith("t=") for ref in refs):
        return True
    disfluent = sum(1 for s in sentences if _DISFLUENCY.search(s.raw))
    return disfluent >= _SPOKEN_SHARE * len(sentences)


def offline_recap(conversation: Conversation, *, model: MeetingModel | bool | None = True) -> Recap:
    """Recap a conversation offline. `model=True` uses the shipped meeting model for
    spoken meetings, a MeetingModel uses that one, False/None keeps the rules only."""
    participants = conversation.participants
    sentences = sentences_of(conversation)
    if language := foreign_language(conversation, sentences):
        return _foreign_recap(sentences, participants, language)
    found = extract(sentences, participants, conversation.participant_ids)
    chosen = default_model() if model is True else (model or None)
    spoken = spoken_only(sentences)  # the model never saw a bare "yes" on its own
    if chosen is not None and is_meeting(conversation, spoken):
        return _meeting_recap(chosen, conversation, spoken, found)
    summary, key_points = chat_summary(
        sentences, found.used, found.actions, found.decisions, participants
    )
    return Recap(
        summary=summary or "Nothing substantial was said.",
        key_points=key_points,
        decisions=found.decisions,
        action_items=found.actions,
        open_questions=found.questions,
        participants=participants,
        engine=ENGINE_NAME,
    )


def foreign_language(conversation: Conversation, sentences: Sequence[Sentence]) -> str | None:
    """The conversation's language when it is not English: a transcript's as Whisper
    heard it, else a guess from the chat's common words; None for English or unknown."""
    language = conversation.language
    if language is None:
        language = guess_text_language(" ".join(s.text for s in sentences[:400]))
    return language if language not in (None, "en") else None


def _foreign_recap(sentences: list[Sentence], participants: list[str], language: str) -> Recap:
    """The rules and the meeting model read English: on another language they would
    find nothing, or worse, English-shaped nonsense. Keep what is language-neutral (the
    representative sentences) and say plainly what is missing."""
    summary, key_sentences = extractive_summary(sentences)
    name = language_name(language)
    return Recap(
        summary=summary or "Nothing substantial was said.",
        key_points=[_key_point(s, participants) for s in key_sentences],
        participants=participants,
        engine=ENGINE_NAME,
        notes=[
            f"This conversation is in {name}, and the offline engine handles English "
            "only: this recap is sentences picked from it, with no action items, decisions "
            f"or questions. An LLM engine (LLM_MODEL) writes full recaps in {name}."
        ],
    )


def _key_point(sentence: Sentence, participants: Sequence[str]) -> str:
    text = clean_clause(sentence.text)
    return f"{text} ({sentence.author})" if sentence.author and len(participants) > 1 else text


def _meeting_recap(
    model: MeetingModel,
    conversation: Conversation,
    sentences: Sequence[Sentence],
    rules: Extraction,
) -> Recap:
    participants = conversation.participants
    ids = conversation.participant_ids
    probs = model.predict([Unit(text=s.raw, speaker=s.author) for s in sentences])
    used: set[int] = set()
    actions: list[ActionItem] = []
    action_threshold = model.threshold("action")
    for i in _positives(probs["action"], action_threshold):
        sentence = sentences[i]
        if len(words(clean_clause(sentence.text))) < _MIN_ITEM_WORDS:
            continue
        task = spoken_task(sentence.text, participants)
        confidence = round(float(probs["action"][i]), 2)
        used.add(i)
        rule = _rule_item_for(sentence, rules.actions)
        if rule is not None:  # the rules read this one too: their task, owner and due date
            actions.append(rule.model_copy(update={"confidence": confidence}))
            continue
        owner = meeting_owner(sentences, i, participants)
        due, _ = find_due(sentence.text, sentence.at)
        actions.append(
            ActionItem(
                task=task,
                owner=owner,
                owner_id=ids.get(owner) if owner else None,
                due=due,
                ref=sentence.ref,
                confidence=confidence,
            )
        )
    actions += _clear_commitments(rules.actions, sentences, probs["action"], action_threshold, used)
    decisions: list[Decision] = []
    decision_threshold = model.threshold("decision")
    picks = _positives(probs["decision"], decision_threshold)
    picks = sorted(sorted(picks, key=lambda i: -float(probs["decision"][i]))[:_MAX_DECISIONS])
    if not picks and len(probs["decision"]):  # a meeting rarely decides nothing at all
        best = int(probs["decision"].argmax())
        picks = [best] if probs["decision"][best] >= decision_threshold / 2 else []
    for i in picks:
        text = clean_clause(sentences[i].text)
        if len(words(text)) >= _MIN_ITEM_WORDS and i not in used:
            decisions.append(Decision(text=text, ref=sentences[i].ref))
            used.add(i)
    summary, key_points = _model_summary(sentences, probs["ext"], used)
    return Recap(
        summary=summary or "Nothing substantial was said.",
        key_points=[_key_point(s, participants) for s in key_points],
        decisions=dedupe_similar(decisions, lambda d: d.text),
        action_items=tidy_action_items(actions, participants, ids),
        open_questions=_worth_listing(
            rules.questions, sentences, probs["ext"], model.threshold("ext")
        ),
        participants=participants,
        engine=ENGINE_NAME,
    )


def _worth_listing(
    questions: Sequence[OpenQuestion], sentences: Sequence[Sentence], scores, threshold: float
) -> list[OpenQuestion]:
    """The open questions whose sentence the model scores summary-worthy, at most
    _MAX_MEETING_QUESTIONS of them (the likeliest), in the order they were asked."""
    by_text = {(s.ref, clean_clause(s.text)): float(scores[i]) for i, s in enumerate(sentences)}
    by_ref: dict[str | None, float] = {}
    for (ref, _), value in by_text.items():
        by_ref[ref] = max(by_ref.get(ref, 0.0), value)

    def score(question: OpenQuestion) -> float:
        said = (question.ref, clean_clause(question.text))
        return by_text.get(said, by_ref.get(question.ref, 0.0))

    marked = {s.ref for s in sentences if s.ref and _MARKED_QUESTION.match(s.text)}
    ranked = sorted((q for q in questions if score(q) >= threshold), key=lambda q: -score(q))
    kept = {id(q) for q in ranked[:_MAX_MEETING_QUESTIONS]}
    return [q for q in questions if id(q) in kept or q.ref in marked]  # "Q: …" always


def _clear_commitments(
    rule_items: Sequence[ActionItem],
    sentences: Sequence[Sentence],
    scores,
    threshold: float,
    used: set[int],
) -> list[ActionItem]:
    """The rules' items the model passed over but found at least half as likely as its own
    cut: the model learnt AMI's design meetings, and an everyday meeting's plain "I'll send
    the contract by Friday" can score below its cut (AMI val actions F1 54.0 -> 55.2)."""
    best: dict[str | None, tuple[float, int]] = {}
    for i, sentence in enumerate(sentences):
        if float(scores[i]) > best.get(sentence.ref, (-1.0, -1))[0]:
            best[sentence.ref] = (float(scores[i]), i)
    found = []
    for item in rule_items:
        score, i = best.get(item.ref, (0.0, -1))
        if i >= 0 and i not in used and score >= threshold / 2:
            used.add(i)
            found.append(item.model_copy(update={"confidence": round(score, 2)}))
    return found


def _rule_item_for(sentence: Sentence, rule_items: Sequence[ActionItem]) -> ActionItem | None:
    """The rules' item read from the same sentence (same source, most of its words), if any:
    it has the rephrased task, the accepted owner and the resolved due date."""
    said = set(words(sentence.text))
    for item in rule_items:
        task = set(words(item.task))
        if item.ref == sentence.ref and task and len(task & said) * 2 >= len(task):
            return item
    return None


def _positives(scores, threshold: float) -> list[int]:
    return [int(i) for i in (scores >= threshold).nonzero()[0]]


def _model_summary(
    sentences: Sequence[Sentence], scores, skip: set[int]
) -> tuple[str, list[Sentence]]:
    """SumBasic over the sentences the model scores most summary-worthy: the model says
    what is worth saying, SumBasic makes the picks cover different topics. Either alone
    did worse: the model's top sentences repeat each other (ICSI ROUGE-1 19.8 vs 22.6),
    SumBasic alone picks frequent-but-idle talk (AMI val 29.2 vs 29.9)."""
    count = max(_SHORTLIST_MIN, round(_SHORTLIST_SHARE * len(sentences)))
    ranked = sorted(range(len(sentences)), key=lambda i: (-float(scores[i]), i))
    shortlist = sorted(ranked[:count])
    # Items are not repeated in the summary, unless the items are all there is to say.
    repeats = {k for k, i in enumerate(shortlist) if i in skip}
    return extractive_summary([sentences[i] for i in shortlist], skip=repeats, phrase=attributed)
