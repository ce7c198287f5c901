"""compose.yaml names real commands and settings (no container engine runs here)."""

from pathlib import Path

import yaml

from bot.cli import _parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_uses_real_commands_and_settings() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert {"web", "worker", "postgres"} <= set(services)
    for name in ("web", "worker"):
        args = _parser().parse_args(services[name]["command"])
        assert args.command == services[name]["command"][0]
        keys = {k.lower() for k in services[name].get("environment", {})}
        assert keys <= set(Settings.model_fields)
