"""The printable copy of Meus dados (LGPD art. 18 II and V; docs/privacy.md › Exportar).

A4, pt-BR, in the gov.br design system's look: a blue (#1351B4) header band with the
organisation's name, section titles in that blue, body text at 12 pt with generous leading for
older readers. Built with fpdf2 from the same dictionary as the JSON (``services/my_data.py``).

The font: DejaVu Sans when the machine has it (Debian's ``fonts-dejavu-core``, installed by
``scripts/system-deps.sh``), which covers any name; otherwise fpdf2's core Helvetica, whose
Latin-1 covers Portuguese (a character outside it prints as "?").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

BLUE = (0x13, 0x51, 0xB4)  # gov.br design system: --blue-warm-vivid-70
DARK = (0x33, 0x33, 0x33)
GREY = (0x88, 0x88, 0x88)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
BODY = 12
LEADING = 7

KINDS = {"cpf": "CPF", "card": "Carteirinha", "email": "E-mail", "phone": "Celular"}
LEVELS = {"bronze": "Bronze", "prata": "Prata", "ouro": "Ouro"}


class _Document(FPDF):
    def __init__(self, organisation: str, generated: str, unicode_font: bool) -> None:
        super().__init__(format="A4")
        self.organisation = organisation
        self.generated = generated
        self.family = "DejaVu" if unicode_font else "Helvetica"
        if unicode_font:
            self.add_font("DejaVu", "", str(DEJAVU / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
        self.unicode_font = unicode_font
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(18, 18, 18)

    def text_of(self, value: Any) -> str:  # noqa: ANN401
        text = "" if value is None else str(value)
        if self.unicode_font:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def header(self) -> None:
        self.set_fill_color(*BLUE)
        self.rect(0, 0, self.w, 24, style="F")
        self.set_xy(18, 7)
        self.set_text_color(255, 255, 255)
        self.set_font(self.family, "B", 15)
        self.cell(0, 10, self.text_of(self.organisation), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(30)
        self.set_text_color(*DARK)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family, "", 9)
        self.set_text_color(*GREY)
        self.cell(0, 8, self.text_of(f"Meus dados · gerado em {self.generated} · página "
                                     f"{self.page_no()}/{{nb}}"), align="C")

    def title_line(self, text: str) -> None:
        self.set_font(self.family, "B", 20)
        self.set_text_color(*BLUE)
        self.multi_cell(0, 10, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*DARK)

    def section(self, text: str) -> None:
        if self.get_y() > self.h - 50:
            self.add_page()
        self.ln(4)
        self.set_font(self.family, "B", 15)
        self.set_text_color(*BLUE)
        self.multi_cell(0, 9, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*BLUE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_text_color(*DARK)

    def pair(self, label: str, value: Any) -> None:  # noqa: ANN401
        self.set_font(self.family, "B", BODY)
        self.multi_cell(0, LEADING, self.text_of(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, "", BODY)
        self.multi_cell(0, LEADING, self.text_of(value if value not in (None, "") else "—"),
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def line_of(self, text: str, *, size: int = BODY) -> None:
        self.set_font(self.family, "", size)
        self.multi_cell(0, LEADING, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _when(value: str | None, zone: ZoneInfo) -> str:
    if not value:
        return "—"
    from datetime import datetime

    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.strftime("%d/%m/%Y")
    return moment.astimezone(zone).strftime("%d/%m/%Y às %H:%M")


def _yes(value: bool) -> str:
    return "sim" if value else "não"


def render(data: dict[str, Any], *, timezone: str = "America/Sao_Paulo",
           unicode_font: bool | None = None) -> bytes:
    """The PDF of a :func:`services.my_data.collect` dictionary."""
    zone = ZoneInfo(timezone)
    if unicode_font is None:
        unicode_font = (DEJAVU / "DejaVuSans.ttf").is_file() and (DEJAVU / "DejaVuSans-Bold.ttf").is_file()
    pdf = _Document(data["controller"]["name"], _when(data["generated_at"], zone), unicode_font)
    pdf.set_title("Meus dados")
    pdf.set_lang("pt-BR")
    pdf.set_creator("Guarita")
    pdf.add_page()
    registry = data.get("registry") or {}
    pdf.title_line("Meus dados")
    pdf.line_of("Tudo o que guardamos sobre você, como pede a Lei Geral de Proteção de Dados "
                "(LGPD, art. 18). Guarde este documento em lugar seguro: ele tem seus dados "
                "pessoais.")

    pdf.section("Seus dados do cadastro")
    pdf.pair("Nome", registry.get("name"))
    if registry.get("social_name"):
        pdf.pair("Nome social", registry["social_name"])
    pdf.pair("Carteirinha", registry.get("card_number"))
    pdf.pair("CPF", registry.get("cpf") or "não possui")
    pdf.pair("Data de nascimento", _when(registry.get("birth_date"), zone))
    pdf.pair("E-mail no cadastro da organização", registry.get("email"))
    pdf.pair("Celular no cadastro da organização", registry.get("phone"))

    account = data["account"]
    pdf.section("Sua conta")
    pdf.pair("Criada em", _when(account.get("created_at"), zone))
    pdf.pair("Situação", "ativa" if account.get("status") == "active" else "desativada")
    pdf.pair("Nível da conta", LEVELS.get(data["trust"]["level"], data["trust"]["level"]))

    pdf.section("Identificadores e contatos")
    for item in data["identifiers"]:
        state = "confirmado" if item["verified"] else "não confirmado"
        login = "usa para entrar" if item["login_enabled"] else "não usa para entrar"
        pdf.pair(KINDS.get(item["kind"], item["kind"]),
                 f"{item['value']} — {state}; {login}; veio de: {item['source_words']}")

    pdf.section("Como sua identidade foi confirmada")
    if not data["trust"]["evidence"]:
        pdf.line_of("Nenhuma confirmação registrada.")
    for item in data["trust"]["evidence"]:
        pdf.line_of(f"{_when(item['recorded_at'], zone)}: {item['words']}")

    pdf.section("Formas de entrar e verificação em duas etapas")
    for item in data["second_factors"]:
        extra = f" (restam {item['left']} códigos)" if "left" in item else ""
        pdf.line_of(f"{item['name']}{extra} — desde {_when(item.get('since'), zone)}")
    face = data.get("face_reference")
    pdf.pair("Modelo do rosto para validação facial",
             f"guardado (origem: {face['source_words']}) desde {_when(face['since'], zone)}"
             if face else "não guardamos")

    pdf.section("Aplicativos conectados")
    if not data["connected_apps"]:
        pdf.line_of("Nenhum aplicativo recebeu seus dados.")
    for app in data["connected_apps"]:
        pdf.pair(app["name"], f"pediu: {', '.join(app['scopes']) or '—'}; primeira vez em "
                              f"{_when(app['first_at'], zone)}; última em {_when(app['last_at'], zone)}")
    for link in data.get("bank_and_govbr_links", []):
        pdf.pair(link["provider"], f"vinculado em {_when(link['linked_at'], zone)}")

    pdf.section("Aparelhos conectados agora")
    if not data["sessions"]:
        pdf.line_of("Nenhum.")
    for item in data["sessions"]:
        pdf.line_of(f"{item['device'] or 'Aparelho desconhecido'} — entrou em "
                    f"{_when(item['signed_in_at'], zone)}; IP {item['ip'] or '—'}")

    pdf.section("Histórico dos últimos 12 meses")
    if not data["history"]:
        pdf.line_of("Nada registrado.")
    for item in data["history"]:
        pdf.line_of(f"{_when(item['at'], zone)} — {item['what']}"
                    + (f" (pela {item['by']})" if item.get("by") == "central de atendimento"
                       else f" (pelo {item['by']})" if item.get("by") else "")
                    + (f"; IP {item['ip']}" if item.get("ip") else ""), size=11)

    pdf.section("Seus direitos")
    pdf.line_of("Você pode pedir a correção ou a exclusão dos seus dados em Minha conta › Meus "
                f"dados, ou pela central de atendimento: {data['controller']['support_phone']}.")
    return bytes(pdf.output())
