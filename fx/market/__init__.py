"""Market prices of remittances and the World Bank RPW indicators built on them.

``fx.market`` imports the World Bank's Remittance Prices Worldwide (RPW) files and the policy team's
provider price list, computes the RPW indicators (average total cost at USD 200 and USD 500, SmaRT,
SDG 10.c status, savings to migrants) and compares our price with the market's. Framework-free: it
takes an ``AsyncConnection`` from the caller and never imports the web layer.
"""
