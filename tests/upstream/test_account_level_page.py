"""Minha conta › Nível da conta with a bank enabled: a bronze person reads the level in plain
words, what each level opens and the ways to raise it (the bank, an agency with the addresses
of the settings); after the bank confirms the CPF the page says prata and offers the way to
ouro (docs/trust-levels.md › Minha conta)."""

from __future__ import annotations

import re

import pytest

from tests.support.upstream import sign_in_at_bank
from tests.upstream.conftest import register_bank
from tests.upstream.test_bank_account import BANK_PASSWORD, _bank_url, _signed_in

AGENCY = "Agência Centro — Rua das Flores, 100, Brasília"


@pytest.fixture
def settings_overrides() -> dict:
    return {"step_up": {"agencies": [AGENCY]}}


def _section(html: str) -> str:
    return re.search(r'<section class="account-section" aria-labelledby="nivel">(.*?)</section>',
                     html, re.S).group(1)


async def test_a_bronze_person_sees_the_ways_up_and_the_bank_makes_prata(client, runtime, bank):
    b = await _signed_in(client, runtime, 12, "555000222")
    bank.add_account(b.cpf, BANK_PASSWORD, f"cliente-{b.cpf}", cpf=b.cpf)
    await register_bank(runtime, bank)
    page = await client.get("/conta")
    assert '<a href="#nivel">Nível da conta</a>' in page.text
    level = _section(page.text)
    assert "Nível da conta: Bronze" in level
    assert "Seus dados conferem com o cadastro" in level
    assert re.search(r'data-level="bronze" aria-current="true">\s*<strong>Bronze</strong> — seu nível',
                     level)
    assert "Autorizar empréstimo consignado" in level  # what prata opens (the defaults)
    assert "Como chegar ao nível Prata" in level
    assert 'data-way="bank"' in level and 'href="/conta/bancos"' in level
    assert 'data-way="face"' not in level  # no trusted face to compare with
    assert "Vá a uma agência" in level and AGENCY in level

    back = await sign_in_at_bank(await _bank_url(client), b.cpf, BANK_PASSWORD)
    done = await client.get("/upstream/callback", params=back)
    assert done.status_code == 303
    level = _section((await client.get("/conta")).text)
    assert "Nível da conta: Prata" in level
    assert "Como chegar ao nível Ouro" in level
    assert 'data-way="bank"' not in level  # a bank confirms a CPF: prata at most
    assert "tiramos uma foto sua" in level and AGENCY in level
