"""Language codes: the ones Whisper knows, their names for messages, and a cheap guess of a
chat's language from its most common words (for the offline engine, which reads English)."""

from __future__ import annotations

import re
from collections import Counter

# Whisper's languages (openai/whisper tokenizer.py), code -> English name.
WHISPER_LANGUAGES: dict[str, str] = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian",
    "ko": "Korean", "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish",
    "pl": "Polish", "ca": "Catalan", "nl": "Dutch", "ar": "Arabic", "sv": "Swedish",
    "it": "Italian", "id": "Indonesian", "hi": "Hindi", "fi": "Finnish", "vi": "Vietnamese",
    "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay", "cs": "Czech",
    "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian",
    "la": "Latin", "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak",
    "te": "Telugu", "fa": "Persian", "lv": "Latvian", "bn": "Bengali", "sr": "Serbian",
    "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada", "et": "Estonian",
    "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian",
    "sw": "Swahili", "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala",
    "km": "Khmer", "sn": "Shona", "yo": "Yoruba", "so": "Somali", "af": "Afrikaans",
    "oc": "Occitan", "ka": "Georgian", "be": "Belarusian", "tg": "Tajik", "sd": "Sindhi",
    "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao", "uz": "Uzbek",
    "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen",
    "nn": "Nynorsk", "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish",
    "my": "Myanmar", "bo": "Tibetan", "tl": "Tagalog", "mg": "Malagasy", "as": "Assamese",
    "tt": "Tatar", "haw": "Hawaiian", "ln": "Lingala", "ha": "Hausa", "ba": "Bashkir",
    "jw": "Javanese", "su": "Sundanese", "yue": "Cantonese",
}  # fmt: skip

AUTO = "auto"
_BY_NAME = {name.lower(): code for code, name in WHISPER_LANGUAGES.items()}


def language_name(code: str | None) -> str:
    """ "French" for "fr"; the code itself when it is not one of Whisper's."""
    return WHISPER_LANGUAGES.get(code or "", code or "an unknown language")


def normalize_language(value: str | None) -> str | None:
    """A Whisper language code, or None for "detect it" ("auto", empty or None).

    Accepts codes in any case and English names ("French"); raises ValueError, with the
    accepted forms, for anything else.
    """
    if value is None:
        return None
    text = value.strip().lower()
    if text in {"", AUTO}:
        return None
    if text in WHISPER_LANGUAGES:
        return text
    if text in _BY_NAME:
        return _BY_NAME[text]
    raise ValueError(
        f"{value!r} is not a language Whisper knows; use a code such as en, fr, de, es "
        "(ISO 639-1) or auto."
    )


# The most frequent function words of a few languages: enough to tell a chat in French
# from one in English without a model (the offline engine's rules are English-only).
_COMMON_WORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and to of is that it for you we i this on with are be was have not",
        "fr": "le la les et est une des du que pour nous vous je pas il dans sur avec ce",
        "de": "der die das und ist nicht ich wir sie ein eine zu mit auf den für es",
        "es": "el la los las y es que de en un una por para con no lo se del",
        "it": "il la di che e è per un una non sono con del della gli le lo",
        "pt": "o a os as e é que de em um uma para com não do da por se",
        "nl": "de het een en is van ik we je niet dat op met voor zijn te",
    }.items()
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def guess_text_language(text: str, *, min_words: int = 8) -> str | None:
    """The language whose common words make up most of `text`, or None when too little
    text or no clear winner. A cheap check, not a detector: it knows seven languages."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < min_words:
        return None
    counts: Counter[str] = Counter()
    for word in words:
        for code, common in _COMMON_WORDS.items():
            if word in common:
                counts[code] += 1
    if not counts:
        return None
    (best, hits), *rest = [*counts.most_common(2), ("", 0)]
    runner_up = rest[0][1]
    # Clear winner: at least 5% of the words, and 1.5 times the next language's share
    # (function words are shared: "de", "la", "a" …).
    if hits >= 0.05 * len(words) and hits >= 1.5 * runner_up:
        return best
    return None
