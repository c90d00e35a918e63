"""Guarita: identity for beneficiaries of Brazilian public services and health plans."""
