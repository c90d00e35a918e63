"""Kinds of evidence of a person's identity (gov.br's catalogue of how a level was reached;
NIST SP 800-63A-4 §2 on identity evidence).

A method says which kind it yields when it succeeds, so the trust level can later be computed
from evidence rather than stored by hand. Control of a contact (a code that came back) is not
evidence of identity: it proves the mailbox or the phone, not the person.
"""

from __future__ import annotations

from enum import StrEnum


class EvidenceKind(StrEnum):
    REGISTRY_MATCH = "registry_match"          # registration matched the organisation's registry
    DATA_CHECK = "data_check"                  # card or e-mail + CPF + birth date matched
    CALLER_CHECK = "caller_check"              # the desk checked a caller's data
    IN_PERSON_DOCUMENT = "in_person_document"  # a supervisor saw an official document
    SECOND_FACTOR = "second_factor"            # an authenticator or recovery codes proved
    FACE = "face"                              # a selfie matched a trusted photo
    BANK = "bank"                              # a partner bank asserted the CPF
    GOVBR = "govbr"                            # gov.br asserted the CPF (with its level)
    # Not a proof: a lowering. What was proven before it counts at most up to its level
    # (``domain/trust_levels.py``): a recovery by code, a desk contact change without an
    # in-person check.
    LEVEL_CAP = "level_cap"
