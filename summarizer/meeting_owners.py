"""Who owns a spoken action item, and its task in words a reader can use.

In meetings work is taken on ("I'll look into that") or handed out by name or role
("Kofi, you'll draft the brief", "as the industrial designer, you're gonna be working on
the design", "and marketing, you're gonna look at trends"), sometimes over two acts ("Um
for user interface," / "you'll be thinking about the buttons"), or asked and accepted
("Can you e-mail your slides?" / "Yes, I think I can."). Anything else has no owner:
"we'll", "you two", or a "you" nobody answered for is never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from summarizer.meeting_model import GENERAL_WORDS_PATH
from summarizer.text import Sentence, clean_clause, words
from summarizer.vocabulary import TASK_VERBS

_I = re.IGNORECASE
_FIRST_PERSON = re.compile(
    r"\b(?:I'll|I will|I'm going to|I am going to|I'm gonna|I can (?:do|take)|let me|I'll be|"
    r"I'm supposed to|I need to|I have to|I've got to)\b",
    _I,
)
# "I'll presume…", "I'll tell you…": first person, but talk, not a commitment.
_NOT_COMMITTED = re.compile(
    r"\s*(?:just\s+)?(?:presume|assume|say|tell|guess|think|admit|agree|disagree|see|be honest|"
    r"try and)\b",
    _I,
)
# What a listener is told they are doing when work is handed out: "you're looking at…".
_DOING = r"(?:looking\s+(?:at|into)|working\s+on|focusing\s+on|handling|taking\s+care\s+of)\b"
# Work handed to one listener: "you're gonna", "you'll", "can you".
_SECOND_PERSON = re.compile(
    r"\b(?:you(?:'re|\s+are)?\s+(?:gonna|going\s+to)|you'll|you\s+will|you\s+could|you\s+can|"
    r"you\s+should|you\s+need\s+to|you\s+have\s+to|can\s+you|could\s+you|would\s+you|"
    r"will\s+you|I(?:'d|\s+would)\s+like\s+you\s+to|I\s+(?:need|want)\s+you\s+to|"
    r"if\s+you\s+(?:can|could))\b"
    # "you're looking at…" hands work out only where a clause starts, not in "I know you're…".
    r"|(?:^|[,;:]|\b(?:and|so|now|then|basically|um|uh|okay|right))\s*you(?:'re|\s+are)\s+"
    rf"(?={_DOING})",
    _I,
)
# Work handed to several, or to nobody in particular: no single owner.
_GROUP = re.compile(
    r"\b(?:you\s+(?:two|both|guys|all)|both\s+of\s+you|all\s+of\s+you|each\s+of\s+you|"
    r"everyone|everybody|you\s+and\s+(?:the\s+)?\w+|and\s+you\s+(?:two|both)|yourself\s+and|"
    r"together)\b",
    _I,
)
# A named person or role followed by a future: "Alima will be doing", "marketing is gonna".
_THIRD_FUTURE = re.compile(
    r"(?:\s+over\s+(?:here|there))?[\s,]*(?:(?:is|are|'s|'re)\s+)?(?:gonna|going\s+to|will|'ll|should|needs?\s+to|"
    r"has\s+to|can)\b",
    _I,
)
# A reply that takes a request on: a first-person future or "I can", or an explicit yes
# with a verb; a bare "okay" or "yeah" in a meeting is a backchannel, not an acceptance.
_TAKES_ON = re.compile(
    r"^\W*(?:(?:yes|yeah|yep|sure|okay|ok|right)\W+)*(?:I\s+(?:think|guess|suppose)\s+|I\W+)*(?:I'll|I\s+will|I\s+can(?!'t|not)|"
    r"I\s+could|will\s+do|can\s+do|no\s+problem|sure\s+I|I'm\s+on\s+it)\b",
    _I,
)
_DECLINES = re.compile(r"\b(?:can't|cannot|won't|not\s+sure\s+I|don't\s+think\s+I)\b", _I)
# Words that may stand between a name and its verb: "the User Interface Designer gonna…".
_ROLE_NOUNS = r"(?:[\s,]+(?:designer|person|expert|executive|specialist|manager|lead|guy))?"
# What else a bare address may hold: "Um and uh, for our marketing executive,".
_ADDRESS_WORDS = frozenset(
    "um uh and so then for as the our my you from okay right now designer person expert "
    "executive specialist manager lead guy".split()
)
_REPLY_WINDOW = 3  # acts after a request in which an acceptance counts
_CARRY_WINDOW = 2  # acts back in which a bare name or role addresses the next act


def commits(text: str) -> bool:
    """A first-person commitment ("I'll send…"), not talk ("I'll tell you…")."""
    return any(not _NOT_COMMITTED.match(text, m.end()) for m in _FIRST_PERSON.finditer(text))


@cache
def _common_words() -> frozenset[str]:
    try:
        return frozenset(GENERAL_WORDS_PATH.read_text(encoding="utf-8").split())
    except OSError:
        return frozenset()


def _same_word(said: str, name: str) -> bool:
    """ "design" names "Designer", "market" names "Marketing": a shared stem of 6+ letters,
    or the whole word."""
    if said == name:
        return True
    stem = min(len(said), len(name))
    return stem >= 6 and said[:stem] == name[:stem]


def mentions(text: str, participants: Sequence[str], *, speaker: str | None = None) -> list[str]:
    """The participants other than `speaker` that `text` names: by every word of their
    name in order ("industrial design" for "Industrial Designer"), or by a capitalised
    first name that is not an everyday word ("Kofi" for "Kofi Mensah", never "User" for
    "User Interface")."""
    tokens = re.findall(r"[A-Za-z][\w'-]*", text)
    lowered = [t.casefold() for t in tokens]
    found = []
    for person in participants:
        if person == speaker:
            continue
        name = [w.casefold() for w in re.findall(r"[A-Za-z][\w'-]*", person)]
        if not name:
            continue
        n = len(name)
        whole = any(
            all(_same_word(lowered[i + k], name[k]) for k in range(n))
            for i in range(len(lowered) - n + 1)
        )
        first = (
            n > 1 and name[0] not in _common_words() and any(t == person.split()[0] for t in tokens)
        )
        if whole or first:
            found.append(person)
    return found


def _assigned_to(text: str, participants: Sequence[str], speaker: str | None) -> str | None:
    """The one participant this act hands work to by name or role, if any."""
    named = mentions(text, participants, speaker=speaker)
    if len(named) != 1 or _GROUP.search(text):
        return None
    person = named[0]
    if _SECOND_PERSON.search(text):
        return person
    # "Dana will be doing…", "the industrial designer is gonna…": the future follows it.
    keys = tuple(w.casefold()[:6] for w in person.split())
    for match in re.finditer(r"[A-Za-z][\w'-]*", text):
        if not match.group().casefold().startswith(keys):
            continue
        noun = re.compile(_ROLE_NOUNS, _I).match(text, match.end())
        if _THIRD_FUTURE.match(text, noun.end() if noun else match.end()):
            return person
    return None


def _bare_address(text: str, person: str) -> bool:
    """ "Um and uh marketing executive,": the act only names whom the next one addresses."""
    name = {w.casefold()[:6] for w in person.split()}
    rest = [
        w
        for w in words(text)
        if w not in _ADDRESS_WORDS and w[:6] not in name and w.casefold()[:6] not in name
    ]
    return not rest


def _answers_request(sentences: Sequence[Sentence], position: int) -> bool:
    """The act takes on what another person just asked ("Can you e-mail your slides?" /
    "Yes, I think I can.")."""
    act = sentences[position]
    if not _TAKES_ON.search(act.text) or _DECLINES.search(act.text):
        return False
    for back in range(position - 1, max(-1, position - 1 - _REPLY_WINDOW), -1):
        earlier = sentences[back]
        if earlier.author != act.author and _SECOND_PERSON.search(earlier.text):
            return not _GROUP.search(earlier.text)
    return False


def _accepted_by(sentences: Sequence[Sentence], position: int) -> str | None:
    """Who took the request at `position` on in the next few acts: one person, clearly."""
    request = sentences[position]
    takers = []
    for later in sentences[position + 1 : position + 1 + _REPLY_WINDOW]:
        if later.author == request.author:
            continue
        if _TAKES_ON.search(later.text) and not _DECLINES.search(later.text):
            takers.append(later.author)
    return takers[0] if len(set(takers)) == 1 else None


def meeting_owner(
    sentences: Sequence[Sentence], position: int, participants: Sequence[str]
) -> str | None:
    """The owner of the action item the act at `position` states, or None."""
    act = sentences[position]
    text = act.text
    speaker = act.author or None
    if (assigned := _assigned_to(text, participants, speaker)) is not None:
        return assigned
    if speaker and (commits(act.raw or text) or _answers_request(sentences, position)):
        return speaker
    if _GROUP.search(text):
        return None
    if _SECOND_PERSON.search(text):
        # "Um for user interface," then "you'll be thinking about…": the bare name before.
        for back in range(position - 1, max(-1, position - 1 - _CARRY_WINDOW), -1):
            earlier = sentences[back]
            if earlier.author != act.author:
                break
            named = mentions(earlier.text, participants, speaker=speaker)
            if len(named) == 1 and _bare_address(earlier.text, named[0]):
                return named[0]
        return _accepted_by(sentences, position)
    return None


# --- the task in a reader's words ----------------------------------------------------------

_LEAD = re.compile(
    r"^(?:(?:um|uh|and|so|then|now|okay|ok|right|well|also|basically|alright|yeah|but)\b[\s,]*)+",
    _I,
)
_FRAME = re.compile(
    r"^(?:(?:so|and)\s+)?(?:I|you|we|he|she|they)(?:'re|'m|\s+are|\s+am)?\s+"
    r"(?:just\s+)?(?:gonna|going\s+to|will|'ll|could|can|should|need\s+to|have\s+to|might)\s+"
    r"(?:be\s+)?(?:(?:just|probably|maybe|also|then|definitely|really|actually)\s+)*"
    r"|^(?:I'll|you'll|we'll)\s+(?:be\s+)?(?:(?:just|probably|maybe|also|then)\s+)*"
    r"|^(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:just\s+)?"
    r"|^let\s+me\s+"
    r"|^(?:I(?:'d|\s+would)\s+like|I\s+(?:need|want))\s+(?:you|us)\s+(?:guys\s+|two\s+)?to\s+"
    r"|^if\s+you\s+(?:can|could)\s+(?:just\s+)?"
    r"|^(?:I|you|we)(?:'m|'re|\s+am|\s+are)\s+supposed\s+to\s+"
    rf"|^you(?:'re|\s+are)\s+(?={_DOING})",
    _I,
)
# Words that may come before the clause that hands work out ("Look, you'll be…", "Im
# basically you're…"); a clause after a comma is read too ("In the meantime, you're…").
_LEAD_IN = re.compile(r"^(?:(?:look|listen|im|basically|now|well|anyway)\b[\s,]*){1,2}", _I)
# After "I'll", "you're gonna", "can you" comes a verb; these words say it did not.
_NOT_VERBS = frozenset(
    "not never be been have the a an that this it there here so and or but if when what "
    "how all you we i they he she".split()
)
_TAIL = re.compile(
    r"[\s,]*(?:you know|and stuff|and things|or whatever|or something|I guess|I think)\W*$", _I
)


def _base_form(word: str) -> str | None:
    """ "working" -> "work", "making" -> "make", "planning" -> "plan"; None if unknown."""
    lowered = word.casefold()
    if lowered in TASK_VERBS:
        return lowered
    if not lowered.endswith("ing") or len(lowered) < 5:
        return None
    stem = lowered[:-3]
    known = TASK_VERBS | _common_words()
    candidates = [stem, stem + "e"]
    if re.search(r"[aeiou][^aeiouwy]$", stem):  # "using" -> "use", "coming" -> "come"
        candidates.reverse()
    if len(stem) > 2 and stem[-1] == stem[-2]:
        candidates.insert(0, stem[:-1])
    candidates = [c for c in candidates if len(c) >= 3]  # not "us", "se"
    return next((c for c in candidates if c in TASK_VERBS), None) or next(
        (c for c in candidates if c in known), None
    )


def _strip_address(task: str, participants: Sequence[str]) -> str:
    """Without the vocative: "Kofi,", "as the industrial designer,"."""
    for person in participants:
        whole = r"\s*[\s\w]{0,12}?".join(re.escape(w[:6]) for w in person.split())
        first = re.escape(person.split()[0]) if person.split() else whole
        task = re.sub(
            rf"^(?:(?:as|for|from)\s+(?:the\s+|our\s+|you\s+)?)?(?:the\s+)?(?:{whole}|{first})\w*"
            r"\s*,\s*",
            "",
            task,
            flags=_I,
        )
    return _LEAD.sub("", task)


def _as_task(clause: str, participants: Sequence[str]) -> str | None:
    """ "you're gonna be working on the design" -> "Work on the design"; None when the
    clause does not hand out or take on work in a form read here."""
    for person in participants:  # "the industrial designer is going to work on…"
        pattern = r"\s+".join(re.escape(w[:6]) + r"\w*" for w in person.split())
        clause = re.sub(
            rf"^(?:the\s+)?{pattern}{_ROLE_NOUNS}(?:\s+(?:over\s+)?(?:here|there))?\s+"
            r"(?:is\s+|are\s+)?(?:gonna|going\s+to|will)\s+(?:be\s+)?",
            "you will ",
            clause,
            flags=_I,
        )
    framed = _FRAME.match(clause)
    if framed is None:
        return None
    first, _, after = clause[framed.end() :].partition(" ")
    if re.match(r"I\b", framed.group(), _I) and _NOT_COMMITTED.match(_base_form(first) or first):
        return None  # "I'll presume…": talk, not a task
    if after.casefold().startswith(framed.group().casefold()):
        return _as_task(after, participants)  # a restart: "you'll be looking you'll be looking at"
    verb = _base_form(first)
    progressive = re.search(r"\bbe\s+(?:\w+\s+)*$", framed.group(), _I) is not None
    if progressive and not first.casefold().endswith("ing"):
        return None  # "I'll be honest": no task
    if verb is None and first.isascii() and not first.casefold().endswith("ing"):
        verb = first if first.casefold() not in _NOT_VERBS and first[:1].isalpha() else None
    return f"{verb} {after}".strip() if verb is not None else None


def _clause_starts(task: str) -> list[int]:
    """Where the task may begin: the start, after a lead-in word or two, after a comma."""
    lead_in = _LEAD_IN.match(task)
    starts = [0, lead_in.end() if lead_in else 0]
    starts += [m.end() for m in re.finditer(r",\s*", task)]
    return sorted(set(starts))


def spoken_task(text: str, participants: Sequence[str] = ()) -> str:
    """The act as a task: "as the industrial designer, you're gonna be working on the
    design" -> "Work on the design", "In the meantime, you're looking at the working
    design" -> "Look at the working design". An act with no such frame is only tidied."""
    task = _strip_address(_LEAD.sub("", text.strip()), participants)
    for start in _clause_starts(task):
        clause = task[start:]
        if start and not re.match(r"(?:you|I|we)\b|the\s", clause, _I):
            continue  # past the start, only a clause with its own subject
        rephrased = _as_task(clause, participants)
        if rephrased is not None and len(rephrased.split()) >= 2:
            return clean_clause(_TAIL.sub("", rephrased))
    return clean_clause(_TAIL.sub("", task))
