"""The whole send flow under load and under crashes (``korpu bench e2e``, ``korpu bench crash``).

Both start a throw-away stack on loopback (a fresh PostgreSQL database, ``korpu serve --workers
N``, ``korpu worker`` and the mock partner bank), prepare signed-in, funded senders with
recipients and one quote per planned transfer, drive ``POST /v1/transfers``, and stop everything
they started. See docs/performance.md ("Whole send flow over HTTP") and docs/reliability.md.
"""
