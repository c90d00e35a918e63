"""Validação facial in a real Chromium with a fake camera (docs/face.md › Browser test).

Raimunda (demo registry, with the package photo the demo loader saved as her reference)
recovers her password at 360 px: Chromium's fake capture device plays a Y4M clip this test
builds from the same photo, warped to do the movements the server asks
(``GUARITA_FACE__FIXED_MOVEMENTS``, allowed outside production only, so the clip can be made
before the browser starts). Then she signs in. Another person's face and a still photo are
refused with clear words. axe runs on the capture page and on the refusal.

Timeline (seconds from the moment the page opens the camera): the page counts down 3 s, films
each movement for 1.2 s and pauses 1.5 s between them; the clip (``clip_frames``) ramps each
movement slowly so the filming windows fall inside its ramps despite scheduling delays.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, Journey
from tests.e2e.stack import Stack, _demo, prepare, stack_env
from tests.e2e.test_journeys import choose, new_password, press, sign_in, solve_captcha
from tests.support import faces
from tests.support.server import running_server
from tests.support.smtp import SmtpTestServer

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

MOVEMENTS = ["turn_left", "tilt_up"]
TURN_PX, TILT_PX = 28.0, 30.0
FPS = 10
NEW = "meu quintal tem pé de acerola"
RAIMUNDA = "200100076"


def _ramp(t: float, start: float, end: float) -> float:
    return min(1.0, max(0.0, (t - start) / (end - start)))


def clip_frames(who: str, still: bool = False, seconds: float = 14.0) -> list[np.ndarray]:
    """The clip: the head turns slowly from 2.0 s to 5.4 s, then, still turned, tilts up from
    5.4 s to 9.8 s. Slow ramps make any 1.2 s window of the page's filming see a movement,
    whatever the delay between opening the camera and filming (−0.3 s to +1.2 s)."""
    rng = np.random.default_rng(7)
    nose = faces._nose(who)
    frames = []
    for index in range(int(seconds * FPS)):
        t = index / FPS
        turn, tilt = _ramp(t, 2.0, 5.4), _ramp(t, 5.4, 9.8)
        rgb = faces.PHOTOS[who]()
        if not still and (turn or tilt):
            rgb = faces.warp_nose(rgb, nose, TURN_PX * turn, -TILT_PX * tilt)
        frames.append(faces.noisy(rgb, rng, 2.0))
    return frames


def write_y4m(path: Path, frames: list[np.ndarray]) -> Path:
    """YUV4MPEG2, 4:2:0, the format Chromium's fake capture device reads frame by frame."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = (b - y) * 0.564 + 128
            v = (r - y) * 0.713 + 128
            sub = lambda c: c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))  # noqa: E731
            out.write(b"FRAME\n")
            for plane in (y, sub(u), sub(v)):
                out.write(np.clip(plane, 0, 255).astype(np.uint8).tobytes())
    return path


@pytest.fixture(scope="module")
def face_stack(tmp_path_factory):  # noqa: ANN201
    directory = tmp_path_factory.mktemp("e2e-face")
    url = f"sqlite+aiosqlite:///{directory / 'guarita.db'}"
    with SmtpTestServer() as smtp:
        env = stack_env(url, smtp.port, GUARITA_RECOVERY__METHODS='["email","sms","face"]',
                        GUARITA_FACE__FIXED_MOVEMENTS=f'["{MOVEMENTS[0]}","{MOVEMENTS[1]}"]')
        prepare(directory, url, env)
        with running_server(env) as (base, _process):
            stack = Stack(base, {**env, "GUARITA_BASE_URL": base}, directory, smtp.port,
                          _demo(), {})
            stack.register(stack.demo[RAIMUNDA])
            yield stack


def _camera_journey(stack: Stack, clip: Path, name: str, body) -> None:  # noqa: ANN001
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"])
        try:
            context = browser.new_context(viewport=PHONE, locale="pt-BR",
                                          timezone_id="America/Sao_Paulo")
            context.grant_permissions(["camera"], origin=stack.base_url)
            context.set_default_timeout(30_000)
            journey = Journey(name, context.new_page())
            body(journey)
            journey.finish()
        finally:
            browser.close()


def _to_capture(journey: Journey, stack: Stack, identifier: str) -> None:
    page = journey.page
    page.goto(stack.base_url + "/esqueci-minha-senha")
    page.get_by_label(re.compile("CPF, número da carteirinha ou e-mail")).fill(identifier)
    solve_captcha(page)
    press(page, "Continuar", r"/metodo")
    choose(page, "Validação facial (selfie)")
    press(page, "Continuar", r"/rosto")
    expect(page.get_by_role("heading", level=1)).to_have_text("Validação facial")
    expect(page.get_by_text("Toque em “Permitir”")).to_be_visible()


def test_raimunda_recovers_with_her_face_and_signs_in(face_stack, tmp_path):
    clip = write_y4m(tmp_path / "raimunda.y4m", clip_frames("astronaut"))
    raimunda = face_stack.demo[RAIMUNDA]

    def body(journey: Journey) -> None:
        page = journey.page
        _to_capture(journey, face_stack, raimunda.card)
        journey.check("rosto-antes")
        said: list[str] = []
        page.on("console", lambda message: said.append(message.text[:300]))
        page.get_by_role("button", name="Ligar a câmera e começar").click()
        try:
            page.wait_for_url(re.compile(r"/nova-senha"), timeout=90_000)
        except Exception as error:  # noqa: BLE001 - show what the page said instead
            raise AssertionError(f"a validação não passou: {page.locator('main').inner_text()[:1500]}"
                                 f" | console: {said}") from error
        new_password(journey, NEW)
        sign_in(journey, face_stack, raimunda.card, NEW, "entrou")

    _camera_journey(face_stack, clip, "validacao-facial", body)


@pytest.mark.parametrize(("who", "still", "words"), [
    ("grace", False, "Não conseguimos confirmar que o rosto é o da pessoa cadastrada"),
    ("astronaut", True, "Não conseguimos confirmar os movimentos pedidos"),
])
def test_another_face_and_a_still_photo_are_refused(face_stack, tmp_path, who, still, words):
    clip = write_y4m(tmp_path / f"{who}.y4m", clip_frames(who, still=still))
    raimunda = face_stack.demo[RAIMUNDA]

    def body(journey: Journey) -> None:
        page = journey.page
        _to_capture(journey, face_stack, raimunda.cpf_dotted)
        page.get_by_role("button", name="Ligar a câmera e começar").click()
        alert = page.locator("[data-face-error-text]")
        expect(alert).to_contain_text(words, timeout=60_000)
        expect(page.get_by_role("button", name="Tentar de novo")).to_be_visible()
        expect(page.get_by_role("link", name="Usar outra forma de recuperação")).to_be_visible()
        expect(page.get_by_role("button", name="Pedir revisão por uma pessoa")).to_be_visible()
        journey.check("recusa")

    _camera_journey(face_stack, clip, f"validacao-facial-recusa-{who}", body)


def test_a_supervisor_takes_the_reference_photo_at_the_agency_and_deletes_it(face_stack, tmp_path):
    """José (demo) is at an agency: a supervisor checks his document, takes his reference photo
    with the agency's camera (Chromium's fake camera plays a clip of a face) and saves it; then,
    at José's request, deletes it (LGPD art. 18 VI). axe runs on every state of the page."""
    from tests.e2e.browser import DESKTOP
    from tests.e2e.test_portal_and_support_desk import _totp

    clip = write_y4m(tmp_path / "agencia.y4m", clip_frames("grace", still=True, seconds=4.0))
    jose = face_stack.demo["200100025"]
    face_stack.register(jose)
    staff = face_stack.cli("staff", "add", "--email", "sara.supervisora@example.org", "--name",
                           "Sara Supervisora", "--role", "supervisor")

    def body(journey: Journey) -> None:
        page = journey.page
        page.set_viewport_size(DESKTOP)
        page.goto(staff["enrolment_link"].replace(face_stack.env["GUARITA_BASE_URL"],
                                                  face_stack.base_url))
        secret = page.locator(".totp-secret").inner_text().replace(" ", "")
        page.get_by_label("Senha", exact=True).fill("frase longa da equipe de atendimento")
        page.get_by_label("Repita a senha").fill("frase longa da equipe de atendimento")
        # This step's code (one step of drift either way, RFC 6238 §5.2): on a loaded machine a
        # step boundary may pass before the server reads it, which the previous step's code
        # would not survive.
        page.get_by_label("Código que o aplicativo mostra agora").fill(_totp(secret, 0))
        press(page, "Ativar acesso")
        expect(page.locator("main")).to_contain_text("Guarde agora")
        page.get_by_role("link", name=re.compile("Já guardei os códigos")).click()
        page.wait_for_url(re.compile(r"/atendimento$"))

        page.get_by_label("CPF, carteirinha, e-mail, celular ou nome").fill(jose.card)
        page.locator("#search-reason").select_option("presencial")
        press(page, "Buscar")
        page.locator("main a[href^='/atendimento/pessoas/']").first.click()
        page.wait_for_url(re.compile(r"/atendimento/pessoas/\d+$"))
        page.locator("#check-reason").select_option("presencial")
        page.get_by_label("Data de nascimento que a pessoa disse").fill(jose.birth_br)
        page.get_by_label("Carteirinha que a pessoa disse").fill(jose.card)  # he has no CPF
        press(page, "Conferir")
        expect(page.locator("main")).to_contain_text("Confere.")
        page.get_by_label("Número do documento").fill("0123.456.789-0")
        page.locator("#document-reason").select_option("presencial")
        press(page, "Registrar conferência")
        expect(page.locator("main")).to_contain_text("Conferência de documento registrada")

        face = page.locator("[data-face-summary]")
        expect(face).to_contain_text("Não há referência facial guardada")
        journey.check("atendimento-rosto-antes", desk=True)
        face.get_by_role("button", name="Abrir a câmera").click()
        expect(face.locator("[data-desk-face-status]")).to_contain_text("Câmera pronta")
        face.get_by_role("button", name="Tirar a foto").click()
        expect(face.locator("[data-desk-face-status]")).to_contain_text("Foto tirada")
        # The photo went into the form's file field, as a chosen file would.
        assert face.locator("input[name=photo]").evaluate(
            "input => input.files.length === 1 && input.files[0].type === 'image/jpeg'")
        journey.check("atendimento-rosto-foto-tirada", desk=True)
        press(page, "Guardar a foto de referência")
        page.wait_for_url(re.compile(r"feito=rosto-guardado"))
        expect(page.get_by_role("status").first).to_contain_text("Foto de referência guardada")
        expect(face).to_contain_text("Há uma referência facial guardada (foto tirada na agência")
        journey.check("atendimento-rosto-guardado", desk=True)

        page.locator("#face_delete-reason").select_option("presencial")
        press(page, "Apagar a referência facial")
        page.wait_for_url(re.compile(r"feito=rosto-apagado"))
        expect(face).to_contain_text("Não há referência facial guardada")
        expect(page.locator("main")).to_contain_text("Atendimento: referência facial apagada")
        journey.check("atendimento-rosto-apagado", desk=True)

    _camera_journey(face_stack, clip, "atendimento-foto-de-referencia", body)
