"""Identity: customers, sign-in (SMS code, PIN, tokens), profiles and recipients.

Where things are:

- ``guards``: the ``/v1`` authentication middleware, :class:`AuthLevel`, and the ``principal`` /
  ``optional_principal`` / ``identity`` dependencies other capabilities use;
- ``container``: :class:`Identity`, the services wired once per app (``app.state.identity``);
- ``auth`` (codes, tokens, sessions), ``pin_service``, ``profiles``, ``recipients``: the services,
  with functions that take an ``AsyncConnection`` for use inside another capability's transaction;
- ``repositories``: the SQL; ``tables``: the schema (migration ``0007_identity``);
- ``sms``: SMS providers; ``dev_inbox``: ``GET /dev/sms``; ``demo``: the demo seeder.
"""
