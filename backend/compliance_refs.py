"""How the backend names its customers and recipients to the compliance library.

``compliance`` knows people only by opaque references: KYC submissions, cases, alerts and screening
results all say ``customer:42`` or ``recipient:7``, never a name. These helpers make and read those
references so every capability spells them the same way.
"""

from __future__ import annotations

__all__ = ["customer_id_of", "customer_ref", "recipient_id_of", "recipient_ref"]

_CUSTOMER = "customer:"
_RECIPIENT = "recipient:"


def customer_ref(customer_id: int) -> str:
    """``customer:42`` for customer 42."""
    return f"{_CUSTOMER}{customer_id}"


def recipient_ref(recipient_id: int) -> str:
    """``recipient:7`` for recipient 7."""
    return f"{_RECIPIENT}{recipient_id}"


def _id_after(prefix: str, ref: str) -> int | None:
    if not ref.startswith(prefix):
        return None
    digits = ref[len(prefix) :]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def customer_id_of(ref: str) -> int | None:
    """The customer id in ``customer:42``, or ``None`` for any other reference."""
    return _id_after(_CUSTOMER, ref)


def recipient_id_of(ref: str) -> int | None:
    """The recipient id in ``recipient:7``, or ``None`` for any other reference."""
    return _id_after(_RECIPIENT, ref)
