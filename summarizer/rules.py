"""Rule-based extraction of action items, decisions and open questions.

Each rule reads one sentence in the context of the conversation (who wrote it, who
answered). Precision matters more than recall: a wrong owner or an invented task costs
the reader more than a missed one, so ambiguous cases produce no owner or no item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from summarizer.commitments import (
    AT_ASSIGN,
    COMMITMENT,
    THIRD_PERSON,
    commitment_clauses,
    third_person_task,
    without_list_marker,
)
from summarizer.dates import find_due
from summarizer.items import dedupe_similar, first_clause, tidy_action_items
from summarizer.participants import match_participant, mentioned_participants
from summarizer.references import resolved_task
from summarizer.text import Sentence, clean_clause, content_words, words
from summarizer.threads import (
    REPLY_WINDOW,
    agreed_proposal,
    answers,
    call_off,
    chosen_later,
    is_aside,
    replies,
    settle_request,
    taken_over,
)
from summarizer.types import ActionItem, Decision, OpenQuestion
from summarizer.vocabulary import CHAT_TASK_VERBS, HEDGES, LEADING_ADVERBS

_IGNORE_CASE = re.IGNORECASE
_MARKER = re.compile(
    r"^\s*(?:\W\s*)?(?:(?:action(?:\s+items?)?|todo|to-do|ai|follow[- ]?up|next steps?)"
    r"\s*[:\-–]|(?:action items?|follow[- ]up|next steps?),)\s*(.+)",  # spoken: "action item, ..."
    _IGNORE_CASE,
)
_DECISION_MARKER = re.compile(
    r"^\s*(?:\W\s*)?(?:decision|decided|agreed|resolved)\s*[:\-–]\s*(.+)", _IGNORE_CASE
)
_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)?|team|everyone|all)\s+(?:all\s+)?(?:agreed|decided|settled|concluded)"
    r"(?:\s+(?:to|that|on|we))?\s+(.+)"
    r"|\b(?:it was|it's|it is)\s+(?:agreed|decided)\s+(?:to|that)\s+(.+)"
    r"|\b(?:final decision|the decision)\s+(?:is|was)\s*:?\s+(.+)"
    r"|\b(?:let's|let us|we'll|we will|we're going to|we are going to|we're)\s+"
    r"(?:go(?:ing)?\s+(?:with|for|ahead with)|stick with|use|adopt|choose|keep|ship|drop|"
    r"move forward with)\s+(.+)",
    _IGNORE_CASE,
)
_YOU = re.compile(
    r"^(?:@?(?P<name>[\w.\-]+(?:\s[\w.\-]+)?)\s*,\s*)?(?:you'll|you will|you're going to|"
    r"you are going to|you need to|you should)\s+(?P<task>.+)$",
    _IGNORE_CASE,
)
_NOT_A_TASK = re.compile(
    r"^(?:be|been|never|not|probably not|have to say|guess|think|say|see what you mean|"
    r"put it (?:this|that|another) way|call it a day|take it from here|take it easy|"
    r"take (?:that|it) as|take a rain check|take (?:your|my) word|do my best|do what I can|"
    r"admit|agree|just say|tell you what|leave it|pass|show you|stop|start by|try and remember)\b",
    _IGNORE_CASE,
)
_REQUEST = re.compile(
    r"^(?:@?(?P<name>[\w.\-]+(?:\s[\w.\-]+)?)\s*[,:]?\s+)?(?:can|could|would|will|"
    # Teams English: "would you be able to", "would it be possible for you to", "can u"
    r"would it be possible for|I'd appreciate it if|I'd appreciate if|do you mind)\s+"
    r"(?:you|u|someone|somebody|anyone|anybody)(?:\s+(?:be able to|could|can))?(?:\s+kindly)?"
    r"(?:\s+(?:and|&)\s+(?!(?:i|me|we)\b)(?P<partner>[\w.\-]+))?\s+"  # "could you and Charles…"
    r"(?:please\s+)?(?P<task>.+?)\??$"
    r"|^(?:@?(?P<name2>[\w.\-]+(?:\s[\w.\-]+)?)\s*[,:]?\s+)?(?:please|pls|plz|kindly)\s+"
    r"(?P<task2>.+)$"
    # "Who can take the demo?": a request once someone takes it, else a question.
    r"|^(?P<who>who|anyone|anybody|someone|somebody)\s+(?:can|could|would|wants to|is able to|"
    r"has time to|is free to)\s+(?:please\s+)?(?P<task3>.+?)\?$"
    # "Need someone to update the docs by Friday": a request to whoever takes it.
    r"|^(?P<wanted>(?:we\s+)?(?:need|want|are looking for|looking for)\s+(?:someone|somebody|"
    r"a volunteer|one of you)\s+to)\s+(?P<task4>.+?)[.!?]*$"
    # "Tom, you'll update the FAQ, right?": an assignment that asks to be confirmed.
    r"|^(?:@?(?P<name3>[\w.\-]+(?:\s[\w.\-]+)?)\s*,\s*)?you(?:'ll|\s+will|'re going to)\s+"
    r"(?P<task5>.+?),?\s+(?:right|ok(?:ay)?|yeah|yes|correct|no)\s*\?$",
    _IGNORE_CASE,
)
# "I can do the onsite interview" answering a request or a question: an offer.
_OFFER = re.compile(r"\bI can (?!not\b)(.+)", _IGNORE_CASE)
_GROUP = re.compile(
    r"\b(?:we need to|we have to|we must|we should|someone needs to|someone should|"
    r"let's|let us)\s+(.+)",
    _IGNORE_CASE,
)
# "…, and the team will review it": a subject of its own (", will have them ready" has none).
_ANOTHER_CLAUSE = re.compile(r"\w(?:\s+(?:will|is going to|are going to)|'ll)\b", _IGNORE_CASE)
_TREAT = re.compile(
    r"(?:grab|get|have|buy|make|open|bring)\s+(?:a\s+|some\s+|the\s+|my\s+)?(?:coffee|tea|"
    r"lunch|dinner|breakfast|beers?|wine|bottle|drinks?|snacks?)\b",
    _IGNORE_CASE,
)
_PRONOUNS = frozenset("it that this them those these one".split())
_OPEN_MARKER = re.compile(
    r"^\s*(?:\W\s*)?(?:open question|question|q)\s*[:\-–]\s*(.+)", _IGNORE_CASE
)


def _task_verb(task: str, verbs: frozenset[str] = CHAT_TASK_VERBS) -> tuple[str, bool] | None:
    """The task from its verb on, and whether it was hedged ("try to..."); None when the
    clause does not start with a task verb (after adverbs such as "just")."""
    tokens = task.split()
    hedged = False
    while tokens and tokens[0].casefold().strip(",") in LEADING_ADVERBS | HEDGES | {"to"}:
        hedged = hedged or tokens[0].casefold() in HEDGES
        tokens = tokens[1:]
    if tokens and tokens[0].casefold() in verbs:
        return " ".join(tokens), hedged
    return None


def _personal(task: str) -> bool:
    """ "I'll grab coffee first" is no work item; "btw I'll send the quote" and "I'll patch
    the coffee machine connector" are."""
    return bool(_TREAT.match(task))


def _item(
    task: str,
    owner: str | None,
    sentence: Sentence,
    participant_ids: dict[str, str],
    confidence: float,
    *,
    said: str | None = None,
) -> ActionItem | None:
    """An item of `task`, due by the date in `said` (what its owner wrote, when the task
    was completed from context, whose dates are not this item's), else in `task`."""
    written = task if said is None else said
    head = first_clause(written)
    if said is None or said == task:  # a task completed from context was trimmed before
        task = head
    # The date of the task's own clause; one further on only when no one else's clause
    # ("I'll fix the test, and the team will review it tomorrow") holds it.
    due, phrase = find_due(head, sentence.at)
    if due is None and not _ANOTHER_CLAUSE.search(written[len(head) :]):
        due, phrase = find_due(written, sentence.at)
    if phrase:  # "(by Wed)" goes, and so does the time of day: "tomorrow morning"
        task = re.sub(rf"\s*\(\s*{re.escape(phrase)}\s*\)", "", task)
        task = re.sub(
            rf"(\b{re.escape(phrase)})\s+(?:morning|afternoon|evening|night)\b", r"\1", task
        )
        task = re.sub(
            rf"(\b{re.escape(phrase)})\s+(?:morning|afternoon|evening|night)\b", r"\1", task
        )
    if phrase and task.rstrip(" .!?").endswith(phrase):
        task = task.rstrip(" .!?")[: -len(phrase)]
        trimmed = re.sub(
            r"\s+(?:by|on|before|until|till|due|for|this)$", "", task.rstrip(), flags=_IGNORE_CASE
        )
        # "circle back on this next week": "this" is the object there, not "this Friday".
        cut_this = re.search(r"\bthis$", task.rstrip(), _IGNORE_CASE)
        if not (
            cut_this and re.search(r"\b(?:on|to|for|with|about|at|of|in)$", trimmed, _IGNORE_CASE)
        ):
            task = trimmed
    task = clean_clause(task)
    if len(content_words(task)) < 1 or len(words(task)) < 2:
        return None
    if all(w in _PRONOUNS for w in words(task)[1:]):
        return None  # "take it", "do that": an answer to a request, not a task of its own
    return ActionItem(
        task=task,
        owner=owner,
        owner_id=participant_ids.get(owner) if owner else None,
        due=due,
        ref=sentence.ref,
        confidence=confidence,
    )


def _action_from(
    sentence: Sentence,
    sentences: Sequence[Sentence],
    position: int,
    participants: Sequence[str],
    ids: dict[str, str],
    consumed: set[int],
) -> ActionItem | None:
    """The action item a sentence states, if any; replies that are part of it (the
    acceptance of a request) go into `consumed`."""
    text, listed = without_list_marker(sentence)
    author = sentence.author or None
    if match := _MARKER.match(text):
        body = match.group(1)
        named = mentioned_participants(body, participants)
        owner = named[0] if len(named) == 1 else None
        if third := THIRD_PERSON.match(body):
            owner = match_participant(third.group("name"), participants) or owner
            if owner:
                body = third_person_task(third)
        return _item(body, owner, sentence, ids, 0.9)
    if match := _REQUEST.match(text.rstrip()):
        return _request(match, sentence, sentences, position, participants, ids, consumed)
    if text.endswith("?"):
        return None
    if (match := AT_ASSIGN.match(text)) and (verb := _task_verb(match.group("task"))):
        owner = match_participant(match.group("name"), participants)
        return _item(verb[0], owner, sentence, ids, 0.75) if owner else None
    if match := COMMITMENT.search(text):
        verb = _task_verb(match.group(1))
        if verb is None or _NOT_A_TASK.match(verb[0]) or _personal(verb[0]):
            return None
        task, due = resolved_task(verb[0], sentences, position)
        item = _item(task, author, sentence, ids, 0.6 if verb[1] else 0.8, said=verb[0])
        if item is not None:
            item.due = item.due or due
        return item
    if (match := _OFFER.search(text)) and _answers_a_request(sentences, position):
        verb = _task_verb(match.group(1))
        if verb is not None:
            return _item(verb[0], author, sentence, ids, 0.7)
        return None
    if match := _YOU.match(text):
        owner = (
            match_participant(match.group("name"), participants) if match.group("name") else None
        )
        others = [p for p in participants if p != author]
        owner = owner or (others[0] if len(others) == 1 else None)
        verb = _task_verb(match.group("task"))
        if owner and verb:  # "you'll..." with nobody clearly addressed is not assigned
            return _item(verb[0], owner, sentence, ids, 0.7)
        return None
    if (match := THIRD_PERSON.match(text)) and (listed or not match.group("assigned")):
        owner = match_participant(match.group("name"), participants)
        verb = _task_verb(third_person_task(match))
        if owner and verb:
            return _item(verb[0], owner, sentence, ids, 0.75)
        return None
    if match := _GROUP.search(text):
        due, _ = find_due(text, sentence.at)
        verb = _task_verb(match.group(1))
        if due is not None and verb:  # without a date, "we should..." is talk, not a task
            return _item(verb[0], None, sentence, ids, 0.5)
    return None


def _request(
    match: re.Match[str],
    sentence: Sentence,
    sentences: Sequence[Sentence],
    position: int,
    participants: Sequence[str],
    ids: dict[str, str],
    consumed: set[int],
) -> ActionItem | None:
    """A request ("Kofi, can you chase legal?") and what its replies made of it: one
    item, owned by whoever accepted it (never by one who declined), due by either
    message's date; no item when a reply says it is already done."""
    name = match.group("name") or match.group("name2") or match.group("name3")
    verb = _task_verb(
        match.group("task")
        or match.group("task2")
        or match.group("task3")
        or match.group("task4")
        or match.group("task5")
    )
    if verb is None:
        return None  # "can you hear me?", "please note..."
    task = verb[0]
    if partner := match.group("partner"):
        task = f"{task.rstrip(' ?')} with {partner}"
    owner = match_participant(name, participants) if name else None
    if name and owner is None and name.casefold() not in {"you", "hey", "hi", "and", "so"}:
        task = f"{name} {task}" if match.group("task") else task
    response = settle_request(sentences, position, task, owner)
    if response.done:
        consumed |= response.consumed | {position}
        return None
    if owner in response.declined or owner is None:
        owner = response.owner
    source = sentence
    if response.acceptance is not None and (said := _spelled_out(response.acceptance, task)):
        task, source = said, response.acceptance  # the item cites where it was promised
    others = [p for p in participants if p != sentence.author]
    if owner is None and match.group("who"):
        return None  # "who can take the demo?" that nobody took: an open question
    if owner is None and match.group("wanted") and find_due(task, sentence.at)[0] is None:
        return None  # like "someone should…": without an owner or a date it is talk
    if owner is None and match.group("task") and len(others) == 1:
        owner = others[0] if others[0] not in response.declined else None
    item = _item(task, owner, source, ids, 0.75 if owner else 0.5)
    if item is None and source is not sentence:
        item = _item(task, owner, sentence, ids, 0.75 if owner else 0.5)
    if item is not None:
        consumed |= response.consumed
        item.due = item.due or response.due or _due_said_next(sentences, position)
    return item


def _due_said_next(sentences: Sequence[Sentence], position: int) -> date | None:
    """A date the rest of the request's message gives ("can you take the handover doc?
    need it before Thursday's sync")."""
    here = sentences[position]
    for later in sentences[position + 1 : position + 3]:
        if later.index != here.index or "@" in later.text or _REQUEST.match(later.text):
            break  # the next request's date is its own
        if (due := find_due(later.text, later.at, deadline=True)[0]) is not None:
            return due
    return None


def _spelled_out(acceptance: Sentence, task: str) -> str | None:
    """The acceptance's own wording of the task when it says all the request did and
    more ("can you own the login bug?" / "I will fix the login bug"), else None."""
    match = COMMITMENT.search(acceptance.text) or _OFFER.search(acceptance.text)
    verb = _task_verb(match.group(1)) if match else None
    if verb is None or _PRONOUNS & set(words(verb[0])):
        return None
    said = set(content_words(verb[0]))
    return verb[0] if set(content_words(task)) <= said else None


def _answers_a_request(sentences: Sequence[Sentence], position: int) -> bool:
    """Whether an earlier message by someone else, in reach, asked something."""
    here = sentences[position]
    return any(
        earlier.author != here.author
        and here.index - earlier.index <= REPLY_WINDOW
        and earlier.text.rstrip().endswith("?")
        for earlier in sentences[max(0, position - 10) : position]
    )


def _decision_from(sentence: Sentence) -> Decision | None:
    text, _ = without_list_marker(sentence)
    if text.endswith("?"):
        return None
    match = _DECISION_MARKER.match(text) or _DECISION.search(text)
    if not match:
        return None
    clause = clean_clause(next(g for g in match.groups() if g))
    if len(words(clause)) < 2:
        return None
    if _DECISION_MARKER.match(text) or re.search(
        r"agreed|decided|decision|settled|concluded", text, _IGNORE_CASE
    ):
        return Decision(
            text=clean_clause(text if len(words(text)) <= 30 else clause), ref=sentence.ref
        )
    return Decision(text=clean_clause(text), ref=sentence.ref)


def _open_question_from(
    sentence: Sentence, sentences: Sequence[Sentence], position: int, participants: Sequence[str]
) -> OpenQuestion | None:
    """A question that nobody answered in the next few messages: acknowledgements ("good
    point"), "not sure yet" and talk about something else leave it open."""
    text, _ = without_list_marker(sentence)
    marked = _OPEN_MARKER.match(text)
    if not marked and not text.endswith("?"):
        return None
    if len(content_words(text)) < 2 or len(words(text)) < 4 or is_aside(sentence):
        return None
    following = [reply for _, reply in replies(sentences, position)]
    asked = next((i for i, r in enumerate(following) if r.text.rstrip().endswith("?")), None)
    following = following[:asked]  # what comes after the next question answers that one
    first = following[0].index if following else None
    if not marked and (
        any(
            answers(sentence, reply, participants, adjacent=reply.index == first)
            for reply in following
        )
        or chosen_later(sentences, position)
    ):
        return None
    body = marked.group(1) if marked else text
    return OpenQuestion(
        text=clean_clause(body) + "?", asked_by=sentence.author or None, ref=sentence.ref
    )


@dataclass
class Extraction:
    actions: list[ActionItem] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    questions: list[OpenQuestion] = field(default_factory=list)
    # Positions of the sentences that became an item; the summary need not repeat them.
    used: set[int] = field(default_factory=set)


def extract(
    sentences: Sequence[Sentence], participants: Sequence[str], participant_ids: dict[str, str]
) -> Extraction:
    """Action items, decisions and open questions, in conversation order."""
    found = Extraction()
    clauses, origin = commitment_clauses(sentences)
    consumed: set[int] = set()  # replies already read as part of an earlier item
    for position, sentence in enumerate(clauses):
        if position in consumed:
            found.used.add(origin[position])
            continue
        if sentence.raw.lstrip().startswith(">"):
            continue  # a quoted line: someone else's words, said before
        if call_off(found.actions, clauses, position):
            found.used.add(origin[position])
            continue
        if decision := _decision_from(sentence):
            found.decisions.append(decision)
        elif agreed := agreed_proposal(clauses, position):
            found.decisions.append(Decision(text=agreed[0], ref=sentence.ref))
            consumed |= agreed[1]
        elif action := _action_from(
            sentence, clauses, position, participants, participant_ids, consumed
        ):
            found.actions = taken_over(sentence, action, found.actions)
            found.actions.append(action)
        elif position in consumed:
            pass  # a request its replies settled as already done: no item, no question
        elif question := _open_question_from(sentence, clauses, position, participants):
            found.questions.append(question)
        else:
            continue
        found.used.add(origin[position])
    found.actions = tidy_action_items(found.actions, participants, participant_ids)
    found.decisions = dedupe_similar(found.decisions, lambda d: d.text)
    found.questions = dedupe_similar(found.questions, lambda q: q.text)
    return found
