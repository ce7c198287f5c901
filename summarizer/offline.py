"""The offline engine: an extractive recap plus rule-based items; no model, no network."""

from __future__ import annotations

from summarizer.extractive import summarise
from summarizer.rules import extract
from summarizer.text import clean_clause, sentences_of
from summarizer.types import Conversation, Recap

ENGINE_NAME = "offline"


def offline_recap(conversation: Conversation) -> Recap:
    """Recap a conversation with the extractive summariser and the extraction rules."""
    participants = conversation.participants
    sentences = sentences_of(conversation)
    found = extract(sentences, participants, conversation.participant_ids)
    summary, key_sentences = summarise(sentences, skip=found.used)
    key_points = [
        f"{clean_clause(s.text)} ({s.author})"
        if s.author and len(participants) > 1
        else clean_clause(s.text)
        for s in key_sentences
    ]
    return Recap(
        summary=summary or "Nothing substantial was said.",
        key_points=key_points,
        decisions=found.decisions,
        action_items=found.actions,
        open_questions=found.questions,
        participants=participants,
        engine=ENGINE_NAME,
    )
