"""Text normalisation for WER: casing, punctuation and spelling conventions ("forty-two"
vs "42", "Mr." vs "mister") are not counted as errors.

Both the reference and the hypothesis go through :func:`normalize_text` before words are
compared; the number words of a transcript are parsed into digits (`NumberParser`).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text"]

_APOSTROPHES = re.compile(r"['’‘`´]")
# "i.e." -> "ie", "U.S.A." -> "usa": dotted single letters are one word, not several.
_DOTTED_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_DIGIT_GROUP_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A word is a run of letters/digits; "12.5" keeps its decimal point.
_WORD = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros"}
_CURRENCY_AMOUNT = re.compile(r"([$£€])\s?(\d+(?:[.,]\d+)*)")
_TITLES = {"mr": "mister", "mrs": "missus"}

_ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {
    w: i + 10
    for i, w in enumerate(
        "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINAL_ONES = {
    w: i + 1
    for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth".split())
}
_ORDINAL_TEENS = {
    w: i + 10
    for i, w in enumerate(
        (
            "tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
            "eighteenth nineteenth"
        ).split()
    )
}
_ORDINAL_TENS = {
    w: (i + 2) * 10
    for i, w in enumerate(
        "twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split()
    )
}
_ORDINAL_SCALES = {"thousandth": 1_000, "millionth": 1_000_000, "billionth": 1_000_000_000}

_ONE, _TEEN, _TEN, _HUNDRED, _SCALE, _AND = "one", "teen", "ten", "hundred", "scale", "and"


def _classify(word: str) -> tuple[str, int, bool] | None:
    """(kind, value, is_ordinal) of a number word, or None for any other word."""
    for table, kind in ((_ONES, _ONE), (_TEENS, _TEEN), (_TENS, _TEN), (_SCALES, _SCALE)):
        if word in table:
            return kind, table[word], False
    for table, kind in (
        (_ORDINAL_ONES, _ONE),
        (_ORDINAL_TEENS, _TEEN),
        (_ORDINAL_TENS, _TEN),
        (_ORDINAL_SCALES, _SCALE),
    ):
        if word in table:
            return kind, table[word], True
    if word == "hundred":
        return _HUNDRED, 100, False
    if word == "hundredth":
        return _HUNDRED, 100, True
    return None


def _ordinal_suffix(value: int) -> str:
    if 11 <= value % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")


class _NumberParser:
    """Turns runs of English number words into digits; every other word passes through.

    Handles cardinals up to billions ("one hundred and five" -> 105), ordinals ("fifteenth"
    -> 15th, "twenty first" -> 21st), years read as pairs ("fourteen fifty five" -> 1455,
    "nineteen hundred" -> 1900), "a hundred" / "a thousand", and decimals with single
    digits ("two point five" -> 2.5). Adjacent numbers that cannot form one value stay
    separate ("one two three" -> 1 2 3). Every number word is converted, whatever it means
    ("no one" -> "no 1", "a second" -> "a 2nd"): harmless, as both sides get the same
    rewrite. Not handled: "oh" for zero, years read from
    "twenty" ("twenty twenty" -> 20 20), fractions, plural "hundreds"/"thousands".
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self._reset()

    def _reset(self) -> None:
        self.total = 0
        self.current = 0
        self.last: str | None = None  # kind of the last word of the number being read
        self.last_scale: int | None = None

    def _flush(self, suffix: str = "") -> None:
        if self.last is not None:
            self.out.append(f"{self.total + self.current}{suffix}")
        self._reset()

    def _after_group_start(self) -> bool:
        # A new group can continue after "hundred", "thousand" or an inner "and".
        return self.last in (_HUNDRED, _SCALE, _AND)

    def _bare_teen(self) -> bool:
        return self.last == _TEEN and self.total == 0 and 10 <= self.current <= 19

    def _add(self, kind: str, value: int) -> None:
        if kind == _ONE:
            if self.last is None:
                self.current = value
            elif (self.last == _TEN and self.current % 10 == 0) or self._after_group_start():
                self.current += value
            else:
                self._flush()
                self.current = value
        elif kind in (_TEEN, _TEN):
            if self.last is None:
                self.current = value
            elif self._after_group_start() and self.current % 100 == 0:
                self.current += value
            elif self._bare_teen():
                self.current = self.current * 100 + value  # a year: "nineteen twelve"
            else:
                self._flush()
                self.current = value
        elif kind == _HUNDRED:
            if self.last is None:
                self.current = 100
            elif self.last in (_ONE, _TEEN, _TEN) and 0 < self.current < 100:
                self.current *= 100
            else:
                self._flush()
                self.current = 100
        else:  # _SCALE
            if self.last is None:
                self.total, self.current = value, 0
            elif (
                self.last in (_ONE, _TEEN, _TEN, _HUNDRED)
                and 0 < self.current < 1000
                and (self.last_scale is None or value < self.last_scale)
            ):
                self.total += self.current * value
                self.current = 0
            else:
                self._flush()
                self.total, self.current = value, 0
            self.last_scale = value
        self.last = kind

    def run(self, words: list[str]) -> list[str]:
        i = 0
        while i < len(words):
            word = words[i]
            nxt = _classify(words[i + 1]) if i + 1 < len(words) else None
            info = _classify(word)
            if info is not None:
                kind, value, ordinal = info
                self._add(kind, value)
                if ordinal:
                    value = self.total + self.current
                    self._flush(_ordinal_suffix(value))
                i += 1
                continue
            if (
                word == "a"
                and self.last is None
                and nxt is not None
                and nxt[0] in (_HUNDRED, _SCALE)
                and not nxt[2]
            ):
                self._add(_ONE, 1)  # "a hundred" -> 100
                i += 1
                continue
            if (
                word == "and"
                and self.last in (_HUNDRED, _SCALE)
                and nxt is not None
                and nxt[0] in (_ONE, _TEEN, _TEN)
            ):
                self.last = _AND  # "one hundred and five" -> 105
                i += 1
                continue
            if (
                word.isdigit()
                and self.last is None
                and nxt is not None
                and nxt[0] in (_HUNDRED, _SCALE)
                and not nxt[2]
            ):
                self.current, self.last = int(word), _ONE  # "2 million" -> 2000000
                i += 1
                continue
            if word == "point" and self.last is not None:
                digits = []
                j = i + 1
                while j < len(words) and words[j] in _ONES:
                    digits.append(str(_ONES[words[j]]))
                    j += 1
                if digits:
                    self._flush("." + "".join(digits))
                    i = j
                    continue
            self._flush()
            self.out.append(word)
            i += 1
        self._flush()
        return self.out


def normalize_text(text: str, *, standardize: bool = True) -> str:
    """Normalise a transcript for WER so that only real recognition errors count.

    Always: Unicode NFKC, lowercase, apostrophes dropped ("it's" -> "its"), dotted
    acronyms joined ("i.e." -> "ie"), thousands separators dropped ("1,000" -> "1000"),
    every other non-alphanumeric character (hyphens included) turned into a space, and
    whitespace collapsed. A decimal point between digits is kept ("12.5").

    With ``standardize`` (the default) also: currency and percent signs become words
    ("$5" -> "5 dollars", "5%" -> "5 percent"), "mr"/"mrs" become "mister"/"missus", and
    English number words become digits ("fourteen fifty-five" -> "1455", "fifteenth" ->
    "15th", "forty-two" -> "42"; see :class:`_NumberParser` for what is covered). This is
    applied identically to reference and hypothesis, so it cannot turn a wrong word into a
    right one; it only stops "forty-two" vs "42" counting as two errors. It also merges a
    multi-word number into one token, which shrinks the reference word count a little
    (the same trade-off Whisper's own English normaliser makes). No spelling variants
    (colour/color), contractions or filler words are touched.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = _DIGIT_GROUP_COMMA.sub("", text)
    if standardize:
        text = _CURRENCY_AMOUNT.sub(lambda m: f" {m.group(2)} {_CURRENCY[m.group(1)]} ", text)
        text = text.replace("%", " percent ").replace("&", " and ")
    text = _DOTTED_ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    words = _WORD.findall(text)
    if standardize:
        words = [_TITLES.get(w, w) for w in words]
        words = _NumberParser().run(words)
    return " ".join(words)
