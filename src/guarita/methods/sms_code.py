"""A one-time code by SMS (``methods/contact_code.py``; RFC 8176 §2 ``sms``)."""

from guarita.methods.contact_code import SMS as METHOD

__all__ = ["METHOD"]
