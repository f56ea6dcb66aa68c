"""Random names of people who are on no list, for measuring the alert rate of screening.

Names are drawn with Faker (a development dependency) from the locales of the pilot's customers
(Azerbaijani, Russian, Turkish, Ukrainian, Georgian, Armenian, Kazakh-style Russian, English),
with a fixed seed so that a measurement can be repeated exactly.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

__all__ = ["DEFAULT_LOCALES", "random_people", "write_random_people"]

DEFAULT_LOCALES = ("az_AZ", "ru_RU", "tr_TR", "uk_UA", "ka_GE", "hy_AM", "en_US")
"""Locales whose name parts are mixed, in equal shares."""


def random_people(count: int, seed: int, locales: tuple[str, ...] = DEFAULT_LOCALES) -> list[str]:
    """``count`` full names, the same for the same seed. No dates of birth: a name alone is the
    harder case (a birth date that disagrees with a list entry lowers its score)."""
    try:
        from faker import Faker
    except ImportError as exc:  # pragma: no cover - Faker is a dev dependency
        raise RuntimeError("random names need Faker (pip install Faker)") from exc
    fakers = []
    for position, locale in enumerate(locales):
        faker = Faker(locale)
        faker.seed_instance(seed * 1000 + position)
        fakers.append(faker)
    chooser = random.Random(seed)
    people = []
    for _ in range(count):
        faker = chooser.choice(fakers)
        people.append(f"{faker.first_name()} {faker.last_name()}")
    return people


def write_random_people(
    path: Path, count: int, seed: int, locales: tuple[str, ...] = DEFAULT_LOCALES
) -> None:
    """Write :func:`random_people` as a ``full_name`` CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["full_name"])
        writer.writerows([name] for name in random_people(count, seed, locales))
