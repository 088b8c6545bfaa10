"""Email addresses validated exactly as pydantic's EmailStr, each distinct address once per process (a turn validates the same few many times)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import EmailStr
from pydantic.networks import validate_email


@lru_cache(maxsize=4096)
def _normalised(value: str) -> str:
    """EmailStr's answer for ``value`` (a pure function of the string); an invalid address raises
    the same error each time (exceptions are not remembered)."""
    return validate_email(value)[1]


if TYPE_CHECKING:
    Email = EmailStr
else:

    class Email(EmailStr):
        """EmailStr, same schema and errors, with the validation remembered."""

        @classmethod
        def _validate(cls, input_value: str, /) -> str:
            return _normalised(input_value)
