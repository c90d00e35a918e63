"""JWS as Guarita reads it (RFC 7515 §2, §5.2): one spelling per token, and a malformed header
is an unreadable token — never a server error."""

from __future__ import annotations

import base64
import json

import pytest

from guarita.oidc import keys, tokens


async def _signed(runtime) -> tuple[keys.KeyStore, str]:  # noqa: ANN001
    store = await keys.keystore(runtime)
    token, _ = tokens.access_token(store, issuer="http://testserver", audience="a", client_id="c",
                                   alg="ES256", sub="s", scope="openid", ttl=300)
    return store, token


async def test_a_token_is_read_only_in_its_own_spelling(runtime):
    store, token = await _signed(runtime)
    header, claims = tokens.read(store, token, typ="at+jwt")
    assert claims["sub"] == "s" and header["alg"] == "ES256"
    head, body, signature = token.split(".")
    variants = [f"{head}.{body}.{signature}="]  # padding
    if "-" in signature or "_" in signature:  # the standard alphabet
        variants.append(f"{head}.{body}.{signature.replace('-', '+').replace('_', '/')}")
    last = signature[-1]
    # The last character of 64 bytes (86 characters) carries 4 unused bits: another value of
    # them decodes to the same signature in a lenient decoder.
    twin = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = twin.index(last)
    variants.append(f"{head}.{body}.{signature[:-1]}{twin[index ^ 1]}")
    for variant in variants:
        with pytest.raises(tokens.UnreadableToken):
            tokens.read(store, variant, typ="at+jwt")


@pytest.mark.parametrize("kid", [["a", "b"], {"k": 1}, 7, None])
async def test_a_kid_that_is_not_a_string_is_unreadable(runtime, kid):
    store, token = await _signed(runtime)
    _, body, signature = token.split(".")
    header = base64.urlsafe_b64encode(json.dumps(
        {"alg": "ES256", "kid": kid, "typ": "at+jwt"}).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.UnreadableToken):
        tokens.read(store, f"{header}.{body}.{signature}", typ="at+jwt")
