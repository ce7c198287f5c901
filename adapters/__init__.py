"""Platform adapters (Slack, Teams, the local playground): translators to and from the core."""
