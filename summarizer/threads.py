"""Reading a chat sentence in the light of the replies around it.

A request is settled by its replies (accepted, declined or already done), a question is
open until a reply answers it, a proposal becomes a decision when others agree, and a
later "never mind" or "I'll take it instead" calls an item off or takes it over.
These are the context rules summarizer/rules.py applies to chat threads (what a
commitment's pronoun stands for is in summarizer/references.py); each decides from the
next few messages only, and says "no" (no owner, no answer, no decision) when
the replies are not clear.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from summarizer.dates import find_due
from summarizer.participants import mentioned_participants
from summarizer.text import Sentence, clean_clause, content_words, words
from summarizer.types import ActionItem
from summarizer.vocabulary import TASK_VERBS

_I = re.IGNORECASE
# How far a reply may be from what it answers, in messages.
REPLY_WINDOW = 3

_SHORT_ANSWER = re.compile(r"^\W*(?:yes|yeah|yep|yup|no|nope|done|correct|right)\W*$", _I)
_VOLUNTEER = re.compile(r"^\W*(?:me|mine|i do|i can)\W*$", _I)  # "Need someone to…" / "me"
ACCEPT = re.compile(
    r"^\s*(?:sure|ok(?:ay)?|will do|on it|yes|yep|yeah|no problem|np|of course|absolutely|"
    r"certainly|noted|will be done|consider it done|"
    r"i can(?!'t|not|\s+not)|i'll|i will|can do|got it|sounds good|happy to|count me in)\b"
    rf"|{_VOLUNTEER.pattern}",
    _I,
)
_POSITIVE = re.compile(r"\bi(?:'ll|\s+will|\s+can(?!'t|not|\s+not))\b", _I)
_DECLINE = re.compile(
    r"^\s*(?:sorry|unfortunately|nope|nah|no(?![\s,]+(?:problem|worries|prob)))\b"
    r"|\b(?:i\s+can(?:'t|not|\s+not)|i\s+won't|i\s+will\s+not|won't be able|not able to|unable|"
    r"i'm\s+(?:off|out|away|on leave|on holiday|on vacation|busy|swamped|travell?ing)|"
    r"i\s+am\s+(?:off|out|away|busy)|not me|no time|no bandwidth|"
    r"don't have (?:the )?(?:time|bandwidth|capacity))\b",
    _I,
)
_IRREGULAR_PAST = {
    "bring": "brought",
    "build": "built",
    "buy": "bought",
    "draw": "drew drawn",
    "drive": "drove driven",
    "find": "found",
    "get": "got gotten",
    "lead": "led",
    "make": "made",
    "meet": "met",
    "pay": "paid",
    "put": "put",
    "run": "ran",
    "send": "sent",
    "set": "set",
    "speak": "spoke spoken",
    "split": "split",
    "take": "took taken",
    "write": "wrote written",
}


def _past_forms(verb: str) -> set[str]:
    if verb in _IRREGULAR_PAST:
        return set(_IRREGULAR_PAST[verb].split())
    if verb.endswith("e"):
        return {verb + "d"}
    if verb.endswith("y") and verb[-2:-1] not in set("aeiou"):
        return {verb[:-1] + "ied"}
    if re.fullmatch(r"[^aeiou]*[aeiou][^aeiouwxy]", verb):  # ship, plan, log: doubled
        return {verb + verb[-1] + "ed", verb + "ed"}
    return {verb + "ed"}


_PAST = "|".join(sorted({form for verb in TASK_VERBS | {"do"} for form in _past_forms(verb)}))
# "I already restarted the pods", "Done, sent it", "We've rotated the keys": work reported
# as done, which is no task any more.
DONE = re.compile(
    rf"^\W*(?:already\s+)?done\b|\balready\s+(?:done|did|{_PAST})\b|\bjust\s+did\b"
    rf"|(?:^|\W)(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|already\s+)?(?:{_PAST})\b",
    _I,
)
_FUTURE = re.compile(r"\b(?:i'll|i will|we'll|we will|i'm going to|i am going to)\b", _I)


# A message that opens with one of these is an aside, all of it.
_ASIDE_OPENER = re.compile(
    r"^\W*(?:(?:random|side|unrelated|personal)\s+(?:note|thought|question)|sidenote|"
    r"(?:totally\s+|completely\s+)?unrelated|off[- ]topic|fun fact|btw|by the way|"
    r"in other news|on a personal note)\b",
    _I,
)
# A sentence with one of these is an aside or small talk, wherever it is said.
_ASIDE_ANYWHERE = re.compile(
    r"\b(?:btw|by the way|off[- ]topic|haha+|lol|lmao|congrats|congratulations|"
    r"kids?|son|daughter|wife|husband|baby|dog|cat|puppy|vacation|birthday|anniversary|"
    r"wedding|lunch|coffee|dinner|breakfast|beers?|football|soccer|basketball|movie|netflix|"
    r"gym|weather|cake)\b",
    _I,
)


def asides(sentences: Sequence[Sentence]) -> set[int]:
    """Positions of the sentences that are asides or personal chatter."""
    found: set[int] = set()
    aside_message: int | None = None
    for position, sentence in enumerate(sentences):
        first_of_message = position == 0 or sentences[position - 1].index != sentence.index
        if first_of_message:
            aside_message = sentence.index if _ASIDE_OPENER.match(sentence.raw) else None
        if aside_message == sentence.index or _ASIDE_ANYWHERE.search(sentence.raw):
            found.add(position)
    return found


def is_aside(sentence: Sentence) -> bool:
    """Whether a sentence, read alone, is an aside or small talk."""
    return bool(_ASIDE_OPENER.match(sentence.raw) or _ASIDE_ANYWHERE.search(sentence.raw))


def replies(sentences: Sequence[Sentence], position: int) -> list[tuple[int, Sentence]]:
    """The sentences others wrote in the next few messages, with their positions."""
    sentence = sentences[position]
    found = []
    for later in range(position + 1, min(len(sentences), position + 12)):
        reply = sentences[later]
        if reply.index - sentence.index > REPLY_WINDOW:
            break
        if reply.author != sentence.author:
            found.append((later, reply))
    return found


def reply_kind(text: str) -> str | None:
    """ "done", "decline", "accept" or None for a reply to a request."""
    if DONE.search(text) and not _FUTURE.search(text):
        return "done"
    if _DECLINE.search(text) and not _POSITIVE.search(text):
        return "decline"
    if ACCEPT.match(text):
        return "accept"
    return None


_HAVE_IT = re.compile(r"\bi(?:'ll|\s+will|\s+should)\s+(?:\w+\s+)?(?:have|be done)\b", _I)
_BACK_REFERENCE = frozenset("it that this them those one".split())


def takes_up(reply: str, task: str) -> bool:
    """Whether a reply's commitment is the requested task itself ("I'll get it signed
    off", "I'll book the room") rather than a further one ("I'll also write...")."""
    said = words(reply)
    if "also" in said or "too" in said:
        return False
    if _HAVE_IT.search(reply):  # "I'll have a draft tomorrow": when, not another task
        return True
    return bool(_BACK_REFERENCE & set(said)) or bool(
        set(content_words(reply)) & set(content_words(task))
    )


@dataclass
class Response:
    """What the replies to a request settled."""

    owner: str | None = None  # who accepted it
    declined: set[str] = field(default_factory=set)
    done: bool = False  # reported as already done: no item
    due: date | None = None  # a due date the acceptance gave
    consumed: set[int] = field(default_factory=set)  # replies that are part of this item
    acceptance: Sentence | None = None  # the reply that took the request on, if consumed


def settle_request(
    sentences: Sequence[Sentence], position: int, task: str, addressee: str | None
) -> Response:
    """Read the replies to the request at `position`: the first clear acceptance gives
    the owner (the addressee, or anyone when nobody was named, or anyone once the
    addressee declined), a decline rules its author out, a "done" closes it."""
    response = Response()
    seen: set[int] = set()
    asked = False  # someone asked something since: a short "yes" may answer that instead
    for later, reply in replies(sentences, position):
        if reply.index in seen:
            continue  # one reading per message: its first sentence that says something
        # "Yes, we'll have it ready": the cleaned text lost the "Yes".
        kind = reply_kind(reply.text) or (reply_kind(reply.raw) if reply.raw else None)
        if kind is None:
            asked = asked or reply.text.rstrip().endswith("?")  # not "sure, by when?"
            continue
        if asked and _SHORT_ANSWER.match(reply.text):
            continue  # "yes", "done": the answer to the question in between
        if reply.bare and addressee is None and not _VOLUNTEER.match(reply.text):
            continue  # "ok" to "can someone…?" takes nothing on; "me" does
        seen.add(reply.index)
        mine = addressee is None or reply.author == addressee or addressee in response.declined
        if kind == "done" and mine:
            response.done = True
            response.consumed.add(later)
            return response
        if kind == "decline":
            response.declined.add(reply.author)
            response.consumed.add(later)
        elif kind == "accept" and mine:
            response.owner = reply.author
            if not _POSITIVE.search(reply.text) or takes_up(reply.text, task):
                response.consumed.add(later)
                response.acceptance = reply
                response.due, _ = find_due(reply.text, reply.at)
            return response
    return response


# Replies that do not answer a question: acknowledgements and "we don't know yet".
_NON_ANSWER = re.compile(
    r"^\W*(?:(?:hmm+|hm+|well|so|oh|ah|true|interesting)\b[\s,.!]*)*"
    r"(?:good|great|fair|valid|interesting)\s+(?:point|question|call|catch|one)\b"
    r"|\b(?:not sure|unsure|don't know|do not know|dunno|idk|no idea|no clue|unclear|tbd|"
    r"to be (?:decided|determined|confirmed)|still open|open question|(?:it\s+)?depends|"
    r"let me (?:check|think|look|find out)|need to check|will check|not yet|nobody knows|"
    r"no one knows|(?:have not|haven't|has not|hasn't|did not|didn't|not)\s+(?:yet\s+)?"
    r"(?:been\s+)?(?:decided|agreed|settled|figured|confirmed))\b",
    _I,
)
_YES_NO = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|no|nope|nah|done|correct|exactly|definitely|absolutely|of course|"
    r"indeed|not really|sure|it is|it's|it does|it doesn't|it isn't|we do|we don't|we are|"
    r"we aren't|we will|we won't|they do|they don't|that's right)\b",
    _I,
)
_YES_NO_QUESTION = frozenset(
    "do does did is are was were can could should shall will would have has may might must "
    "any anyone anybody".split()
)
_ON_IT = re.compile(r"^\W*(?:on it|will do|can do|got it|sure|ok(?:ay)?|yes|yep|yeah)\W*$", _I)
_TAKES_IT_ON = re.compile(r"^\W*(?:ok(?:ay)?|sure|yes|yeah)\b[\s,!.]*(?:i'll|i will|will do)\b", _I)
_WH = frozenset("what where when why how which who whose whom".split())
_CHOICE = re.compile(
    r"\b(?:let's|let us|we'll|we will|we're)\s+"
    r"(?:go(?:ing)?\s+(?:with|for)|use|pick|choose|take)\b",
    _I,
)
_WHO_ANSWER = re.compile(r"^\W*(?:\w+\s+(?:does|do|did|will|is|has|owns|can)\b|i\b|me\b)", _I)
_TIME = re.compile(
    r"\b(?:\d{1,2}(?::\d\d)?\s*(?:am|pm)|noon|midnight|morning|afternoon|evening|tonight|"
    r"next|tomorrow|today|monday|tuesday|wednesday|thursday|friday|q[1-4]|week|month)\b",
    _I,
)


def _terms(text: str) -> set[str]:
    return {w.removesuffix("s") for w in content_words(text)}


def chosen_later(sentences: Sequence[Sentence], position: int) -> bool:
    """Whether a choice made in the next few messages, by anyone, the asker too, settles
    the question at `position` ("A or B?" ... "ok, let's go with B")."""
    question = sentences[position]
    if not re.search(r"\bor\b", question.text, _I):
        return False  # only a choice settles a choice: "who writes the tests?" stays open
    asked = _terms(question.text)
    for reply in sentences[position + 1 : position + 12]:
        if reply.index - question.index > REPLY_WINDOW:
            break
        if _CHOICE.search(reply.text) and asked & _terms(reply.text):
            return True
    return False


def answers(
    question: Sentence, reply: Sentence, participants: Sequence[str], *, adjacent: bool
) -> bool:
    """Whether `reply` (by someone else) answers `question`: it is no question, aside,
    "good point" or "not sure" itself, and it says yes or no, names the person or time
    asked for, or talks about what was asked (a content word in common when it comes
    right after the question, two further on)."""
    text = reply.raw or reply.text
    if text.rstrip().endswith("?") or _NON_ANSWER.search(text) or is_aside(reply):
        return False
    # What the question asks is in its last clause ("I'm blocked, who can help?"), and
    # "who's" asks "who".
    clause = re.split(r"[,;:]\s+", question.text)[-1]
    kind = (words(clause) or [""])[0].split("'")[0]
    if (
        adjacent
        and kind not in _WH
        and (_TAKES_IT_ON.match(text) if kind in _YES_NO_QUESTION else _ON_IT.match(text))
    ):
        return True  # "and the runbook links?" / "on it"; "can we…?" / "ok, I'll…"
    shared = len(_terms(question.text) & _terms(text))
    if (kind in _YES_NO_QUESTION and _YES_NO.match(text)) or shared >= (1 if adjacent else 2):
        return True
    if not adjacent:  # a name or a time further on answers something else
        return False
    if kind == "who":
        return bool(_WHO_ANSWER.match(text) or mentioned_participants(text, participants))
    if kind == "when":
        return bool(_TIME.search(text) or find_due(text, None)[1])
    return False


_PROPOSAL = re.compile(
    r"^(?:proposal|suggestion|i propose|i suggest)\s*[:\-–]?\s*(?:that\s+)?(?P<marked>.+)"
    r"|^(?:i think\s+|i'd say\s+|maybe\s+)?"  # "I think we should negotiate a lower tier"
    r"(?P<plain>(?:we'll|we will|let's|let us|we should|we're going to|we are going to)\s+"
    r"(?!(?:need|have|be|see|know|talk|discuss|think|want|probably|maybe|get back)\b)\w.+)$",
    _I,
)
_ASK_AGREEMENT = re.compile(
    r"^\W*(?:agreed|ok(?:ay)?|deal|right|(?:any\s+)?objections|thoughts|sounds? good|"
    r"does that work(?: for (?:everyone|you all|all))?|"
    r"(?:is\s+)?everyone ok(?:ay)? with (?:that|this)|"
    r"all good|yes or no|\+1s?|fine)\s*\?$",
    _I,
)
_STRONG_AGREE = re.compile(
    r"^\W*(?:agreed|i agree|agree|\+1|sounds good|sgtm|lgtm|works for me|fine (?:by|with) me|"
    r"ok(?:ay)? (?:by|with) me|no objections?|none from me|deal|makes sense|"
    r"let's do (?:it|that|this)|"
    r"👍)",
    _I,
)
_WEAK_AGREE = re.compile(r"^\W*(?:yes|yep|yeah|sure|ok(?:ay)?|fine|none|nope|no)\b", _I)


def agreed_proposal(sentences: Sequence[Sentence], position: int) -> tuple[str, set[int]] | None:
    """The decision a proposal became ("We'll freeze deploys until the postmortem.
    Agreed?" / "Agreed."), with the positions of the sentences that settled it; None
    unless someone else agreed before anyone objected or hedged."""
    sentence = sentences[position]
    text = sentence.text.strip()
    match = _PROPOSAL.match(text)
    if match is None or text.endswith("?"):
        return None
    asked = None
    following = sentences[position + 1] if position + 1 < len(sentences) else None
    if following and following.author == sentence.author and _ASK_AGREEMENT.match(following.text):
        asked = position + 1
    for later, reply in replies(sentences, position):
        agree = _STRONG_AGREE.match(reply.text) or (asked and _WEAK_AGREE.match(reply.text))
        if agree and not _NON_ANSWER.search(reply.text):
            used = {position, later} | ({asked} if asked else set())
            return clean_clause(match.group("marked") or match.group("plain")), used
        if _NON_ANSWER.search(reply.text) or _DECLINE.search(reply.text):
            return None
    return None


_CALLED_OFF = re.compile(
    r"^\W*(?:never ?mind|nvm|scratch that|forget (?:it|that)|cancel that|no longer needed|"
    r"not needed any ?more|(?:actually\s+)?(?:don't|do not) bother)\b"
    r"(?!\s+(?:the|my|about|that|this|his|her|your|our)\b)",  # "never mind the typo"
    _I,
)
_INSTEAD = re.compile(r"\s*\binstead\b(?!\s+of\b)", _I)


def call_off(actions: list[ActionItem], sentences: Sequence[Sentence], position: int) -> bool:
    """ "never mind, not needed anymore" at `position`: the latest item of the last few
    messages is dropped from `actions`. Whether one was."""
    here = sentences[position]
    if not _CALLED_OFF.match(here.text):
        return False
    before = [s for s in sentences[:position] if 0 < here.index - s.index <= REPLY_WINDOW]
    asked = [s.index for s in before if s.author == here.author and "?" in s.text]
    for k in range(len(actions) - 1, -1, -1):
        said = [s.index for s in before if s.ref == actions[k].ref]
        if not said:
            continue
        # Only who asked for it, or who took it on, can call it off; and not when they
        # asked something else since ("…is the VPN down?" / "nvm, it's back").
        if actions[k].owner == here.author or (asked and max(asked) <= max(said)):
            del actions[k]
            return True
    return False


def taken_over(sentence: Sentence, item: ActionItem, actions: list[ActionItem]) -> list[ActionItem]:
    """The `actions` left once `item`, said "instead" ("actually I'll take the 502s
    instead"), replaces those about the same thing; its task loses the "instead"."""
    if not actions or not _INSTEAD.search(sentence.text):
        return actions  # nothing to take over
    item.task = _INSTEAD.sub("", item.task)
    said = set(content_words(item.task)) - TASK_VERBS
    return [a for a in actions if not said & set(content_words(a.task))]
