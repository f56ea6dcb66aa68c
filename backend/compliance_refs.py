"""How the backend names its customers and payees to the compliance library.

``compliance`` knows people only by opaque references: KYC submissions, cases, alerts and screening
results say ``customer:42`` or ``payee:<hash>``, never a name. These helpers make and read those
references so every capability spells them the same way.

A payee (the person a transfer pays) is named by a keyed hash of the payout method and account,
not by the sender's recipient row: the same IBAN or wallet reached by two senders is one payee, for
the fan-in monitoring rules and for screening, where a match an officer cleared for the payee then
holds whoever pays them (the transfer flow and the re-screening job both use :func:`payee_ref`).
"""

from __future__ import annotations

from compliance.privacy import BlindIndex

__all__ = [
    "PAYEE_CONTEXT",
    "customer_id_of",
    "customer_ref",
    "payee_account",
    "payee_ref",
]

PAYEE_CONTEXT = "transfers.payee"
"""Blind-index context of payee references."""

_CUSTOMER = "customer:"


def customer_ref(customer_id: int) -> str:
    """``customer:42`` for customer 42."""
    return f"{_CUSTOMER}{customer_id}"


def payee_account(iban: str | None, card_number: str | None, wallet_phone: str | None, full_name: str) -> str:
    """What identifies a payee: the IBAN, card number or wallet phone, or for cash pick-up the name."""
    return iban or card_number or wallet_phone or full_name


def payee_ref(index: BlindIndex, method: str, account: str) -> str:
    """``payee:<40 hex>`` for a payout method and account (160 bits of the keyed hash fit the
    compliance tables' 64-character references)."""
    return "payee:" + index.digest(f"{method}:{account}", PAYEE_CONTEXT)[:40]


def _id_after(prefix: str, ref: str) -> int | None:
    if not ref.startswith(prefix):
        return None
    digits = ref[len(prefix) :]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def customer_id_of(ref: str) -> int | None:
    """The customer id in ``customer:42``, or ``None`` for any other reference."""
    return _id_after(_CUSTOMER, ref)
