"""The support desk's numbers, in one place (house style 6).

Kept here rather than in ``config.py`` while the support desk is new; each is a plain constant so
that moving them into a ``GUARITA_SUPPORT__*`` settings group later is a one-line change per value.
"""

from __future__ import annotations

# Staff sessions end after 15 idle minutes (issue 6) and at most after one working shift.
STAFF_IDLE_MINUTES = 15
STAFF_ABSOLUTE_HOURS = 12
# Enrolment links are single use and valid 24 h (issue 6).
ENROLMENT_HOURS = 24
RECOVERY_CODES = 10
# A passing caller check opens the person for this actor for the length of a call.
GRANT_MINUTES = 15
# Failed caller checks for one person by one actor before the desk must wait (guessing a birth
# date by phone is the attack this stops).
CALLER_CHECK_FAILURES = 5
CALLER_CHECK_WINDOW_MINUTES = 60
# A contact registration waits this long for the code the caller reads back.
CONTACT_CHANGE_MINUTES = 30
# API tokens: default and longest lifetime.
TOKEN_DEFAULT_DAYS = 90
TOKEN_MAX_DAYS = 366
# Search answers at most this many people.
SEARCH_LIMIT = 25
# The dashboard window.
DASHBOARD_DAYS = 30
