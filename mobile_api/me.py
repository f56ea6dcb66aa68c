"""``/v1/me``: the signed-in customer's own profile."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from litestar import Controller, get, patch
from pydantic import Field

from backend.identity.container import Identity
from backend.identity.guards import CustomerPrincipal
from backend.identity.profiles import Profile, ProfileChanges
from mobile_api.schemas import CamelModel

__all__ = ["MeController"]

Language = Literal["en", "az", "ru", "tr"]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class ProfileResponse(CamelModel):
    id: int
    phone: str
    """E.164, as verified at sign-in."""
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    language: Language
    kyc_tier: int
    """0 after phone verification; KYC raises it."""
    status: str
    pin_set: bool
    created_at: datetime


class ProfileUpdate(CamelModel):
    """Omitted (or null) fields stay as they are; names and date of birth freeze once KYC verified them."""

    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    language: Language | None = None


def _profile(profile: Profile) -> ProfileResponse:
    return ProfileResponse(
        id=profile.customer_id,
        phone=profile.phone,
        given_name=profile.given_name,
        family_name=profile.family_name,
        date_of_birth=profile.birth_date,
        language=profile.language,  # type: ignore[arg-type]  # the table's check constraint holds it
        kyc_tier=profile.kyc_tier,
        status=profile.status,
        pin_set=profile.pin_set,
        created_at=profile.created_at,
    )


class MeController(Controller):
    path = "/v1/me"
    tags = ["profile"]

    @get("", summary="My profile")
    async def get_profile(self, principal: CustomerPrincipal, identity: Identity) -> ProfileResponse:
        return _profile(await identity.profiles.get(principal.customer_id))

    @patch("", summary="Change my profile")
    async def update_profile(
        self, data: ProfileUpdate, principal: CustomerPrincipal, identity: Identity
    ) -> ProfileResponse:
        changes = ProfileChanges(
            given_name=data.given_name,
            family_name=data.family_name,
            birth_date=data.date_of_birth,
            language=data.language,
        )
        return _profile(await identity.profiles.update(principal.customer_id, changes))
