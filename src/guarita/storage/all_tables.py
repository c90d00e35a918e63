"""Imports every module that defines tables, so the metadata Alembic sees is complete.

A capability that keeps its tables next to its code (``guarita/oidc/tables.py``) adds one line
here.
"""

from guarita.console import tables as _console_tables  # noqa: F401  (support desk)
from guarita.oidc import tables as _oidc_tables  # noqa: F401  (OpenID provider)
from guarita.storage import tables  # noqa: F401
from guarita.storage.tables import Base

metadata = Base.metadata
