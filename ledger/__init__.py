"""Double-entry ledger: money, accounts, journal entries, holds, balances, settlement. Framework-free."""
