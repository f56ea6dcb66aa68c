"""Körpü's application layer: settings, database, migrations, the app factory, services and the CLI.

``backend`` composes the framework-free libraries (``ledger``, ``fx``, ``compliance``) into one
service; the app factory in :mod:`backend.app` is the only place that knows every part.
"""
