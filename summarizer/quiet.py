"""Keep third-party libraries from contacting anyone the operator did not configure.

onnxruntime, which faster-whisper uses for voice detection, sends usage telemetry to
mobile.events.data.microsoft.com about ten seconds after it is imported, unless
ORT_DISABLE_TELEMETRY is set before that import (its disable_telemetry_events() comes too
late). Other libraries honour similar switches. Each is set here, in code, before the
library is imported: by the `balafon` entry point for every command, and again just before
the transcriber imports faster-whisper (for programs that use the pipeline directly). A
value the operator put in the environment is kept.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

_OFF = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime: 1DS telemetry, read when it is imported
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub and hf-xet (a model named, not bundled)
    "DO_NOT_TRACK": "1",  # the common convention, for whatever else honours it
}
# LangSmith tracing is off unless one of these is set; say so explicitly when none is.
_TRACING = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING_V2",
    "LANGCHAIN_TRACING",
)


def disable_library_telemetry() -> None:
    """Turn off every library telemetry we carry (idempotent; call before heavy imports)."""
    if "onnxruntime" in sys.modules and "ORT_DISABLE_TELEMETRY" not in os.environ:
        log.warning("onnxruntime was imported before its telemetry could be turned off")
    for name, value in _OFF.items():
        os.environ.setdefault(name, value)
    if not any(name in os.environ for name in _TRACING):
        os.environ["LANGSMITH_TRACING"] = "false"
