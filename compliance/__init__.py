"""KYC tiers and limits, sanctions screening, transaction monitoring, alerts and cases. Framework-free."""
