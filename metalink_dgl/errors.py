"""The one exception type the library raises for bad input.

Every message is a single line that names the file (and row/column where there is one)
and says how to fix the problem. The CLI prints it as ``Error: <message>`` and exits 1.
"""


class MetaLinkError(Exception):
    """Bad input or configuration; the message is one line, meant for the user."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def preview(names, limit: int = 8) -> str:
    """``'a', 'b', ... (N in all)``: the first ``limit`` names of a sequence, for messages."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def one_line(err: BaseException, limit: int = 200) -> str:
    """``'<Type>: <message on one line>'``, cut at ``limit`` characters, for warnings."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:limit] if text else type(err).__name__
