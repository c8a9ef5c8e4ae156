import pytest
from cryptography.fernet import Fernet

from shared.pii import PiiCipher, mask_id_number, mask_phone


@pytest.mark.parametrize("value, masked", [
    ("13812345678", "138****5678"), ("", ""), (None, None), ("1234567", "*******"),
])
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize("value, masked", [
    ("321202194805061234", "3212**********1234"), ("32120219480506123X", "3212**********123X"), (None, None),
])
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked


def test_encrypt_round_trip_is_not_plain_and_index_is_stable():
    c = PiiCipher(Fernet.generate_key().decode())
    token = c.encrypt("13812345678")
    assert "13812345678" not in token and c.decrypt(token) == "13812345678"
    assert c.encrypt("13812345678") != token  # randomised encryption
    assert c.blind_index(" 32120219480506123x ") == c.blind_index("32120219480506123X")
    other = PiiCipher(Fernet.generate_key().decode())
    assert other.blind_index("13812345678") != c.blind_index("13812345678")
    with pytest.raises(RuntimeError):
        other.decrypt(token)
