"""``/v1/recipients``: the people a customer sends money to and how they are paid.

A recipient of another customer answers 404, exactly like one that does not exist. A card's number
is accepted on the way in and never sent back: replies carry its last four digits and scheme.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from pydantic import Field

from backend.identity.container import Identity
from backend.identity.guards import CustomerPrincipal
from backend.identity.recipients import PayoutInput, Recipient, RecipientChanges, RecipientDraft
from mobile_api.schemas import CamelModel

__all__ = ["RecipientsController"]

Name = Annotated[str, Field(min_length=1, max_length=100)]
Country = Annotated[str, Field(min_length=2, max_length=2, examples=["AZ"])]


class BankAccountPayout(CamelModel):
    method: Literal["bank_account"]
    iban: Annotated[str, Field(max_length=64, examples=["AZ21NABZ00000000137010001944"])]


class CardPayout(CamelModel):
    method: Literal["card"]
    card_number: Annotated[str, Field(max_length=32)]


class WalletPayout(CamelModel):
    method: Literal["wallet"]
    phone: Annotated[str, Field(max_length=32, examples=["+994501234567"])]


class CashPickupPayout(CamelModel):
    method: Literal["cash_pickup"]


PayoutIn = Annotated[
    BankAccountPayout | CardPayout | WalletPayout | CashPickupPayout, Field(discriminator="method")
]


class BankAccountPayoutOut(CamelModel):
    method: Literal["bank_account"]
    iban: str


class CardPayoutOut(CamelModel):
    method: Literal["card"]
    last4: str
    scheme: str


class WalletPayoutOut(CamelModel):
    method: Literal["wallet"]
    phone: str


class CashPickupPayoutOut(CamelModel):
    method: Literal["cash_pickup"]


PayoutOut = BankAccountPayoutOut | CardPayoutOut | WalletPayoutOut | CashPickupPayoutOut


class RecipientCreate(CamelModel):
    given_name: Name
    family_name: Name
    country: Country
    """Where the money is paid out (ISO 3166-1 alpha-2)."""
    payout: PayoutIn


class RecipientUpdate(CamelModel):
    """Omitted fields stay; a new ``payout`` replaces the old one whole."""

    given_name: Name | None = None
    family_name: Name | None = None
    country: Country | None = None
    payout: PayoutIn | None = None


class RecipientResponse(CamelModel):
    id: int
    given_name: str
    family_name: str
    country: str
    payout: PayoutOut
    created_at: datetime
    updated_at: datetime


class RecipientList(CamelModel):
    items: list[RecipientResponse]
    next_cursor: str | None


def _payout_input(payout: BankAccountPayout | CardPayout | WalletPayout | CashPickupPayout) -> PayoutInput:
    if isinstance(payout, BankAccountPayout):
        return PayoutInput("bank_account", iban=payout.iban)
    if isinstance(payout, CardPayout):
        return PayoutInput("card", card_number=payout.card_number)
    if isinstance(payout, WalletPayout):
        return PayoutInput("wallet", phone=payout.phone)
    return PayoutInput("cash_pickup")


def _payout_output(recipient: Recipient) -> PayoutOut:
    payout = recipient.payout
    if payout.method == "bank_account":
        return BankAccountPayoutOut(method="bank_account", iban=payout.iban or "")
    if payout.method == "card":
        return CardPayoutOut(
            method="card", last4=payout.card_last4 or "", scheme=payout.card_scheme or "other"
        )
    if payout.method == "wallet":
        return WalletPayoutOut(method="wallet", phone=payout.wallet_phone or "")
    return CashPickupPayoutOut(method="cash_pickup")


def _response(recipient: Recipient) -> RecipientResponse:
    return RecipientResponse(
        id=recipient.id,
        given_name=recipient.given_name,
        family_name=recipient.family_name,
        country=recipient.country,
        payout=_payout_output(recipient),
        created_at=recipient.created_at,
        updated_at=recipient.updated_at,
    )


class RecipientsController(Controller):
    path = "/v1/recipients"
    tags = ["recipients"]

    @post("", status_code=HTTP_201_CREATED, summary="Add a recipient")
    async def create(
        self, data: RecipientCreate, principal: CustomerPrincipal, identity: Identity
    ) -> RecipientResponse:
        draft = RecipientDraft(
            given_name=data.given_name,
            family_name=data.family_name,
            country=data.country,
            payout=_payout_input(data.payout),
        )
        return _response(await identity.recipients.create(principal.customer_id, draft))

    @get("", summary="My recipients, newest first")
    async def list_recipients(
        self,
        principal: CustomerPrincipal,
        identity: Identity,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Parameter(max_length=32)] = None,
    ) -> RecipientList:
        page = await identity.recipients.list(principal.customer_id, cursor=cursor, limit=limit)
        return RecipientList(items=[_response(item) for item in page.items], next_cursor=page.next_cursor)

    @get("/{recipient_id:int}", summary="One recipient")
    async def get_recipient(
        self, recipient_id: int, principal: CustomerPrincipal, identity: Identity
    ) -> RecipientResponse:
        return _response(await identity.recipients.get(principal.customer_id, recipient_id))

    @patch("/{recipient_id:int}", summary="Change a recipient")
    async def update(
        self, recipient_id: int, data: RecipientUpdate, principal: CustomerPrincipal, identity: Identity
    ) -> RecipientResponse:
        changes = RecipientChanges(
            given_name=data.given_name,
            family_name=data.family_name,
            country=data.country,
            payout=None if data.payout is None else _payout_input(data.payout),
        )
        return _response(await identity.recipients.update(principal.customer_id, recipient_id, changes))

    @delete("/{recipient_id:int}", status_code=HTTP_204_NO_CONTENT, summary="Remove a recipient")
    async def remove(self, recipient_id: int, principal: CustomerPrincipal, identity: Identity) -> None:
        await identity.recipients.delete(principal.customer_id, recipient_id)
