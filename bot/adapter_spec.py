"""What an adapter package declares to the composition root (bot/main.py), so that adding
a platform is one folder plus one line in `bot.main.ADAPTERS`.

Each adapter package exposes `ADAPTER = AdapterSpec(...)` (in `adapters/<name>/spec.py`,
importable without the platform's SDK): its settings class (composed into `Settings`),
the webhook paths other servers post to, the request paths counted under its name in
the metrics, and `mount`, which builds it (or nothing, when its settings leave it off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from bot.app import Mountable
    from bot.inbound import Inbound

S = TypeVar("S", bound=BaseSettings)


@dataclass(frozen=True, kw_only=True)
class MountContext:
    """What every adapter may need from the core and from how the process runs."""

    core: Inbound
    data_dir: Path
    encryption_key: str = ""  # ENCRYPTION_KEY, for tokens kept at rest
    host: str = "127.0.0.1"  # the address `serve` listens on
    serving: bool = True  # False: a worker process, which posts results but serves nothing
    access_token: str = ""  # opens the playground
    slack_socket_mode: bool = False


@dataclass(frozen=True, kw_only=True)
class AdapterSpec(Generic[S]):
    name: str
    settings: type[S]
    # Signed server-to-server endpoints: exempt from the cross-site request guard.
    webhook_paths: tuple[str, ...] = ()
    # Request paths (prefixes) whose requests the metrics count under `name`.
    metrics_prefixes: tuple[str, ...] = ()
    # Build and register the adapter with the core; None when its settings leave it off.
    mount: Callable[[S, MountContext], Mountable | None]


def metrics_prefixes(specs: tuple[AdapterSpec[Any], ...]) -> tuple[tuple[str, str], ...]:
    """(path prefix, platform name) pairs of the adapters, for bot.metrics."""
    return tuple((prefix, spec.name) for spec in specs for prefix in spec.metrics_prefixes)
