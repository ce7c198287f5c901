"""Benchmark: offline speaker diarization (summarizer/speakers): DER, word attribution, speed
and memory. Run by hand (never in tests):

    python bench/diarization.py                       # 5 min, 3 and 4 voices, pyannote sample
    python bench/diarization.py --minutes 60 --voices 3 --no-sample --full

Recordings: espeak-ng voices of tests/speech.py reading the dialogue acts of AMI meetings
(`--data`, shared/data/meetings/dev_dialogue_acts.jsonl: each AMI speaker is one voice),
0.6 s between turns, until `--minutes` of audio. The pyannote.audio 4.0.7 wheel's two-person
sample (`pyannote/audio/sample/sample.wav` + `.rttm`) is fetched with `pip download
--no-deps` into a cache folder, never committed.

Each diarization runs in its own subprocess (peak RSS per run); the machine's cores are all
it may use (2 here). DER: collar 0.25 s, overlapping speech not scored
(summarizer/speakers/der.py). Word attribution: the share of transcribed words (bundled
tiny.en) whose label maps to the reference speaker at the word's middle, words in gaps or
overlaps left out, labels mapped to reference speakers by most shared time. `--full` also
times transcription + diarization together, as the media runner does (RSS target < 1 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = Path.home() / ".cache" / "balafon-bench"
DATA = Path("/work/shared/data/meetings/dev_dialogue_acts.jsonl")


def make_dialogue(path: Path, minutes: float, voices: int, data: Path) -> list[list]:
    """Speak AMI dialogue acts with `voices` espeak voices; returns the reference turns."""
    from tests.speech import synthesize_dialogue

    turns: list[tuple[int, str]] = []
    words = 0
    for line in data.open():  # ~100 words a minute with the gaps: stop once there are enough
        meeting = json.loads(line)
        letters = sorted(meeting["speakers"])[:voices]
        for act in meeting["dialogue_acts"]:
            if act["spk"] not in letters or len(act["text"].split()) < 4:
                continue
            voice = letters.index(act["spk"])
            if turns and turns[-1][0] == voice and len(turns[-1][1].split()) < 40:
                turns[-1] = (voice, f"{turns[-1][1]} {act['text']}")
            else:
                turns.append((voice, act["text"]))
            words += len(act["text"].split())
        if words > minutes * 100:
            break
    _, reference = synthesize_dialogue(turns, path)
    return [list(turn) for turn in reference]


def pyannote_sample() -> tuple[Path, list[list]]:
    folder = CACHE / "pyannote-4.0.7"
    wav = folder / "sample.wav"
    if not wav.exists():
        folder.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps"]
        subprocess.run([*pip, "pyannote.audio==4.0.7", "-d", str(folder)], check=True)
        wheel = next(folder.glob("pyannote_audio-4.0.7-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in ("sample.wav", "sample.rttm"):
                (folder / name).write_bytes(archive.read(f"pyannote/audio/sample/{name}"))
        wheel.unlink()
    reference = []
    for line in (folder / "sample.rttm").read_text().splitlines():
        f = line.split()
        reference.append([float(f[3]), float(f[3]) + float(f[4]), f[7]])
    return wav, reference


def child(args: argparse.Namespace) -> None:
    """One measured run, in this process; prints a JSON line."""
    from summarizer.speakers import der, diarize_file, label_speakers
    from summarizer.speakers.label import default_encoder

    reference = json.loads(Path(args.reference).read_text())
    encoder = default_encoder()
    started = time.perf_counter()
    transcript = None
    if args.transcribe:
        from summarizer.transcribe import Transcriber

        transcript = Transcriber().transcribe(args.file)
        transcribed = time.perf_counter() - started
        transcript = label_speakers(transcript, args.file, args.speakers, encoder=encoder)
        result = None
    else:
        result = diarize_file(args.file, encoder, num_speakers=args.speakers)
    seconds = time.perf_counter() - started
    out: dict = {"seconds": round(seconds, 2), "rss_mb": _peak_rss_mb()}
    if result is not None:
        hyp = [(t.start, t.end, t.speaker) for t in result.turns]
        out.update(der=round(der(reference, hyp), 4), speakers=result.speakers)
    if transcript is not None:
        words = word_accuracy(transcript, reference)
        out.update(transcribe_seconds=round(transcribed, 2), words=words)
    print(json.dumps(out))


def word_accuracy(transcript, reference: list[list]) -> float | None:
    """Share of words whose label is the reference speaker (labels mapped by shared time)."""
    pairs = []
    for segment in transcript.segments:
        for word in segment.words or []:
            middle = (word.start + word.end) / 2
            said = [s for a, b, s in reference if a <= middle < b]
            if len(said) == 1 and segment.speaker:
                pairs.append((segment.speaker, said[0], word.end - word.start))
    if not pairs:
        return None
    shared: Counter = Counter()
    for label, speaker, length in pairs:
        shared[(label, speaker)] += length
    mapping: dict = {}
    for (label, speaker), _ in shared.most_common():
        if label not in mapping and speaker not in mapping.values():
            mapping[label] = speaker
    return round(sum(mapping.get(lab) == spk for lab, spk, _ in pairs) / len(pairs), 4)


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(file: Path, reference: list, speakers: int | None, transcribe: bool = False) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(reference, f)
    command = [sys.executable, __file__, "--child", str(file), "--reference", f.name]
    command += ["--speakers", str(speakers)] if speakers else []
    command += ["--transcribe"] if transcribe else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(name: str, seconds: float, speakers: int | None, result: dict) -> None:
    rtf = result["seconds"] / seconds
    hint = speakers if speakers else "auto"
    print(
        f"| {name} | {seconds / 60:.1f} min | {hint} | {result.get('speakers', '')} | "
        f"{result['der'] * 100:.1f}% | {rtf:.3f} | {result['rss_mb']} MB |"
        if "der" in result
        else f"| {name} | {seconds / 60:.1f} min | {hint} | words {result['words']} | "
        f"transcribe {result['transcribe_seconds']} s | total RTF {rtf:.3f} | "
        f"{result['rss_mb']} MB |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Diarization DER, RTF and memory.")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--voices", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-sample", action="store_true", help="skip the pyannote sample")
    parser.add_argument("--full", action="store_true", help="also transcribe + diarize")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    parser.add_argument("--speakers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--transcribe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.file = args.child
        child(args)
        return
    print("| recording | length | count given | found | DER | RTF | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        if not args.no_sample:
            wav, reference = pyannote_sample()
            runs.append(("pyannote sample (2 people)", wav, reference, 2, 30.0))
        for voices in args.voices:
            path = Path(tmp) / f"dialogue{voices}.wav"
            reference = make_dialogue(path, args.minutes, voices, args.data)
            length = reference[-1][1]
            runs.append((f"espeak, {voices} voices", path, reference, voices, length))
        for name, path, reference, count, length in runs:
            for speakers in (count, None):
                report(name, length, speakers, measure(path, reference, speakers))
            if args.full or "pyannote" in name:
                report(name, length, count, measure(path, reference, count, transcribe=True))


if __name__ == "__main__":
    main()
