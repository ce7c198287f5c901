"""What a chat commitment leaves to its context: "it", "her", or whom to ask what.

"I will ask her today" after "Can someone ask the CEO who presents the keynote?" is "Ask
the CEO who presents the keynote"; "I'll fill it in" after "we need the security
questionnaire back by Dec 15" is "Fill in the security questionnaire", due Dec 15; "I
will ask Jenna" in answer to "Do we need legal review?" is "Ask Jenna whether we need
legal review". Each reading needs one clear antecedent in the few messages before; with
none, or with two, the task keeps its own words (a vague task beats a wrong one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from summarizer.dates import find_due
from summarizer.items import first_clause
from summarizer.text import STOPWORDS, Sentence, content_words
from summarizer.threads import REPLY_WINDOW, reply_kind

_I = re.IGNORECASE
_OBJECT_PRONOUNS = frozenset("her him them it that this".split())
_NOT_AN_OBJECT = r"(?:her|him|them|it|that|this|me|you|us|about|if|whether)\b"
# "mock it up" -> "mock up the checklist": the particle goes before a spelled-out object.
_PARTICLES = frozenset("up in out over off back down through".split())
# A noun phrase: a determiner, then up to four words that are no function word.
_DETERMINER = r"(?:the|this|that|our|your|their|these|those)"
_NOUN_PHRASE = re.compile(rf"\b{_DETERMINER}(?=((?:\s+[\w\-]+){{1,4}}))", _I)
_ENDS_PHRASE = STOPWORDS | _PARTICLES | frozenset("to for by on at from with of".split())
# A verb ends the phrase too: "the nightly export crashed again" is about "the nightly
# export", and "that sounds terrible" names nothing.
_VERB_LIKE = re.compile(
    r"\w{3,}ed|is|are|was|were|be|been|has|have|had|does|did|broke|broken|went|gone|came|"
    r"ran|took|made|got|sent|built|wrote|told|said|found|left|lost|fell|sounds|looks|seems|"
    r"feels|means|makes|goes|needs|keeps|breaks|fails|crashes|works|happens|takes|returns|wants|"
    r"throws|shows|gives|says|gets|puts|runs|uses|sends|loads|hangs|times|errors|starts|stops",
    _I,
)
# "this week", "this Friday": when, not what.
_TIME_WORDS = frozenset(
    "week weekend month quarter year day morning afternoon evening night time sprint monday "
    "tuesday wednesday thursday friday saturday sunday".split()
)
# What may follow "that" or "this" when it is the object: "do that today", "fix this up".
_AFTER_OBJECT = _PARTICLES | frozenset(
    "today tomorrow tonight now later asap first soon by on before after when if and then "
    "for to with".split()
)
# "ask Jenna", "check with legal", "find out": whom or how, but not what.
_ASK = re.compile(
    r"^(?:ask|ping|email|message|check with|confirm with)\s+(?!(?:you|me|us|them|him|her)\b)"
    r"\S+(?:\s+\S+)?$|^(?:check|find out)$",
    _I,
)
_WHETHER = re.compile(
    r"^(?:do\s+(?P<who>we|you|they|i)|(?:does\s+)?(?:anyone|anybody|someone|somebody)\s+"
    r"knows?\s+(?:if|whether))\s+(?P<rest>.+)$",
    _I,
)


def referent(
    task: str, sentences: Sequence[Sentence], position: int
) -> tuple[str, Sentence] | None:
    """What a task's pronoun stands for ("ask her" after "Ask the CEO who presents the
    keynote": "the CEO who presents the keynote"), when exactly one earlier sentence
    in reach uses the same verb with a spelled-out object, and that sentence."""
    tokens = task.split()
    if len(tokens) < 2 or tokens[1].casefold().strip(".,!?") not in _OBJECT_PRONOUNS:
        return None
    verb = re.escape(tokens[0].casefold())
    found: dict[str, Sentence] = {}
    for earlier in _in_reach(sentences, position, REPLY_WINDOW * 2):
        for match in re.finditer(rf"\b{verb}\s+(?!{_NOT_AN_OBJECT})(\w.*)", earlier.text, _I):
            found[match.group(1).rstrip(" .!?")] = earlier
    return next(iter(found.items())) if len(found) == 1 else None


def resolved_task(
    task: str, sentences: Sequence[Sentence], position: int
) -> tuple[str, date | None]:
    """The task of a commitment at `position` with its pronoun or missing question
    filled in from the messages before, and a due date those messages gave the thing
    "it" stands for (the commitment's own date, in its words, comes first)."""
    task = first_clause(task)
    tokens = task.split()
    if (spelled_out := referent(task, sentences, position)) is not None:
        said, source = spelled_out  # "…update the security questionnaire by Dec 15"
        due, when = find_due(said, source.at, deadline=True)
        if when:
            said = re.sub(rf"\s*\b(?:by|before|until|till|due)?\s*{re.escape(when)}$", "", said)
        return " ".join([tokens[0], said, *tokens[2:]]), due
    if _stands_alone(tokens) and (found := _noun_phrase(sentences, position)) is not None:
        phrase, source = found
        rest = tokens[2:]
        if rest and _particle(rest):
            spelled = [tokens[0], rest[0], phrase, *rest[1:]]
        else:
            spelled = [tokens[0], phrase, *rest]
        return " ".join(spelled), find_due(source.text, source.at, deadline=True)[0]
    _, when = find_due(task, None)
    bare = re.sub(rf"\s*\b{re.escape(when)}\b", "", task).strip() if when else task
    if _ASK.match(bare.rstrip(" .!")) and (question := _question_answered(sentences, position)):
        return f"{bare.rstrip(' .!')}{_indirect(question)}", None  # its date: the task's own
    return task, None


def _particle(rest: list[str]) -> bool:
    """Whether the word after the pronoun belongs to the verb: "mock it up this week",
    "fill it in"; but not "put it in the backlog" or "take it out of the box"."""
    word = rest[0].casefold()
    following = rest[1].casefold() if len(rest) > 1 else None
    if word not in _PARTICLES or following in {"of", "to"}:
        return False
    return word != "in" or following is None or following in _AFTER_OBJECT


def _stands_alone(tokens: list[str]) -> bool:
    """Whether the task's object is a pronoun: "fix it", "fill it in", "do that today";
    not "fix that bug" or "take this one", where "that" and "this" pick a thing."""
    if len(tokens) < 2:
        return False
    word = tokens[1].casefold().strip(".,!?")
    if word == "it":
        return True
    following = tokens[2].casefold().strip(".,!?") if len(tokens) > 2 else None
    return word in {"that", "this"} and (following is None or following in _AFTER_OBJECT)


def _in_reach(sentences: Sequence[Sentence], position: int, messages: int) -> list[Sentence]:
    """The sentences of the `messages` messages before the one at `position`."""
    here = sentences[position]
    return [
        earlier
        for earlier in sentences[max(0, position - 12) : position]
        if 0 < here.index - earlier.index <= messages
    ]


def _noun_phrase(sentences: Sequence[Sentence], position: int) -> tuple[str, Sentence] | None:
    """The one noun phrase of the nearest earlier message by someone else: what "it" in
    a reply to it means ("let's go with the checklist" / "I'll mock it up")."""
    here = sentences[position]
    before = re.split(r"\bI(?:'ll|\s+will|'m going to|'m gonna)\b", here.text, maxsplit=1)[0]
    if len(content_words(before)) >= 2:  # not "ugh, I'll fix it"
        return None  # "meeting at 3 p.m. tomorrow, I'll book it": "it" is in the sentence
    others = [s for s in _in_reach(sentences, position, REPLY_WINDOW) if s.author != here.author]
    if not others:
        return None
    nearest = [s for s in others if s.index == others[-1].index]
    if any(reply_kind(s.text) == "decline" for s in nearest):
        return None  # "I can't this sprint, I'm on the migration": about the decliner
    found: dict[str, Sentence] = {}
    for sentence in nearest:
        for match in _NOUN_PHRASE.finditer(sentence.text):
            kept: list[str] = []
            for word in match.group(1).split():
                if word.casefold() in _ENDS_PHRASE or _VERB_LIKE.fullmatch(word):
                    break
                kept.append(word)
            phrase = " ".join(kept).rstrip(".,!?;:")
            if _TIME_WORDS & {w.casefold() for w in phrase.split()}:
                continue
            if phrase and content_words(phrase):
                found[f"{match.group(0).casefold()} {phrase}"] = sentence
    return next(iter(found.items())) if len(found) == 1 else None


def _question_answered(sentences: Sequence[Sentence], position: int) -> str | None:
    """The question someone else asked in the nearest earlier message, if it was one."""
    here = sentences[position]
    for earlier in reversed(_in_reach(sentences, position, REPLY_WINDOW)):
        if earlier.author != here.author:
            text = earlier.text.strip()
            return text if text.endswith("?") else None
    return None


def _indirect(question: str) -> str:
    """ "Do we need legal review?" -> " whether we need legal review", "anyone know if
    the VPN is down?" -> " whether the VPN is down"; other questions follow a colon."""
    text = question.strip().rstrip("?").strip()
    if match := _WHETHER.match(text):  # "anyone know if the VPN is down" too
        return " ".join([" whether", *filter(None, (match.group("who"), match.group("rest")))])
    return f": {text[:1].lower()}{text[1:]}"
