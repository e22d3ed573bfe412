from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rcsgate.kit.phone import is_valid_plain, normalize_number

CALLING_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000, deadline=None)
@given(
    code=st.sampled_from(CALLING_CODES),
    national=st.integers(min_value=1000, max_value=10**13),
)
def test_the_fast_validity_check_agrees_with_phonenumbers(code: int, national: int) -> None:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=national)

    assert is_valid_plain(number) == phonenumbers.is_valid_number(number)


@settings(max_examples=1000, deadline=None)
@given(national=st.integers(min_value=10**7, max_value=10**10))
def test_swedish_numbers_agree(national: int) -> None:
    number = phonenumbers.PhoneNumber(country_code=46, national_number=national)

    assert is_valid_plain(number) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("46700123456", "46700123456"),
        ("+46 70-012 34 56", "46700123456"),
        ("0046700123456", "46700123456"),
        ("(+46) 70.012.34.56", "46700123456"),
        ("390612345678", "390612345678"),  # Italy keeps its leading national zero
        ("14155552671", "14155552671"),  # +1 is shared by many regions
        ("447911123456", "447911123456"),
    ],
)
def test_written_forms_normalize(written: str, normalized: str) -> None:
    assert normalize_number(written) == normalized


@pytest.mark.parametrize("written", ["4670", "12", "46 70 abc", "", "+", "461234567890123"])
def test_invalid_numbers_are_refused(written: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        normalize_number(written)
