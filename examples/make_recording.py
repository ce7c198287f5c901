"""Re-create examples/standup-call.ogg with espeak-ng (Debian package) and PyAV.

The recording is synthetic speech of a short stand-up, so that the repository can ship a
public-domain example; run `python examples/make_recording.py` to rebuild it.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

LINES = [
    ("en-us", "Good morning. This is the stand-up for the mobile app release."),
    ("en-us+f3", "The login crash is fixed and the build passed on both platforms."),
    ("en-us", "We agreed to ship version two point four on Thursday."),
    ("en-us+m3", "I will update the store screenshots by Wednesday."),
    ("en-us+f3", "Can someone review the privacy policy changes before the release?"),
    ("en-us", "Action item: send the release notes to the support team tomorrow."),
]
RATE = 22050


def _speak(voice: str, text: str, folder: Path) -> np.ndarray:
    path = folder / "line.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", str(path), text], check=True)
    with wave.open(str(path)) as clip:
        return np.frombuffer(clip.readframes(clip.getnframes()), dtype=np.int16)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pause = np.zeros(int(RATE * 0.6), dtype=np.int16)
        audio = np.concatenate(
            [part for v, t in LINES for part in (_speak(v, t, Path(tmp)), pause)]
        )
    out = Path(__file__).with_name("standup-call.ogg")
    with av.open(str(out), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = 24000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        frame = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
