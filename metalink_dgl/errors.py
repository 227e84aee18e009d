"""The one exception type the library raises for bad input.

Every message is a single line that names the file (and row/column where there is one)
and says how to fix the problem. The CLI prints it as ``Error: <message>`` and exits 1.
"""


class MetaLinkError(Exception):
    """Bad input or configuration; the message is one line, meant for the user."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
