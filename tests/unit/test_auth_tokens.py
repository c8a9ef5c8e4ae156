"""TokenVerifier remembers tokens that passed: the same token again is answered from memory, but
only the very same bytes, and never after it expires."""
from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from shared import auth
from shared.auth import Principal, TokenSigner, TokenVerifier, generate_keypair
from shared.errors import Unauthorized

FAMILY = Principal(user_id="u-1", role="family", elder_ids=("e-1",))


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_keypair()


def test_a_token_verified_once_is_answered_from_memory_with_the_same_principal(keys, monkeypatch):
    private, public = keys
    token = TokenSigner(private).sign(FAMILY, ttl=timedelta(minutes=5))
    verifier = TokenVerifier(public)
    first = verifier.verify(token)
    calls = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1))  # any real decode would now fail
    assert verifier.verify(token) == first == FAMILY
    assert calls == []


def test_a_remembered_token_is_refused_once_it_has_expired(keys, monkeypatch):
    private, public = keys
    token = TokenSigner(private).sign(FAMILY, ttl=timedelta(seconds=60))
    verifier = TokenVerifier(public)
    verifier.verify(token)
    real_time = auth.time.time
    monkeypatch.setattr(auth.time, "time", lambda: real_time() + 60 + auth.LEEWAY_S + 1)
    with pytest.raises(Unauthorized) as err:
        verifier.verify(token)
    assert "过期" in err.value.detail
    assert token not in verifier._verified  # forgotten: the next call is checked in full


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # another signature
    lambda t: t.split(".")[0] + "." + t.split(".")[1][:-1] + "." + t.split(".")[2],  # another payload
])
def test_a_token_that_differs_from_a_remembered_one_is_checked_in_full(keys, tamper):
    private, public = keys
    token = TokenSigner(private).sign(FAMILY, ttl=timedelta(minutes=5))
    verifier = TokenVerifier(public)
    verifier.verify(token)
    with pytest.raises(Unauthorized):
        verifier.verify(tamper(token))


def test_a_token_from_another_key_is_refused_even_with_a_full_memory(keys, monkeypatch):
    private, public = keys
    monkeypatch.setattr(auth, "VERIFIED_CACHE_SIZE", 3)
    verifier = TokenVerifier(public)
    signer = TokenSigner(private)
    tokens = [signer.sign(Principal(user_id=f"u-{i}", role="family"), ttl=timedelta(minutes=5)) for i in range(7)]
    assert [verifier.verify(t).user_id for t in tokens] == [f"u-{i}" for i in range(7)]
    assert len(verifier._verified) <= 3
    other_private, _ = generate_keypair()
    with pytest.raises(Unauthorized):
        verifier.verify(TokenSigner(other_private).sign(FAMILY, ttl=timedelta(minutes=5)))
