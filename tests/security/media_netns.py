"""Runs inside a fresh network + mount namespace (see test_media_egress.py): `balafon serve`
and one transcription with a recap, with nothing reachable but loopback, while recording
every way the process could try to reach anyone else.

    unshare --net --mount python tests/security/media_netns.py WORK CLIP

* Every IPv4/IPv6 address is routed to loopback as a local address ("AnyIP"), so a
  connection to any host lands here: listeners on 0.0.0.0/[::] ports 80 and 443 record the
  address that was dialled.
* /etc/resolv.conf is replaced (in this mount namespace only) by one naming 127.0.0.1,
  where a recorder answers every DNS question with NXDOMAIN and writes it down.
* With strace on the PATH, `serve` runs under it and every connect() is recorded too.

The configured endpoints are the API port and a fake OpenAI server, both on 127.0.0.1.
The findings are written to WORK/report.json for the test to judge.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.fake_openai import FakeOpenAI, Reply

TOKEN = "egress-test-token"
LINGER_SECONDS = 14.0  # onnxruntime's first telemetry lookup came ~10 s after its import
RECAP = {
    "summary": "The team agreed on the launch date.",
    "key_points": [],
    "decisions": [],
    "action_items": [],
    "open_questions": [],
}


def main(work: Path, clip: Path) -> None:
    _network(work)
    lookups: list[str] = []
    dialled: list[str] = []
    _serve_dns(lookups)
    for port in (80, 443):
        _catch_all(port, dialled)
    report: dict[str, object] = {"lookups": lookups, "dialled": dialled}
    with FakeOpenAI() as llm:
        llm.handler = lambda body: Reply.json(RECAP)
        try:
            report.update(_run_serve(work, clip, llm))
        finally:
            report["llm_requests"] = len(llm.requests)
            report["llm_port"] = llm.port
            (work / "report.json").write_text(json.dumps(report, indent=2))


def _network(work: Path) -> None:
    def ip(*args: str, check: bool = True) -> None:
        subprocess.run(["ip", *args], check=check, capture_output=True)

    ip("link", "set", "lo", "up")
    ip("route", "add", "local", "0.0.0.0/0", "dev", "lo")
    ip("-6", "route", "add", "local", "::/0", "dev", "lo", check=False)
    resolv = work / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)


def _serve_dns(lookups: list[str]) -> None:
    """A resolver that answers NXDOMAIN to everything and remembers what was asked."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 53))

    def loop() -> None:
        while True:
            data, peer = sock.recvfrom(4096)
            i, labels = 12, []
            while i < len(data) and data[i]:
                labels.append(data[i + 1 : i + 1 + data[i]].decode("ascii", "replace"))
                i += 1 + data[i]
            question = data[12 : i + 5]
            qtype = struct.unpack("!H", data[i + 1 : i + 3])[0] if i + 3 <= len(data) else 0
            lookups.append(f"{'.'.join(labels)} (type {qtype})")
            flags = b"\x81\x83"  # a response, recursion available, NXDOMAIN
            sock.sendto(data[:2] + flags + b"\x00\x01" + bytes(6) + question, peer)

    threading.Thread(target=loop, daemon=True).start()


def _catch_all(port: int, dialled: list[str]) -> None:
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen()
        except OSError:
            continue

        def loop(sock: socket.socket = sock) -> None:
            while True:
                conn, _ = sock.accept()
                addr, port = conn.getsockname()[:2]
                dialled.append(f"{addr}:{port}")
                conn.close()

        threading.Thread(target=loop, daemon=True).start()


def _run_serve(work: Path, clip: Path, llm: FakeOpenAI) -> dict[str, object]:
    data = work / "data"
    data.mkdir(exist_ok=True)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("SLACK_", "LLM_", "TEAMS_"))
    }
    env.update(
        DATA_DIR=str(data),
        DATABASE_URL=f"sqlite:///{data / 'balafon.db'}",
        API_TOKEN=TOKEN,
        LLM_MODEL="openai:gpt-4o-mini",
        LLM_BASE_URL=llm.base_url,
        LLM_API_KEY="sk-test",
        WHISPER_BEAM_SIZE="1",
        WHISPER_CPU_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    strace = shutil.which("strace")
    trace = work / "connect.trace"
    if strace:
        command = [strace, "-f", "--seccomp-bpf", "-e", "trace=connect", "-o", str(trace)]
        command += [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port)]
    log = (work / "serve.log").open("wb")
    # A session of its own: stopping it stops strace *and* the server it traces (SIGTERM to
    # strace alone detaches it and leaves the server running).
    serve = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    result: dict[str, object] = {"port": port, "strace": bool(strace)}
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10, trust_env=False) as client:
            _wait_healthy(client, serve)
            accepted = client.post(
                "/v1/transcriptions",
                files={"file": (clip.name, clip.read_bytes(), "audio/wav")},
                data={"recap": "true"},
            )
            accepted.raise_for_status()
            job = _wait_job(client, accepted.json()["url"])
            result["job"] = {k: job.get(k) for k in ("status", "error")}
            result["text"] = (job.get("result") or {}).get("text", "")
            time.sleep(LINGER_SECONDS)
    finally:
        _stop_group(serve)
        log.close()
    result["connects"] = _connects(trace) if strace else []
    return result


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's whole session, SIGKILL after 15 s; every member is gone."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # strace's tracee may outlive strace
        return


def _wait_healthy(client: httpx.Client, serve: subprocess.Popen) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise RuntimeError(f"balafon serve exited with {serve.returncode}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError("balafon serve did not become healthy")


def _wait_job(client: httpx.Client, url: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(url).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise RuntimeError("the transcription did not finish")


def _connects(trace: Path) -> list[str]:
    """The inet addresses connect() was called with, as "addr:port" (unix sockets left out)."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        if "connect(" not in line or "AF_INET" not in line:
            continue
        port = line.split("htons(", 1)[1].split(")", 1)[0] if "htons(" in line else "?"
        if 'inet_addr("' in line:
            addr = line.split('inet_addr("', 1)[1].split('"', 1)[0]
        elif 'inet_pton(AF_INET6, "' in line:
            addr = line.split('inet_pton(AF_INET6, "', 1)[1].split('"', 1)[0]
        else:
            addr = "?"
        found.append(f"{addr}:{port}")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
