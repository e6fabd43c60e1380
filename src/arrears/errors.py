"""The base classes of errors an entry point answers without a traceback.

Bad input is not a bug: it gets an error that says what was wrong and how to fix it, and changes nothing.
Every such error in `arrears` derives from :class:`InputRejected`, so an entry point can map all of them to
one response (the CLI: exit status 2 and one line on stderr) without catching bugs by accident.

A store too busy to take a command in time is not bad input either: :class:`Busy` (API 503 with Retry-After, CLI
exit 75), and the same request, with the same idempotency key, may simply be sent again.
"""


class InputRejected(ValueError):
    """Input that `arrears` refuses; the message says what was wrong and how to fix it."""


class Busy(Exception):
    """A lock the command needed was not free within the bound (ARREARS_LOCK_TIMEOUT): a day-end was closing a
    day, or another command held the same loan. Its transaction was rolled back whole, so nothing was written;
    sending the same request again (same idempotency key) posts it once. Answered as a temporary failure: the API
    with 503 and ``Retry-After`` (RFC 9110 section 10.2.3), the CLI with exit status 75, EX_TEMPFAIL of
    sysexits.h ("a temporary failure ... the user is invited to retry later")."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds after which a retry is worth trying (the API's Retry-After)."""
