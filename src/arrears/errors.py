"""The one base class of refused input.

Bad input is not a bug: it gets an error that says what was wrong and how to fix it, and changes nothing.
Every such error in `arrears` derives from :class:`InputRejected`, so an entry point can map all of them to
one response (the CLI: exit status 2 and one line on stderr) without catching bugs by accident.
"""


class InputRejected(ValueError):
    """Input that `arrears` refuses; the message says what was wrong and how to fix it."""
