"""dancing-balafon's core: configuration, commands and features, storage, jobs, the HTTP app,
the CLI; `bot/main.py` wires the adapters in (docs/architecture.md)."""
