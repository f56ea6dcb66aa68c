"""Double-entry ledger: accounts, multi-leg entries, holds, balances, signed checkpoints. Framework-free.

The model (TigerBeetle's balances and two-phase transfers, Formance's multi-leg entries,
django-hordak's database-enforced zero sum):

* An **account** (:mod:`ledger.accounts`) has a readable unique code, a currency, a normal side,
  at most one balance limit (``debits_must_not_exceed_credits`` for a wallet that must not go
  below zero, or ``credits_must_not_exceed_debits``), and four counters: debits and credits, each
  posted and pending. Its identity never changes.
* A **journal entry** (:mod:`ledger.journal`) has a client-supplied id, which is its idempotency
  key, and two or more **postings** (legs); for each currency its debits equal its credits. The
  same id with the same content returns the stored entry; with other content it is refused.
* A posting has a **phase**. ``posted`` adds to the posted counter of its side; ``pending`` (a
  hold) adds to the pending counter; ``released`` takes a hold's pending amount back off. A hold
  is resolved once: posted in full or in part (``released`` legs for everything held, ``posted``
  legs for what is taken), voided, or expired (``released`` legs only). So every counter is a sum
  of postings, entries only ever get appended, and a past balance is a sum of past postings.
  Available balance counts pending debits against the account; pending credits are not
  available until posted.
* **Invariants are enforced by the database** on SQLite and PostgreSQL (migration
  ``0002_ledger``): entries, postings and checkpoints are append-only; an entry balances per
  currency and phase (PostgreSQL: a deferred constraint trigger; SQLite: postings are written
  first and the entry's insert trigger checks them); amounts are positive integers; a posting's
  currency is its account's; counters are non-negative and within the account's limit (CHECK).
  :mod:`ledger.verify` recomputes all of it from the rows, and :mod:`ledger.checkpoints` signs
  the journal (Ed25519 over a hash chain) so that rewritten history is detected too.

**Concurrency and speed.** A batch of requests (one or thousands) is handled by
:mod:`ledger.planning`: the store loads what the batch touches under locks taken in one global
order (so batches never deadlock), the requests are decided in memory in order (a later one sees
what an earlier one did), and the result is written with a few set-based statements, however
large the batch. On PostgreSQL a batch of new entries that are all accepted is even a single
statement in its own transaction (:func:`ledger.journal.post_entries_at_once`): one round trip,
commit included. :class:`ledger.batching.Batcher` gathers concurrent callers into such batches
(group commit), each caller still getting its own result; serialization failures and deadlocks
are retried (:mod:`ledger.retry`).

**Hot accounts.** Every transfer credits ``revenue:fees:*``, a partner's payable and the FX
positions. A row lock on each of them would queue every transaction behind the one before it
until its commit reached the disk. These accounts are **sharded** instead: their counters live in
N shard rows (16 by default) and the account's counters are the account row plus the sum of its
shards. A transaction writes one shard, the first of a few that no other transaction holds
(``SKIP LOCKED``), so hot accounts never make anyone wait; readers sum N small rows. Sharding is
allowed only for accounts without a balance limit (a limit needs the whole balance under one
lock), which hot accounts are: revenue and payables only grow between settlements. The
alternative, credit-only accounts rolled up later by a job, would have made their balances
stale; shards keep every balance exact at every commit. ``korpu bench ledger --shards 1``
measures the difference (docs/performance.md).
"""
