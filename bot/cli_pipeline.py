"""The one-shot pipeline commands of `balafon`: transcribe, recap, eval and train. They
run in the foreground on local files and print (or write) their result."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import CoreSettings as Settings
from summarizer.errors import SummarizerError, explain

if TYPE_CHECKING:
    from summarizer.transcribe import Transcriber
    from summarizer.types import Recap, Transcript

EXIT_USAGE = 2


class Report(Protocol):
    """What `balafon eval` prints of any evaluation report."""

    def to_dict(self) -> dict[str, Any]: ...

    def to_markdown(self) -> str: ...


def run_pipeline_command(settings: Settings, args: argparse.Namespace) -> int:
    """`transcribe`, `recap`, `eval` or `train`; a pipeline error is one line on stderr
    and exit status 2."""
    try:
        if args.command == "transcribe":
            from summarizer.transcript_formats import render_transcript

            if not args.file.exists():
                raise SummarizerError("no such file.", source=str(args.file))
            transcript = _transcribe(settings, args.file, args)
            text = render_transcript(transcript, args.format, timestamps=args.timestamps)
            _write(text, args.output)
        elif args.command == "recap":
            from summarizer.recap_formats import render_recap

            recap, title = _recap(settings, args.file, args)
            _write(render_recap(recap, args.format, title=f"Recap: {title}"), args.output)
        elif args.command == "eval":
            _write(_evaluate(settings, args), None)
        elif args.command == "train":
            _train(args)
    except SummarizerError as exc:
        given = getattr(args, "file", None)
        if given is not None and exc.source == given.name:
            exc.source = str(given)  # the path as typed, as for conversations
        print(f"balafon: error: {explain(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return 0


@contextmanager
def _progress(label: str) -> Iterator[Callable[[float], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", disable=None, file=sys.stderr, leave=False)
    try:
        yield lambda fraction: bar.update(round(fraction * 100) - bar.n)
    finally:
        bar.close()


def _transcriber(settings: Settings, args: argparse.Namespace) -> Transcriber:
    """The configured transcriber, with `--model` / `--language` applied."""
    from dataclasses import replace

    from summarizer.transcribe import Transcriber

    config = settings.transcriber_config()
    if getattr(args, "model", None):
        config = replace(config, model=args.model)
    if getattr(args, "language", None):
        config = replace(config, language=args.language)  # "auto": detect
    return Transcriber(config=config)


def _transcribe(settings: Settings, path: Path, args: argparse.Namespace) -> Transcript:
    transcriber = _transcriber(settings, args)
    with _progress(f"Transcribing {path.name}") as on_progress:
        transcript = transcriber.transcribe(path, on_progress=on_progress)
    if settings.diarization:
        from summarizer.speakers import label_speakers

        speakers = getattr(args, "speakers", None)  # `--speakers N`: how many took part
        transcript = label_speakers(transcript, path, num_speakers=speakers)
    for note in transcript.notes:  # on stderr too: the output may go to a file
        print(f"balafon: warning: {path}: {note[:1].lower()}{note[1:]}", file=sys.stderr)
    return transcript


def _recap(settings: Settings, path: Path, args: argparse.Namespace) -> tuple[Recap, str]:
    from summarizer.conversation_formats import is_conversation_file, load_conversation
    from summarizer.pipeline import Summarizer

    summarizer = Summarizer(llm=settings.llm_config())
    if not path.exists():
        raise SummarizerError("no such file or folder.", source=str(path))
    if is_conversation_file(path):
        conversation = load_conversation(path)
        return summarizer.recap(conversation), conversation.title or path.stem
    transcript = _transcribe(settings, path, args)
    recorded_at = getattr(args, "recorded_at", None)
    if recorded_at is None:  # else the start the file's own creation_time tag gives, if any
        from summarizer.audio import creation_time

        recorded_at = creation_time(path)
    return summarizer.recap_transcript(transcript, recorded_at=recorded_at), path.name


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"Wrote {output}", file=sys.stderr)


def _evaluate(settings: Settings, args: argparse.Namespace) -> str:
    from summarizer.evaluation import evaluate_recaps, evaluate_transcription

    if args.kind == "transcription":
        transcriber = _transcriber(settings, args)
        report: Report = evaluate_transcription(
            args.manifest, transcriber.transcribe, limit=args.limit
        )
    else:
        from summarizer.evaluation.acts import evaluate_act_recaps, is_dialogue_act_file
        from summarizer.pipeline import Summarizer

        summarizer = Summarizer(llm=settings.llm_config(), offline_model=not args.rules_only)
        if is_dialogue_act_file(args.meetings):
            report = evaluate_act_recaps(
                args.meetings, summarizer.recap, split=args.split, limit=args.limit
            )
        else:
            report = evaluate_recaps(args.meetings, summarizer.recap, limit=args.limit)
    if args.format == "json":
        import json

        return json.dumps(report.to_dict(), indent=2) + "\n"
    return report.to_markdown()


def _train(args: argparse.Namespace) -> None:
    import json

    from summarizer.meeting_training import train

    model, report = train(args.data, cv_folds=args.folds)
    args.output.write_bytes(model.to_bytes())
    print(json.dumps(report, indent=2, sort_keys=True), file=sys.stderr)
    print(f"Wrote {args.output}", file=sys.stderr)
