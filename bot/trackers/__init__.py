"""Issue trackers an item can be exported to (GitHub, Jira, Linear), two-way."""
