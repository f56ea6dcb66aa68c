"""``korpu bench quotes``: quotes per second of the in-process pricing engine, rates cached.

It prices random amounts over the demo corridors and payout methods (fixed send and fixed receive)
with :func:`fx.engine.price`, on one core, and measures in the same run a reference: a plain loop
doing the same ``Decimal`` arithmetic with none of the engine's checks, lookups or objects. The
ratio of the two is the figure to compare across machines (see docs/performance.md).
"""

from __future__ import annotations

import json
import platform
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import click

from backend.fx_demo import demo_catalogue, demo_rate_bulletins
from fx.catalogue import Corridor, PayoutMethod
from fx.engine import price
from fx.rates import RateBook
from fx.rounding import WORKING
from ledger.money import Money

__all__ = ["measure", "quotes"]

Case = tuple[Corridor, PayoutMethod, Money, bool]


def _cases(count: int, seed: int, rates: RateBook, now: datetime) -> list[Case]:
    rng = random.Random(seed)
    options = [(c, o) for c in demo_catalogue() for o in c.payouts.values()]
    cases = []
    for _ in range(count):
        corridor, option = rng.choice(options)
        low, high = option.limits.minimum.minor_units, option.limits.maximum.minor_units
        fixed_receive = rng.random() < 0.5
        amount = Money.from_minor(rng.randint(low, min(high, low * 50)), corridor.send_currency)
        if fixed_receive:  # what that send amount buys at the mid rate, as a receive amount
            converted = WORKING.multiply(amount.amount, _rate(rates, corridor, now))
            amount = Money.of(converted, corridor.receive_currency, rounding=ROUND_FLOOR)
        cases.append((corridor, option.method, amount, fixed_receive))
    return cases


def _rate(rates: RateBook, corridor: Corridor, now: datetime) -> Decimal:
    return rates.mid_rate(
        corridor.send_currency,
        corridor.receive_currency,
        sources=corridor.rate_sources,
        now=now,
        max_age=corridor.max_rate_age,
    ).value


def _timed(work: Callable[[], int], seconds: float) -> tuple[int, float]:
    """Run ``work`` for ``seconds`` of this process's CPU time: the rate of one busy core, which
    other processes on a shared machine disturb far less than they disturb wall-clock time."""
    done = 0
    started = time.process_time()
    while (elapsed := time.process_time() - started) < seconds:
        done += work()
    return done, elapsed


def _interleaved(works: list[Callable[[], int]], seconds: float, rounds: int = 5) -> list[float]:
    """Per-second rates of each of ``works``, measured in alternating rounds so drift hits all alike."""
    counts = [0] * len(works)
    spent = [0.0] * len(works)
    for _ in range(rounds):
        for index, work in enumerate(works):
            done, elapsed = _timed(work, seconds / rounds)
            counts[index] += done
            spent[index] += elapsed
    return [count / elapsed for count, elapsed in zip(counts, spent, strict=True)]


def measure(seconds: float = 2.0, batch: int = 2000, seed: int = 7) -> dict[str, object]:
    """Run the engine (mixed and fixed-send) and the reference for ``seconds`` of CPU each."""
    now = datetime.now(UTC)
    rates = RateBook(demo_rate_bulletins(now))
    cases = _cases(batch, seed, rates, now)
    send_cases = [c for c in cases if not c[3]]
    mids = {c[0].code: _rate(rates, c[0], now) for c in cases}
    hundred, bps = Decimal(100), Decimal(10000)

    def engine_all() -> int:
        for corridor, method, amount, fixed_receive in cases:
            if fixed_receive:
                price(corridor, method, receive_amount=amount, rates=rates, now=now, check_limits=False)
            else:
                price(corridor, method, send_amount=amount, rates=rates, now=now)
        return len(cases)

    def engine_send() -> int:
        for corridor, method, amount, _ in send_cases:
            price(corridor, method, send_amount=amount, rates=rates, now=now)
        return len(send_cases)

    def reference() -> int:
        # The same arithmetic as a fixed-send quote, inline: rate, receive, fee, percentages.
        for corridor, _method, amount, _ in send_cases:
            mid = mids[corridor.code]
            rate = WORKING.divide(WORKING.multiply(mid, bps - 60), bps)
            send = amount.amount
            receive = WORKING.multiply(send, rate).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            fee = (Decimal(1) + send * Decimal("0.5") / hundred).quantize(
                Decimal("0.01"), rounding=ROUND_CEILING
            )
            margin = (1 - rate / mid) * hundred
            _ = (fee * hundred / send + margin, send + fee, receive)
        return len(send_cases)

    engine_all()  # warm the caches the engine keeps (cross rates), as a running service would
    per_second, send_per_second, reference_per_second = _interleaved(
        [engine_all, engine_send, reference], seconds
    )
    return {
        "benchmark": "quotes",
        "quotesPerSecond": round(per_second),
        "fixedSendQuotesPerSecond": round(send_per_second),
        "referencePerSecond": round(reference_per_second),
        "fixedSendToReferenceRatio": round(send_per_second / reference_per_second, 3),
        "target": 5000,
        "meetsTarget": per_second >= 5000,
        "clock": "process CPU time (one core)",
        "mix": "half fixed send, half fixed receive, demo corridors and payout methods",
        "secondsPerMeasure": seconds,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


@click.command("quotes")
@click.option("--seconds", type=float, default=2.0, show_default=True, help="CPU seconds per measure.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def quotes(seconds: float, as_json: bool) -> None:
    """Quotes per second of the pricing engine on one core, rates cached, against a plain Decimal loop."""
    figures = measure(seconds)
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(
        f"engine: {figures['quotesPerSecond']} quotes/s "
        f"(fixed send only: {figures['fixedSendQuotesPerSecond']}/s); "
        f"plain Decimal loop: {figures['referencePerSecond']}/s; "
        f"ratio {figures['fixedSendToReferenceRatio']}; target 5000/s met: {figures['meetsTarget']}"
    )
