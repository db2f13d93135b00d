"""The one exception type that the command line turns into a single stderr line and exit 2."""


class UserError(Exception):
    """A mistake the user can fix: bad path, bad flag value, a model that will not load.

    The message names the cause and what to do; the CLI prints it as one line, no traceback.
    """


EXIT_USER_ERROR = 2
