"""``GET /dev/sms``: the developer's view of the SMS that were not sent (``KORPU_ENV=dev`` only).

The route is registered only when ``settings.dev_sms_inbox`` is on and no real gateway is
configured; settings refuse that flag in prod, so production has no such route at all.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from backend.identity.container import Identity
from backend.identity.errors import InvalidPhone
from backend.identity.phones import normalise_phone
from backend.settings import Settings

__all__ = ["DevSmsController", "dev_inbox_enabled"]

_CODE = re.compile(r"\b(\d{4,8})\b")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class DevSms(_Model):
    text: str
    code: str | None
    """The code in the text, for scripts (``jq -r '.messages[0].code'``)."""
    sent_at: datetime


class DevInbox(_Model):
    phone: str
    messages: list[DevSms]
    """Newest first."""


def dev_inbox_enabled(settings: Settings) -> bool:
    return settings.dev_sms_inbox and settings.env != "prod" and not settings.sms_url


class DevSmsController(Controller):
    path = "/dev/sms"
    tags = ["dev"]
    include_in_schema = False

    @get("", summary="SMS that would have been sent to a number (dev only)")
    async def inbox(self, phone: Annotated[str, Parameter(max_length=40)], identity: Identity) -> DevInbox:
        # A "+" left unencoded in a query string arrives as a space; put it back for curl users.
        e164 = normalise_phone("+" + phone.strip().lstrip("+"))
        if e164 is None:
            raise InvalidPhone()
        messages = [] if identity.inbox is None else await identity.inbox.messages(e164)
        return DevInbox(
            phone=e164,
            messages=[
                DevSms(
                    text=m.text,
                    code=(found.group(1) if (found := _CODE.search(m.text)) else None),
                    sent_at=m.sent_at,
                )
                for m in messages
            ],
        )
