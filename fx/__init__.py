"""FX rates, corridor pricing, quotes and cost indicators. Framework-free."""
