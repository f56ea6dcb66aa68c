"""FX rates, corridor pricing, quotes and cost indicators. Framework-free.

Map: :mod:`fx.parsers` and :mod:`fx.sources` read rate documents (CBAR, ECB, partner JSON, files);
:mod:`fx.rates` holds bulletins and the cross-rate rule; :mod:`fx.rate_store` and :mod:`fx.refresh`
store them with provenance; :mod:`fx.catalogue` and :mod:`fx.pricing` describe corridors and prices;
:mod:`fx.engine` prices an amount; :mod:`fx.quotes` stores guaranteed quotes and consumes them;
:mod:`fx.rounding` is the rounding rule. See docs/fx.md.
"""
