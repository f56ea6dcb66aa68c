"""Signed checkpoints: tamper evidence for the journal without a global lock.

A checkpoint covers the entries whose writing transaction id ``tx_id`` lies in ``[tx_from, tx_to)``.
``tx_to`` is a horizon below which no transaction can still be writing: on PostgreSQL the oldest
transaction still running in this database (from the snapshot's in-progress list and
``pg_stat_activity``; the role that checkpoints must see the sessions that write the ledger: be
the same role or have ``pg_read_all_stats``), since ``tx_id`` is the writer's transaction id (a
trigger makes postings insist on it); on SQLite, whose writers are serialised, one past the last
entry. Every entry below the horizon is final, so the checkpoint never races with writers and
never needs a lock on the journal; the next checkpoint starts where this one stopped.

Its ``digest`` is SHA-256 over the previous checkpoint's digest, the range, and a canonical line
per entry (every stored field and every posting), in ``(tx_id, seq)`` order; the digest is signed
with Ed25519 and the checkpoint names its signer's public key. Verification recomputes each digest
from the rows and checks the chain and each signature against the trusted keys (the current one
and those retired by rotation), so an entry or posting changed, added or removed below the latest
horizon, or a checkpoint rewritten or re-signed with another key, is detected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import bindparam, func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.errors import LedgerError
from ledger.tables import checkpoints, entries, postings

__all__ = [
    "Checkpoint",
    "CheckpointRace",
    "create_checkpoint",
    "public_key_of",
    "verify_checkpoints",
]

GENESIS = bytes(32)
_DOMAIN = b"korpu-ledger-checkpoint-v1\n"
_PAGE = 2000


class CheckpointRace(LedgerError):
    """Another checkpoint covering the same range was written at the same time."""

    code = "checkpoint_race"
    status = 409


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    tx_from: int
    """First transaction id covered."""
    tx_to: int
    """First transaction id not covered (the horizon)."""
    entry_count: int
    digest: bytes
    previous_digest: bytes
    public_key: bytes
    signature: bytes
    created_at: datetime


def public_key_of(signing_key: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a raw 32-byte private key."""
    return (
        Ed25519PrivateKey.from_private_bytes(signing_key)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


_ENTRY_PAGE = (
    select(entries)
    .where(
        entries.c.tx_id >= bindparam("tx_from"),
        entries.c.tx_id < bindparam("tx_to"),
        tuple_(entries.c.tx_id, entries.c.seq) > tuple_(bindparam("after_tx"), bindparam("after_seq")),
    )
    .order_by(entries.c.tx_id, entries.c.seq)
    .limit(_PAGE)
)
_POSTINGS_OF = (
    select(postings)
    .where(postings.c.entry_seq.in_(bindparam("seqs", expanding=True)))
    .order_by(postings.c.entry_seq, postings.c.id)
)


async def _entry_lines(conn: AsyncConnection, tx_from: int, tx_to: int) -> AsyncIterator[bytes]:
    """One canonical line per entry in the range, in ``(tx_id, seq)`` order."""
    after = (tx_from - 1, 0)
    while True:
        rows = list(
            await conn.execute(
                _ENTRY_PAGE, {"tx_from": tx_from, "tx_to": tx_to, "after_tx": after[0], "after_seq": after[1]}
            )
        )
        if not rows:
            return
        legs: dict[int, list[list[Any]]] = {row.seq: [] for row in rows}
        for leg in await conn.execute(_POSTINGS_OF, {"seqs": list(legs)}):
            legs[leg.entry_seq].append(
                [leg.id, leg.account_id, leg.currency, leg.side, leg.phase, leg.amount, _iso(leg.created_at)]
            )
        for row in rows:
            line = [
                row.seq,
                str(row.id),
                row.kind,
                None if row.pending_id is None else str(row.pending_id),
                _iso(row.expires_at),
                row.reference,
                row.metadata,
                row.request_hash,
                _iso(row.effective_at),
                _iso(row.created_at),
                row.tx_id,
                legs[row.seq],
            ]
            yield json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        after = (rows[-1].tx_id, rows[-1].seq)


async def _digest(conn: AsyncConnection, previous: bytes, tx_from: int, tx_to: int) -> tuple[bytes, int]:
    digest = hashlib.sha256(_DOMAIN + previous + f"{tx_from}:{tx_to}\n".encode())
    count = 0
    async for line in _entry_lines(conn, tx_from, tx_to):
        digest.update(line)
        count += 1
    return digest.digest(), count


# The oldest transaction still running in this database (another database's transactions cannot
# write here, so unlike pg_snapshot_xmin they must not hold the horizon back), else the snapshot's
# xmax. A transaction listed in the snapshot as running and still running when pg_stat_activity is
# read shows its xid there; one that has finished since is committed or aborted, and the entries
# are read afterwards, with a newer snapshot.
_PG_HORIZON = text(
    "SELECT coalesce("
    " (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x"
    "   WHERE x::xid IN (SELECT a.backend_xid FROM pg_stat_activity a"
    "                     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
    "                       AND a.backend_xid IS NOT NULL)),"
    " pg_snapshot_xmax(s.snap)::text::bigint) "
    "FROM (SELECT pg_current_snapshot() AS snap) AS s"
)


async def _horizon(conn: AsyncConnection) -> int:
    if conn.dialect.name == "postgresql":
        return int((await conn.execute(_PG_HORIZON)).scalar_one())
    last = (await conn.execute(select(func.max(entries.c.tx_id)))).scalar_one()
    return int(last or 0) + 1


_LAST = select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(1)


async def create_checkpoint(conn: AsyncConnection, signing_key: bytes) -> Checkpoint | None:
    """Sign the entries written since the last checkpoint; ``None`` if there are none yet.

    Run it in a transaction of its own: on PostgreSQL the calling transaction's own entries are not
    final yet, so the next checkpoint covers them.
    """
    horizon = await _horizon(conn)
    last = (await conn.execute(_LAST)).first()
    tx_from = last.tx_to if last is not None else 0
    previous = bytes(last.digest) if last is not None else GENESIS
    if horizon <= tx_from:
        return None
    digest, count = await _digest(conn, previous, tx_from, horizon)
    if count == 0:
        return None
    checkpoint = Checkpoint(
        seq=0,
        tx_from=tx_from,
        tx_to=horizon,
        entry_count=count,
        digest=digest,
        previous_digest=previous,
        public_key=public_key_of(signing_key),
        signature=Ed25519PrivateKey.from_private_bytes(signing_key).sign(digest),
        created_at=datetime.now(UTC),
    )
    values = {name: getattr(checkpoint, name) for name in checkpoint.__slots__ if name != "seq"}
    try:
        async with conn.begin_nested():
            seq = (await conn.execute(checkpoints.insert().returning(checkpoints.c.seq), values)).scalar_one()
    except IntegrityError:
        raise CheckpointRace("another checkpoint was written for the same range; run it again") from None
    return replace(checkpoint, seq=seq)


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    seq: int
    message: str


async def verify_checkpoints(
    conn: AsyncConnection, trusted_keys: bytes | Collection[bytes]
) -> list[CheckpointProblem]:
    """Every checkpoint's chain link, digest and signature; the problems found, first first.

    ``trusted_keys`` are the raw Ed25519 public keys whose signatures count: the current signing
    key's and those of keys retired by rotation. Each checkpoint names the key that signed it; one
    signed by a key not trusted here is a problem, even if its signature is sound.
    """
    trusted = {trusted_keys} if isinstance(trusted_keys, bytes) else set(trusted_keys)
    problems: list[CheckpointProblem] = []
    previous, expected_from = GENESIS, 0
    for row in await conn.execute(select(checkpoints).order_by(checkpoints.c.seq)):
        if row.tx_from != expected_from or bytes(row.previous_digest) != previous:
            problems.append(
                CheckpointProblem(row.seq, f"checkpoint {row.seq} does not follow checkpoint chain")
            )
        digest, count = await _digest(conn, bytes(row.previous_digest), row.tx_from, row.tx_to)
        if digest != bytes(row.digest) or count != row.entry_count:
            problems.append(
                CheckpointProblem(
                    row.seq,
                    f"checkpoint {row.seq}: the {count} entries of transactions {row.tx_from}.."
                    f"{row.tx_to - 1} no longer hash to its digest ({row.entry_count} when signed): "
                    "the journal was altered",
                )
            )
        problem = _signature_problem(bytes(row.public_key), bytes(row.signature), bytes(row.digest), trusted)
        if problem is not None:
            problems.append(CheckpointProblem(row.seq, f"checkpoint {row.seq}: {problem}"))
        previous, expected_from = bytes(row.digest), row.tx_to
    return problems


def _signature_problem(signer: bytes, signature: bytes, digest: bytes, trusted: set[bytes]) -> str | None:
    """What is wrong with a checkpoint's signature, or ``None`` if a trusted key made it."""
    if signer not in trusted:
        return "signed by a key that is not trusted"
    try:
        Ed25519PublicKey.from_public_bytes(signer).verify(signature, digest)
    except InvalidSignature:
        return "signature does not verify"
    return None
