"""Stable tags of security events (house style 9; Warehouse ``events/tags.py``).

A tag is part of the contract: reports, alerts and the person's own history filter on it.
"""

from enum import StrEnum


class AuditTag(StrEnum):
    REGISTRY_IMPORTED = "registry.imported"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_LEGACY_IMPORTED = "account.legacy.imported"
    LOGIN_SUCCEEDED = "account.login.succeeded"
    LOGIN_FAILED = "account.login.failed"
    LOGIN_LOCKED = "account.login.locked"
    PASSWORD_DISABLED = "account.password.disabled"
    PASSWORD_CHANGED = "account.password.changed"
    PASSWORD_REHASHED = "account.password.rehashed"
    PASSWORD_RESET = "account.password.reset"
    LOGOUT = "account.logout"
    RECOVERY_STARTED = "account.recovery.started"
    RECOVERY_CODE_SENT = "account.recovery.code_sent"
    RECOVERY_CODE_FAILED = "account.recovery.code_failed"
    RECOVERY_COMPLETED = "account.recovery.completed"
    ACCOUNT_LOCKED_BY_OWNER = "account.locked_by_owner"
    IDENTIFIER_VERIFIED = "account.identifier.verified"
    CONTACT_ADDED = "account.contact.added"
    CONTACT_REPLACED = "account.contact.replaced"
    SUPPORT_CARD_REVEALED = "support.card.revealed"
    SUPPORT_EMAIL_REGISTERED = "support.email.registered"
    SUPPORT_PHONE_REGISTERED = "support.phone.registered"
    SUPPORT_UNLOCKED = "support.account.unlocked"
    SUPPORT_PASSWORD_REENABLED = "support.password.reenabled"
    SUPPORT_RECOVERY_STARTED = "support.recovery.started"
    SUPPORT_ACCOUNT_DISABLED = "support.account.disabled"
    SUPPORT_ACCOUNT_ENABLED = "support.account.enabled"
    SUPPORT_IDENTITY_CHECKED = "support.identity.checked"
    SUPPORT_CALLER_CHECKED = "support.caller.checked"
