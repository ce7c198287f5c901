"""One error tree for the bot: what callers may catch, and what each kind means.

- `ConfigError`: the settings cannot work (a missing secret, a key that does not open
  what was stored); `balafon serve` says which and exits, every other error keeps its
  traceback (a wiring bug is not a settings problem).
- `PermanentJobError`: a job failed in a way retrying cannot fix; `user_message` is shown
  to the person who asked.
- `TransientJobError`: a job failed in a way a later attempt may not (a platform's 5xx,
  a 429); the worker retries it with backoff.
- `NotYet`: what a job needs is not there yet (a meeting's transcript): the job goes back
  to the queue for `delay` seconds, freeing its worker, and the attempt does not count.
"""

from __future__ import annotations


class BalafonError(Exception):
    """The root of the bot's own errors."""


class ConfigError(BalafonError, ValueError):
    """The settings cannot work; the message says what to set. (A ValueError too: callers
    that validated settings with ValueError keep working.)"""


class JobError(BalafonError):
    """A job could not finish."""


class PermanentJobError(JobError):
    """A failure that retrying cannot fix; its message is shown to the user."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class TransientJobError(JobError):
    """A failure a later attempt may not meet: the job is retried with backoff."""


class NotYet(BalafonError):
    """Run this job again in `delay` seconds (not a failure: no attempt is counted)."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"not yet: again in {delay:g} s")
        self.delay = delay


__all__ = [
    "BalafonError",
    "ConfigError",
    "JobError",
    "NotYet",
    "PermanentJobError",
    "TransientJobError",
]
