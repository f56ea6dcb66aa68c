"""The values ``fx.market`` reads, stores and computes: service prices and corridor-quarter averages.

A *service* is one provider's product in one corridor and quarter (RPW's unit of survey); it is
priced at the sending-currency equivalents of USD 200 and USD 500 (RPW's ``cc1`` and ``cc2``). A
*corridor-quarter* is the aggregate of a corridor in a quarter, either as a source published it
(RPW averages file, DataBank ATCR.CORR) or as we computed it from service prices (RPW method).
Amounts here are survey observations in the sender's local currency, not our money: they may sit
finer than the currency's minor unit, and RPW's currency codes are not always ISO 4217 (``CFA``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from fx.market.periods import Quarter

__all__ = ["Basis", "BilateralFlow", "CorridorQuarter", "Dataset", "PricePoint", "ServicePrice"]


class Dataset(StrEnum):
    """Where a market figure came from; also the order of trust when two disagree (first wins)."""

    RPW_WORKBOOK = "rpw_workbook"
    """Service rows of the RPW workbook, averaged here by the RPW method."""
    RPW_AVERAGES = "rpw_averages"
    """RPW corridor x quarter averages file (means over services, as published)."""
    DATABANK_ATCR = "databank_atcr"
    """World Bank DataBank series ATCR.CORR, average total cost to remit USD 200 in a corridor."""
    PROVIDER_LIST = "provider_list"
    """The policy team's provider price list, for corridors RPW does not cover."""

    @property
    def rank(self) -> int:
        return list(Dataset).index(self)


class Basis(StrEnum):
    """How much a price can be trusted, said on every row and in every comparison."""

    SURVEY = "survey"
    """Observed by a price survey (RPW's researchers or the policy team's mystery shopping)."""
    PUBLISHED = "published"
    """Taken from the provider's own published fee schedule, cited in ``source``."""
    ILLUSTRATIVE = "illustrative"
    """No source: a placeholder to show the layout, never to be read as a market price."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    """What one service charged to send one amount."""

    amount: Decimal
    """Amount sent, in the sending currency (RPW ``ccN lcu amount``)."""
    fee: Decimal | None
    """Fee charged to the sender, same currency (``ccN lcu fee``)."""
    fx_rate: Decimal | None
    """Exchange rate applied (``ccN lcu fx rate``); its units vary in RPW, so only the margin is compared."""
    fx_margin_pct: Decimal | None
    """FX margin against the interbank mid rate, percent (``ccN fx margin``)."""
    total_cost_pct: Decimal | None
    """Fee as a percent of the amount plus the FX margin (``ccN total cost %``)."""


@dataclass(frozen=True, slots=True)
class ServicePrice:
    """One service in one corridor and quarter, priced at USD 200 and USD 500."""

    dataset: Dataset
    """Which file it came from."""
    period: Quarter
    """Survey quarter."""
    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    firm: str
    """Provider's name."""
    firm_type: str
    """Bank, Money Transfer Operator, Post office, ..."""
    payment_instrument: str
    """How the sender pays (cash, account, card, ...)."""
    pickup_method: str
    """How the recipient is paid (cash, bank account, mobile wallet, ...)."""
    speed: str
    """RPW's speed category, e.g. ``Less than one hour``, ``Next day``, ``3-5 days``."""
    send_currency: str
    """Sending currency as the source writes it."""
    at_200: PricePoint | None
    """Price at the equivalent of USD 200."""
    at_500: PricePoint | None
    """Price at the equivalent of USD 500."""
    interbank_rate: Decimal | None
    """Interbank rate the margin was measured against (``inter lcu bank fx``)."""
    transparent: bool
    """False when the provider does not disclose its rate: RPW leaves such services out of averages."""
    observed_on: date | None
    """Day the price was collected, when the source says."""
    source: str = "World Bank, Remittance Prices Worldwide"
    """Citation of the figure."""
    basis: Basis = Basis.SURVEY
    """How it was obtained; see :class:`Basis`."""
    receive_currency: str | None = None
    """Currency the recipient gets, when the source says (provider list)."""
    fee_fixed: Decimal | None = None
    """Fixed part of a published fee schedule (provider list), sending currency."""
    fee_percent: Decimal | None = None
    """Percentage part of a published fee schedule (provider list)."""
    fx_margin_pct: Decimal | None = None
    """FX margin of a published fee schedule (provider list), percent against mid."""

    @property
    def data_date(self) -> date:
        """The day the price describes: when it was collected, else the start of its quarter."""
        return self.observed_on or self.period.start


@dataclass(frozen=True, slots=True)
class CorridorQuarter:
    """A corridor's market averages in one quarter (all percentages of the amount sent)."""

    dataset: Dataset
    """Which source the figures are from."""
    period: Quarter
    """The quarter."""
    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    avg_cost_200_pct: Decimal | None
    """Average total cost of sending USD 200, over transparent services."""
    avg_cost_500_pct: Decimal | None = None
    """Average total cost of sending USD 500, over transparent services."""
    avg_fx_margin_200_pct: Decimal | None = None
    """Average FX margin at USD 200."""
    avg_fx_margin_500_pct: Decimal | None = None
    """Average FX margin at USD 500."""
    smart_pct: Decimal | None = None
    """SmaRT: mean total cost at USD 200 of the 3 cheapest qualifying services."""
    services: int | None = None
    """Services in the average (transparent ones)."""
    services_surveyed: int | None = None
    """All services surveyed, transparent or not."""
    basis: Basis = Basis.SURVEY
    """The weakest basis among the prices behind the figures (illustrative if any price is)."""

    @property
    def corridor(self) -> str:
        """RPW's corridor code, e.g. ``RUSAZE``."""
        return self.source_country + self.destination_country


@dataclass(frozen=True, slots=True)
class BilateralFlow:
    """World Bank bilateral remittance estimate: USD millions sent from one country to another."""

    year: int
    """Year of the estimate."""
    source_country: str
    """Sending country, ISO alpha-3."""
    destination_country: str
    """Receiving country, ISO alpha-3."""
    usd_millions: Decimal
    """Estimated flow, USD millions."""
