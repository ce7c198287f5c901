"""The local web playground: a small chat in the browser that talks to the same core as
Slack and Teams, with no workspace and no internet (served at `/playground/`)."""

from adapters.playground.adapter import PlaygroundAdapter, worker_platform

__all__ = ["PlaygroundAdapter", "worker_platform"]
