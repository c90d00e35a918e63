"""The form building blocks of templates/macros/forms.html, rendered by the real environment."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from guarita.edge import render
from tests.web.html import find, find_all, squash

IMPORT = '{% import "macros/forms.html" as forms with context %}'


def draw(body: str, locale: str = "pt_BR", **context) -> str:
    environment = render.env if locale == "pt_BR" else render.env_for(locale)
    context.setdefault("csrf_field", "csrf_token")
    context.setdefault("csrf_token", "signed-token")
    return environment.from_string(IMPORT + body).render(**context)


def test_field_with_hint_and_error():
    html = draw(
        '{{ forms.field("cpf", "CPF", value="123.456",'
        ' error="CPF inválido. Confira os 11 números.", hint="Somente os 11 números.",'
        ' inputmode="numeric", autocomplete="off") }}'
    )
    label = find(html, "label")
    assert label["for"] == "cpf" and label.text == "CPF"
    field = find(html, "input")
    assert field["id"] == field["name"] == "cpf"
    assert field["type"] == "text" and field["value"] == "123.456"
    assert field["inputmode"] == "numeric" and field["autocomplete"] == "off"
    assert field["aria-describedby"] == "cpf-hint cpf-error"
    assert field["aria-invalid"] == "true" and field["aria-required"] == "true"
    assert find(html, "p", id="cpf-hint").text == "Somente os 11 números."
    error = find(html, "span", id="cpf-error")
    assert error["role"] == "alert" and error.classes >= {"feedback", "danger"}
    assert squash(error.text) == "Erro: CPF inválido. Confira os 11 números."
    assert "danger" in find(html, "div", class_="br-input").classes


def test_field_without_error_or_hint_has_no_dangling_references():
    html = draw('{{ forms.field("email", "E-mail", type="email", required=False) }}')
    field = find(html, "input")
    for name in ("aria-describedby", "aria-invalid", "aria-required", "value"):
        assert name not in field.attrs
    assert not find_all(html, "span", role="alert")
    assert squash(find(html, "label").text) == "E-mail (opcional)"
    assert "danger" not in find(html, "div", class_="br-input").classes


def test_field_hint_only_and_extra_attributes():
    html = draw(
        '{{ forms.field("card_number", "Carteirinha", hint="Na frente",'
        ' attrs={"maxlength": 20, "data-x": "1"}) }}'
    )
    field = find(html, "input")
    assert field["aria-describedby"] == "card_number-hint"
    assert field["maxlength"] == "20" and field["data-x"] == "1"


def test_password_field_has_an_accessible_toggle_and_never_echoes_the_value():
    html = draw(
        '{{ forms.field("password", "Senha", type="password", value="segredo",'
        ' autocomplete="current-password", error="Escolha outra senha.") }}'
    )
    field = find(html, "input")
    assert field["type"] == "password" and "value" not in field.attrs
    assert field["autocomplete"] == "current-password"
    assert field["spellcheck"] == "false"
    assert "onpaste" not in html  # paste always allowed
    toggle = find(html, "button")
    assert toggle["type"] == "button"  # never submits the form
    assert toggle["aria-controls"] == "password" and "aria-pressed" not in toggle.attrs
    assert squash(toggle.text) == "Mostrar senha"  # the accessible name, until pressed
    # The words it changes to, translated with the page (static/js/guarita.js).
    assert (toggle["data-show"], toggle["data-hide"]) == ("Mostrar senha", "Ocultar senha")
    assert "hidden" in toggle.attrs and "data-password-toggle" in toggle.attrs  # shown by JS


def test_field_escapes_what_it_is_given():
    html = draw('{{ forms.field("q", "<b>x</b>", value="\\"><script>", error="<i>e</i>") }}')
    assert "<script>" not in html and "<b>x</b>" not in html and "<i>e</i>" not in html
    assert find(html, "input")["value"] == '"><script>'


def test_checkbox():
    html = draw('{{ forms.checkbox("no_cpf", "Não possui CPF", checked=True) }}')
    box = find(html, "input")
    assert box["type"] == "checkbox" and box["id"] == box["name"] == "no_cpf"
    assert "checked" in box.attrs and box["value"] == "on"
    assert "aria-invalid" not in box.attrs and "aria-describedby" not in box.attrs
    assert find(html, "label")["for"] == "no_cpf"
    find(html, "div", class_="br-checkbox")

    html = draw(
        '{{ forms.checkbox("terms", "Aceito", error="Marque para continuar.",'
        ' hint="Leia antes.") }}'
    )
    box = find(html, "input")
    assert "checked" not in box.attrs
    assert box["aria-describedby"] == "terms-hint terms-error" and box["aria-invalid"] == "true"
    assert find(html, "span", id="terms-error")["role"] == "alert"


def test_error_summary_links_to_each_field():
    html = draw(
        '{{ forms.error_summary(errors) }}',
        errors=[("cpf", "CPF inválido. Confira os 11 números."), ("birth_date", "Data inválida.")],
    )
    box = find(html, "div", class_="error-summary")
    assert box["role"] == "alert" and box.classes >= {"br-message", "danger"}
    assert find(html, "h2").text == "Corrija os campos abaixo"
    assert [(a["href"], a.text) for a in find_all(html, "a")] == [
        ("#cpf", "CPF inválido. Confira os 11 números."),
        ("#birth_date", "Data inválida."),
    ]


@pytest.mark.parametrize("empty", [[], None, {}])
def test_error_summary_renders_nothing_without_errors(empty):
    assert draw("{{ forms.error_summary(errors) }}", errors=empty).strip() == ""


def test_error_summary_accepts_a_dict():
    html = draw("{{ forms.error_summary({'cpf': 'CPF inválido.'}) }}")
    assert [a["href"] for a in find_all(html, "a")] == ["#cpf"]


def test_csrf_uses_the_page_context():
    html = draw("{{ forms.csrf() }}")
    hidden = find(html, "input")
    assert hidden.attrs == {"type": "hidden", "name": "csrf_token", "value": "signed-token"}


def test_submit_back_link_and_messages():
    html = draw('{{ forms.submit("Entrar") }}{{ forms.submit("Cancelar", secondary=True) }}')
    first, second = find_all(html, "button")
    assert first["type"] == second["type"] == "submit"
    assert first.classes >= {"br-button", "primary", "large"} and first.text == "Entrar"
    assert "secondary" in second.classes and "primary" not in second.classes

    back = find(draw('{{ forms.back_link("/entrar") }}'), "a")
    assert back["href"] == "/entrar" and squash(back.text) == "Voltar"
    assert squash(find(draw('{{ forms.back_link("/", "Início") }}'), "a").text) == "Início"

    roles = {"info": "status", "success": "status", "warning": "alert", "danger": "alert"}
    for kind, role in roles.items():
        html = draw("{{ forms.message(kind, 'Texto') }}", kind=kind)
        box = find(html, "div", class_="br-message")
        assert kind in box.classes and box["role"] == role
        assert squash(box.text).endswith("Texto")
    odd = find(draw("{{ forms.message('<x>', 'Texto') }}"), "div", class_="br-message")
    assert "info" in odd.classes


def test_macros_in_english_translate_their_words_and_domain_messages():
    html = draw(
        '{{ forms.error_summary([("cpf", "CPF inválido. Confira os 11 números.")]) }}'
        '{{ forms.field("password", "Password", type="password", error="Escolha outra senha.") }}'
        '{{ forms.back_link("/") }}',
        locale="en",
    )
    assert find(html, "h2").text == "Please correct the fields below"
    assert find(html, "a", href="#cpf").text == "Invalid CPF. Check the 11 digits."
    assert squash(find(html, "span", id="password-error").text) == "Error: Choose another password."
    assert squash(find(html, "button").text) == "Show password"
    assert squash(find(html, "a", class_="back-link").text) == "Back"


def test_run_time_messages_stay_plain_text():
    """A message may carry user input: translate() never turns it into markup or formats it."""
    html = draw("{{ forms.message('danger', text) }}", locale="es", text="<b>100% %(x)s</b>")
    assert "&lt;b&gt;100% %(x)s&lt;/b&gt;" in html


def test_signed_in_header_has_account_link_and_sign_out_form():
    settings = SimpleNamespace(
        organisation_name="Plano Teste", organisation_logo="/static/img/logo.svg",
        support_phone="(11) 4000-0000",
    )
    html = render.env.get_template("home.html").render(
        settings=settings, lang="pt-BR", locale="pt_BR", current=object(),
        csrf_field="csrf_token", csrf_token="signed-token",  # noqa: S106 - not a password
    )
    assert squash(find(html, "a", href="/conta").text) == "Minha conta"
    form = find(html, "form", action="/sair")
    assert form["method"] == "post"
    hidden = find(form.children, "input")
    assert (hidden["name"], hidden["value"]) == ("csrf_token", "signed-token")
    button = find(form.children, "button")
    assert button["type"] == "submit" and squash(button.text) == "Sair"
    assert find_all(html, "a", href="tel:1140000000")
