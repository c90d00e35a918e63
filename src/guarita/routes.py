"""The list of routers, one line per capability (house style 2: adding one is a line here)."""

from __future__ import annotations

from fastapi import APIRouter

from guarita.config import Settings


def routers(settings: Settings) -> list[APIRouter]:
    from guarita.api import accounts, face, meta, my_data, privacy, recovery, upstream
    from guarita.api import second_factors as second_factors_api
    from guarita.console import routers as support_desk
    from guarita.oidc import connected_apps_pages, endpoints, govbr_endpoints
    from guarita.web import (
        account_pages,
        contact_pages,
        data_recipients_pages,
        face_pages,
        my_data_pages,
        recovery_pages,
        second_step_pages,
        security_pages,
        step_up_pages,
        upstream_pages,
    )

    found: list[APIRouter] = [
        # First: the provider's hot endpoints match before the ~80 other routes.
        endpoints.router,
        govbr_endpoints.router,
        meta.router,
        accounts.router,
        my_data.router,
        recovery.router,
        face.router,
        upstream.router,
        account_pages.router,
        my_data_pages.router,
        recovery_pages.router,
        contact_pages.router,
        face_pages.router,
        upstream_pages.router,
        step_up_pages.router,
        connected_apps_pages.router,
        data_recipients_pages.router,
        privacy.router,
        second_step_pages.router,
        security_pages.router,
        second_factors_api.router,
        *support_desk(),
    ]
    if settings.dev_routes:
        from guarita.web import dev_outbox

        found.append(dev_outbox.router)
    return found


def larger_bodies(settings: Settings) -> dict[str, int]:
    """Path templates whose requests may carry more than ``GUARITA_HTTP__MAX_BODY_BYTES``
    (``web/body_limit.py``): a capability that uploads adds a line here. The face captures
    (frames of a recovery, the desk's reference photo by its API and by its page) get
    ``GUARITA_FACE__MAX_UPLOAD_BYTES``, which ``edge/uploads.py`` enforces again with its own
    sentence."""
    upload = settings.face.max_upload_bytes
    return {
        "/api/v1/recoveries/{recovery_id}/face": upload,
        "/esqueci-minha-senha/rosto": upload,
        "/confirmar-identidade/rosto": upload,
        "/api/v1/support/people/{person_id}/face-reference": upload,
        "/atendimento/pessoas/{person_id}/rosto": upload,
    }
