"""The chart of accounts: how Körpü names ledger accounts, in one place.

| code | normal side | flags | what it holds |
|---|---|---|---|
| ``customer:<id>:wallet:<CUR>`` | credit | debits must not exceed credits | a customer's money with us |
| ``partner:<code>:payable:<CUR>`` | credit | - | what we owe a partner bank for payouts it made |
| ``partner:<code>:receivable:<CUR>`` | debit | - | what a partner owes us for top-ups it took in |
| ``revenue:fees:<CUR>`` | credit | - | fees charged on top of the amount sent |
| ``revenue:fx_margin:<CUR>`` | credit | - | the FX margin, in the receive currency |
| ``fx:position:<CUR>`` | debit | - | our position in a currency from conversions |

A remittance of ``S`` (send currency) with fee ``F``, converted to ``R`` (receive currency) at the
applied rate, with FX margin ``M`` (what the mid rate would have given on top of ``R``), is one
multi-leg entry, balanced per currency:

    send currency:     debit customer wallet S+F  | credit revenue:fees F, credit fx:position S
    receive currency:  debit fx:position R+M      | credit revenue:fx_margin M, credit payout account R

where the payout account is the partner's payable (bank, card, cash) or the recipient's wallet.
"""

from __future__ import annotations

__all__ = [
    "customer_wallet",
    "fee_revenue",
    "fx_margin_revenue",
    "fx_position",
    "partner_payable",
    "partner_receivable",
]


def customer_wallet(customer_id: int, currency: str) -> str:
    return f"customer:{customer_id}:wallet:{currency}"


def partner_payable(partner_code: str, currency: str) -> str:
    return f"partner:{partner_code}:payable:{currency}"


def partner_receivable(partner_code: str, currency: str) -> str:
    return f"partner:{partner_code}:receivable:{currency}"


def fee_revenue(currency: str) -> str:
    return f"revenue:fees:{currency}"


def fx_margin_revenue(currency: str) -> str:
    return f"revenue:fx_margin:{currency}"


def fx_position(currency: str) -> str:
    return f"fx:position:{currency}"
