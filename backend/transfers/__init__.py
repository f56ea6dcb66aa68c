"""The orchestration of a remittance: quote, checks, ledger hold, payout, and its timeline."""
