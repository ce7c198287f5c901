"""Action items that live on (issue #16): identity, buttons, `my items`, reminders."""
