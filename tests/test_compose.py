"""compose.yaml names real commands and settings (no container engine runs here)."""

from pathlib import Path

import yaml

from bot.cli import _parser
from bot.main import Settings

ROOT = Path(__file__).resolve().parents[1]
BALAFON = ("web", "scheduler", "worker", "worker-transcribe")


def test_compose_uses_real_commands_and_settings() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert {*BALAFON, "postgres", "redis"} <= set(services)
    for name in BALAFON:
        service = services[name]
        args = _parser().parse_args(service["command"])
        assert args.command == service["command"][0]
        environment = service["environment"]
        assert {k.lower() for k in environment} <= set(Settings.model_fields)
        assert environment["JOB_EXECUTOR"] == "celery"
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert {"postgres", "redis"} <= set(service["depends_on"])
    # Every queue has its workers; the web processes leave digests to the scheduler.
    workers = [_parser().parse_args(services[n]["command"]) for n in BALAFON if "worker" in n]
    assert sorted(q for args in workers for q in args.queue) == ["default", "transcribe"]
    assert services["web"]["environment"]["SERVE_RUNS_SCHEDULER"] == "false"
