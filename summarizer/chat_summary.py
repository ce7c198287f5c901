"""The summary and key points of a chat thread: what was discussed, said by whom.

The extractive summariser picks the sentences; this module decides which sentences it may
pick from and how they read. Asides ("random note:", "btw", "unrelated, but…") and
personal chatter stay out, and so do sentences that only repeat an action item or a
decision the recap lists anyway. A first-person sentence ("I'll ask legal…") names its
author ("Ann: I'll ask legal…"): quoted alone, "I" is nobody.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from summarizer.extractive import extractive_summary
from summarizer.text import Sentence, clean_clause, content_words
from summarizer.threads import asides
from summarizer.types import ActionItem, Decision

_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I'll|I've|I'd|me|my|mine|myself)\b")


def _repeats(sentence: Sentence, items: Sequence[str]) -> bool:
    """Whether the sentence says again most of what an item says: half its content words,
    and two at least ("Release checklist: changelog, docs" repeats no "Draft the changelog")."""
    said = set(content_words(sentence.text))
    for item in items:
        wanted = set(content_words(item))
        shared = len(wanted & said)
        if len(wanted) >= 2 and shared >= 2 and shared * 2 >= len(wanted):
            return True
    return False


def attributed(sentence: Sentence) -> str:
    """The sentence as a reader can take it alone: "Ann: I'll ask legal…"."""
    text = clean_clause(sentence.text)
    if sentence.author and _FIRST_PERSON.search(text):
        return f"{sentence.author}: {text}"
    return text


def chat_summary(
    sentences: Sequence[Sentence],
    used: set[int],
    actions: Sequence[ActionItem],
    decisions: Sequence[Decision],
    participants: Sequence[str],
) -> tuple[str, list[str]]:
    """The summary paragraph and the key points of a chat thread."""
    skipped = asides(sentences)
    items = [a.task for a in actions] + [d.text for d in decisions]
    kept = [(i, s) for i, s in enumerate(sentences) if i not in skipped]
    skip = {new for new, (old, s) in enumerate(kept) if old in used or _repeats(s, items)}
    summary, key_sentences = extractive_summary([s for _, s in kept], skip=skip, phrase=attributed)
    return summary, [_key_point(s, participants) for s in key_sentences]


def _key_point(sentence: Sentence, participants: Sequence[str]) -> str:
    text = clean_clause(sentence.text)
    if sentence.author and (len(participants) > 1 or _FIRST_PERSON.search(text)):
        return f"{text} ({sentence.author})"
    return text
