"""How a sender says that a delivery did not happen.

Any exception from a sender means "not delivered"; the worker retries it with backoff. A sender
raises :class:`DeliveryError` to give the operator a clear line for ``last_error`` and, with
``permanent=True``, to say that trying again cannot help (the mail server refused the address,
the SMS provider refused the number), so the message fails at once instead of retrying for hours.
"""

from __future__ import annotations


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def describe(exc: BaseException) -> str:
    """One line for ``last_error``: what failed, never a secret (senders never put one in)."""
    if isinstance(exc, DeliveryError):
        text = str(exc)
    else:
        detail = " ".join(str(exc).split())
        text = f"{exc.__class__.__name__}: {detail}" if detail else exc.__class__.__name__
    return text[:1000]
