"""Partner banks: API keys, signed requests, payouts, webhooks, settlement and reconciliation."""
