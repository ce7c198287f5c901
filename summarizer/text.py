"""Small text utilities shared by the offline engine: sentences, words, clean-up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from summarizer.types import Conversation

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more
    most mustn't my myself no nor not now of off on once only or other ought our ours
    ourselves out over own really same shan't she she'd she'll she's should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they
    they'd they'll they're they've this those through thing things think to too under until up
    very was wasn't we we'd we'll we're we've were weren't what what's when when's where
    where's which while who who's whom why why's will with won't would wouldn't you you'd
    you'll you're you've your yours yourself yourselves one two going go know well right yes
    yeah okay ok oh um uh uhm hmm mm mhm mm-hmm hm ah like sort kind bit actually maybe gonna
    wanna basically probably guess mean say said see lot need want sure good great thanks
    thank please still way would've could've should've let
    """.split()
)

FILLERS = frozenset(
    """
    um uh uhm hmm mm mhm mm-hmm hm ah oh okay ok yeah yep yes no nope right so well
    """.split()
)

# A sentence ends at ".", "!" or "?" before a capital, and, as chat is often typed in lower
# case ("thanks! can you…", "ugh. who's on call?"), at "!" or "?" before any word and at a
# "." after a lower-case word of three letters or more that is no abbreviation ("etc. and").
# Never before a word that dates what came before ("fix the dashboard! tomorrow at the
# latest"), and only after a lower-case word ("Globex Inc. by Friday" is one sentence).
_NOT_A_START = r"(?!(?:by|before|until|till|tomorrow|today|tonight|asap|eod|eow|next|on)\b)"
_SENTENCE_END = re.compile(
    rf"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9@])|(?<=[!?])\s+{_NOT_A_START}(?=\w)|\n+"
)
_LOWER_START = re.compile(rf"(?<![.\w])([a-z]{{3,}})\.\s+{_NOT_A_START}(?=[a-z])")
_LIST_NUMBER = re.compile(r"\s*\d{1,2}[.)]\s*")
_ABBREVIATIONS = frozenset(
    "etc approx incl min mins max est dept nos resp sec secs hrs vol ver rev ref fig misc avg "
    "cont".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a message, with where it came from."""

    text: str  # disfluencies removed (see clean_spoken)
    author: str
    index: int  # the message's position in the conversation
    at: datetime | None
    ref: str | None
    raw: str = ""  # as written or spoken
    bare: bool = False  # only "yes", "me", "done": kept for the rules, not for summaries


_FILLER = re.compile(
    r"(?:,\s*)?(?<![\w'-])(?:u+h+m*|u+m+|e+r+m+|e+r+|h+m+|m+-?h+m+|m+)(?![\w'-]),?", re.I
)
_REPEAT = re.compile(r"\b(\w+(?:'\w+)?)(?:[\s,]+\1\b)+", re.I)
_OPENER = re.compile(
    r"^(?:(?:okay|ok|right|well|so|and|but|yeah|yes|alright|all right|oh|now|anyway)\b[\s,.!]*)+",
    re.I,
)


def clean_spoken(text: str) -> str:
    """Remove what speech adds and reading does not need: fillers ("um", "uh"), stutters
    ("the the"), and discourse openers ("Okay, right, so...")."""
    text = _FILLER.sub(" ", text)
    text = _REPEAT.sub(r"\1", text)
    text = _OPENER.sub("", text.strip())
    text = re.sub(r"\s+([,.!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip(" ,")
    if not re.search(r"\w", text):
        return ""
    return text[:1].upper() + text[1:]


def spoken_only(sentences: list[Sentence]) -> list[Sentence]:
    """The sentences that say more than a bare "yes" (what the meeting model reads)."""
    return [s for s in sentences if not s.bare]


def split_sentences(text: str) -> list[str]:
    found: list[str] = []
    for part in _SENTENCE_END.split(text):
        if found and _LIST_NUMBER.fullmatch(found[-1]):  # "2. Noah takes…" is one line
            part = f"{found.pop()} {part}"
        start = 0
        for match in _LOWER_START.finditer(part):
            if match.group(1) not in _ABBREVIATIONS:
                found.append(part[start : match.end(1) + 1])
                start = match.end()
        found.append(part[start:])
    return [s.strip() for s in found if s and s.strip()]


# A reply that is only "yes" or "me" says nothing to a summary, but answers a question or
# takes a request on: it is kept as written (spoken_only drops it again for the meeting model).
_BARE_ANSWER = re.compile(
    r"\W*(?:yes|yeah|yep|yup|no|nope|nah|ok|okay|sure|agreed|done|me)\W*", re.IGNORECASE
)


def sentences_of(conversation: Conversation) -> list[Sentence]:
    found = []
    for i, message in enumerate(conversation.messages):
        for sentence in split_sentences(message.text):
            cleaned = clean_spoken(sentence)
            bare = not cleaned and bool(_BARE_ANSWER.fullmatch(sentence))
            if bare:
                cleaned = sentence
            if cleaned:
                found.append(
                    Sentence(
                        text=cleaned,
                        author=message.author,
                        index=i,
                        at=message.at,
                        ref=message.ref,
                        raw=sentence,
                        bare=bare,
                    )
                )
    return found


def words(text: str) -> list[str]:
    return _WORD.findall(_URL.sub(" ", text.casefold()))


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]


def is_filler(text: str) -> bool:
    """True for back-channel turns such as "Yeah, okay." that carry no content."""
    return all(w in FILLERS for w in words(text))


_SLACK_SPECIAL = re.compile(r"<!([^>|]*)(?:\|([^>]*))?>")
SLACK_USER_MENTION = re.compile(r"<@([^>|]*)(?:\|([^>]*))?>")
_TEAMS_AT = re.compile(r"<at\b[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
# "@" that starts a handle ("@channel", "@here", "@everyone", "@devs", "@bob"), not the "@"
# of an e-mail address: with Slack's link_names any of them can notify people.
_AT_HANDLE = re.compile(r"(?<![\w.@])@+(?=\w)")


def sanitize_text(text: str, id_to_name: Mapping[str, str] | None = None) -> str:
    """Make model text unable to ping anyone: no @channel/@here/@everyone, no mention markup.

    Slack's `<!channel>`, `<!subteam^…|@team>`, `<@U123>` and Teams' `<at>…</at>` become
    their plain label (a known user id becomes the participant's name) and a leading "@" is
    dropped from handles; the bot renders the owners it validated as real mentions itself.
    """
    names = id_to_name or {}
    text = _SLACK_SPECIAL.sub(lambda m: m.group(2) or m.group(1).split("^")[0], text)
    text = SLACK_USER_MENTION.sub(lambda m: m.group(2) or names.get(m.group(1), "someone"), text)
    text = _TEAMS_AT.sub(lambda m: m.group(1), text)
    return _AT_HANDLE.sub("", text).strip()


def clean_clause(text: str) -> str:
    """Trim a clause for display: surrounding punctuation, fillers, capitalised first letter."""
    text = sanitize_text(text)
    text = re.sub(r"\s+", " ", text).strip(" \t,;:-–—")
    text = re.sub(r"^(?:(?:and|also|then|so|just|please|maybe)\b[\s,:;]*)+", "", text, flags=re.I)
    text = re.sub(r"[\s,]*\bplease\b[.!?]*$", "", text, flags=re.I)
    text = text.rstrip(" .!?,;")
    return text[:1].upper() + text[1:] if text else text
