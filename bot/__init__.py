"""dancing-balafon's core: configuration, commands, the CLI (and later storage and jobs)."""
