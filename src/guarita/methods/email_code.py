"""A one-time code by e-mail (``methods/contact_code.py``); RFC 8176 has no value for e-mail,
so ``mail`` is Guarita's, documented in docs/oidc.md with the others."""

from guarita.methods.contact_code import EMAIL as METHOD

__all__ = ["METHOD"]
