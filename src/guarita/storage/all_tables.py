"""Every table of Guarita in one metadata, the one Alembic compares the migrations with.

Storage owns all the tables (DESIGN.md › Layout: ``storage/`` holds every table): the core ones
in ``tables.py``, the support desk's in ``support_tables.py``, the OpenID provider's in
``oidc_tables.py``, the outside providers' in ``upstream_tables.py``. A new table module adds one line here.
"""

from guarita.storage import (  # noqa: F401
    oidc_tables,
    privacy_tables,
    support_tables,
    tables,
    upstream_tables,
)
from guarita.storage.tables import Base

metadata = Base.metadata
