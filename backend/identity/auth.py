"""Signing in: a code by SMS, its verification, refresh-token rotation, signing out, and resolving
an access token to a :class:`CustomerPrincipal`.

Every failure that must leave a trace (a wrong code counted, a replayed refresh token's session
revoked) is committed before the error is raised: raising inside the transaction would roll the
trace back and hand an attacker unlimited tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db import alone
from backend.i18n import translator
from backend.i18n.messages import OTP_SMS
from backend.identity.clock import Clock, seconds_until
from backend.identity.errors import (
    AccountBlocked,
    ChallengeNotFound,
    ChallengeUsed,
    CodeAttemptsExhausted,
    CodeExpired,
    IdentityError,
    InvalidCode,
    InvalidPhone,
    InvalidRefreshToken,
    OtpRateLimited,
    PhoneNotMobile,
    RefreshTokenReused,
    SessionRevoked,
    SmsUnavailable,
    TokenExpired,
    Unauthorized,
)
from backend.identity.keys import PersonalData, SealContext
from backend.identity.phones import normalise_mobile_phone
from backend.identity.policy import IdentityPolicy
from backend.identity.principal import CustomerPrincipal, PinStatus
from backend.identity.repositories import challenges, customers, sessions
from backend.identity.repositories.locks import lock_phone
from backend.identity.sms import SmsProvider
from backend.identity.tokens import (
    AccessTokenExpired,
    AccessTokenInvalid,
    AccessTokens,
    hash_refresh_token,
    new_refresh_token,
)

__all__ = ["AuthService", "SignInStarted", "TokenGrant"]

PHONE_CONTEXT = SealContext.CUSTOMER_PHONE


@dataclass(frozen=True, slots=True)
class SignInStarted:
    """A code is on its way."""

    challenge_id: uuid.UUID
    """To send back with the code."""
    expires_at: datetime
    """The code is refused after this."""
    resend_after: datetime
    """A new code for this number is refused before this."""


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """Tokens for a session, after sign-in or a refresh."""

    access_token: str
    access_token_expires_at: datetime
    access_token_lifetime_seconds: int
    refresh_token: str
    refresh_token_expires_at: datetime
    customer_id: int
    session_id: uuid.UUID
    new_customer: bool
    """The phone number was seen for the first time: the customer was just created."""
    pin_status: PinStatus


class AuthService:
    """Sign-in by phone: each public method is one business operation in its own transaction(s)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        policy: IdentityPolicy,
        personal_data: PersonalData,
        access_tokens: AccessTokens,
        otp_key: bytes,
        sms: SmsProvider,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._policy = policy
        self._personal = personal_data
        self._access = access_tokens
        self._otp_key = otp_key
        self._sms = sms
        self._clock = clock

    # -- codes -------------------------------------------------------------------------------

    async def start_sign_in(self, phone: str, language: str) -> SignInStarted:
        """Send a sign-in code to ``phone`` (any number, known or not: the reply never tells)."""
        e164, is_mobile = normalise_mobile_phone(phone)
        if e164 is None:
            raise InvalidPhone()
        if not is_mobile:
            raise PhoneNotMobile()
        phone_index = self._personal.phone_index(e164)
        policy = self._policy
        now = self._clock()
        challenge_id = uuid.uuid4()
        code = "".join(secrets.choice("0123456789") for _ in range(policy.otp_digits))
        async with self._engine.begin() as connection:
            await lock_phone(connection, phone_index)
            recent = await challenges.recent_for_phone(
                connection, phone_index, now - policy.otp_per_phone_window
            )
            pending = recent.newest_pending
            if pending is not None and now < pending + policy.otp_resend_interval:
                raise OtpRateLimited(seconds_until(pending + policy.otp_resend_interval, now))
            if recent.count >= policy.otp_per_phone_limit and recent.oldest is not None:
                raise OtpRateLimited(seconds_until(recent.oldest + policy.otp_per_phone_window, now))
            await challenges.purge_old(
                connection, phone_index, now - max(policy.otp_per_phone_window, policy.otp_ttl)
            )
            await challenges.insert_challenge(
                connection,
                challenge_id=challenge_id,
                phone_index=phone_index,
                phone_sealed=self._personal.seal(e164, PHONE_CONTEXT),
                code_hash=self._code_hash(challenge_id, code),
                now=now,
                expires_at=now + policy.otp_ttl,
            )
        text = translator(language).format(
            OTP_SMS, code=code, minutes=int(policy.otp_ttl.total_seconds() // 60)
        )
        try:
            await self._sms.send(e164, text)
        except SmsUnavailable:
            # A code nobody received must not count against the number's limit.
            async with self._engine.begin() as connection:
                await challenges.delete_challenge(connection, challenge_id)
            raise
        return SignInStarted(challenge_id, now + policy.otp_ttl, now + policy.otp_resend_interval)

    async def verify(self, challenge_id: uuid.UUID, code: str, device_id: str, language: str) -> TokenGrant:
        """Exchange a correct code for a session on ``device_id``; creates the customer on first sign-in."""
        now = self._clock()
        failure: IdentityError | None = None
        grant: TokenGrant | None = None
        async with self._engine.begin() as connection:
            challenge = await challenges.get_for_update(connection, challenge_id)
            if challenge is None:
                failure = ChallengeNotFound()
            elif challenge.consumed:
                failure = ChallengeUsed()
            elif challenge.expires_at <= now:
                failure = CodeExpired()
            elif challenge.attempts >= self._policy.otp_max_attempts:
                failure = CodeAttemptsExhausted()
            elif not hmac.compare_digest(challenge.code_hash, self._code_hash(challenge_id, code)):
                await challenges.count_attempt(connection, challenge_id)
                left = self._policy.otp_max_attempts - challenge.attempts - 1
                failure = InvalidCode(left) if left > 0 else CodeAttemptsExhausted()
            elif not await challenges.consume(connection, challenge_id, now):
                failure = ChallengeUsed()
            else:
                await lock_phone(connection, challenge.phone_index)
                customer_id = await customers.find_id_by_phone_index(connection, challenge.phone_index)
                new_customer = customer_id is None
                if customer_id is None:
                    customer_id = await customers.insert_customer(
                        connection,
                        phone_sealed=challenge.phone_sealed,
                        phone_index=challenge.phone_index,
                        language=language,
                        now=now,
                    )
                record = await customers.get(connection, customer_id)
                assert record is not None
                if record.status != "active":
                    failure = AccountBlocked()
                else:
                    device_pk = await sessions.ensure_device(connection, customer_id, device_id, now)
                    session_id = uuid.uuid4()
                    await sessions.insert_session(
                        connection,
                        session_id=session_id,
                        customer_id=customer_id,
                        device_pk=device_pk,
                        now=now,
                        expires_at=now + self._policy.session_max_age,
                    )
                    status = PinStatus.CHECK_REQUIRED if record.pin_hash else PinStatus.SET_REQUIRED
                    grant = await self._grant(
                        connection, customer_id, session_id, device_id, now, new_customer, status
                    )
        if failure is not None:
            raise failure
        assert grant is not None
        return grant

    # -- sessions ----------------------------------------------------------------------------

    async def refresh(self, refresh_token: str, device_id: str) -> TokenGrant:
        """Rotate ``refresh_token``; a replayed (already rotated) token revokes its whole session."""
        token_hash = hash_refresh_token(refresh_token)
        now = self._clock()
        failure: IdentityError | None = None
        grant: TokenGrant | None = None
        async with self._engine.begin() as connection:
            found = await sessions.find_refresh_token(connection, token_hash)
            if found is None:
                failure = InvalidRefreshToken()
            elif found.session_revoked:
                failure = SessionRevoked()
            elif found.device_id != device_id:
                # A refresh token presented by another device was copied off its own: end the session.
                await sessions.revoke_session(connection, found.session_id, "device_mismatch", now)
                failure = InvalidRefreshToken()
            elif found.token_used or not await sessions.claim_refresh_token(connection, token_hash, now):
                await sessions.revoke_session(connection, found.session_id, "refresh_reuse", now)
                failure = RefreshTokenReused()
            elif found.session_expires_at <= now or found.token_expires_at <= now:
                failure = SessionRevoked()
            else:
                principal = await sessions.principal_of_session(connection, found.session_id)
                assert principal is not None
                if principal.customer_status != "active":
                    failure = AccountBlocked()
                else:
                    await sessions.touch_session(connection, found.session_id, now)
                    status = _pin_status(principal.pin_verified, principal.pin_set)
                    grant = await self._grant(
                        connection, found.customer_id, found.session_id, device_id, now, False, status
                    )
        if failure is not None:
            raise failure
        assert grant is not None
        return grant

    async def logout(self, session_id: uuid.UUID) -> None:
        """End a session: its refresh tokens and access tokens stop working at once."""
        async with self._engine.begin() as connection:
            await sessions.revoke_session(connection, session_id, "logout", self._clock())

    async def authenticate(self, access_token: str) -> CustomerPrincipal:
        """The principal of a bearer token, checked against its session's current state."""
        now = self._clock()
        try:
            claims = self._access.verify(access_token, now)
        except AccessTokenExpired:
            raise TokenExpired() from None
        except AccessTokenInvalid:
            raise Unauthorized() from None
        async with alone(self._engine) as connection:
            found = await sessions.principal_of_session(connection, claims.session_id)
        if found is None or found.customer_id != claims.customer_id or found.device_id != claims.device_id:
            raise Unauthorized()
        if found.revoked or found.expires_at <= now:
            raise SessionRevoked()
        if found.customer_status != "active":
            raise AccountBlocked()
        return CustomerPrincipal(
            customer_id=found.customer_id,
            device_id=found.device_id,
            kyc_tier=found.kyc_tier,
            session_id=found.session_id,
            pin_status=_pin_status(found.pin_verified, found.pin_set),
            language=found.language,
        )

    # -- helpers -----------------------------------------------------------------------------

    async def _grant(
        self,
        connection: AsyncConnection,
        customer_id: int,
        session_id: uuid.UUID,
        device_id: str,
        now: datetime,
        new_customer: bool,
        pin_status: PinStatus,
    ) -> TokenGrant:
        refresh = new_refresh_token()
        refresh_expires_at = now + self._policy.refresh_token_ttl
        await sessions.insert_refresh_token(
            connection,
            token_hash=hash_refresh_token(refresh),
            session_id=session_id,
            now=now,
            expires_at=refresh_expires_at,
        )
        access, access_expires_at = self._access.issue(customer_id, session_id, device_id, now)
        return TokenGrant(
            access_token=access,
            access_token_expires_at=access_expires_at,
            access_token_lifetime_seconds=int(self._policy.access_token_ttl.total_seconds()),
            refresh_token=refresh,
            refresh_token_expires_at=refresh_expires_at,
            customer_id=customer_id,
            session_id=session_id,
            new_customer=new_customer,
            pin_status=pin_status,
        )

    def _code_hash(self, challenge_id: uuid.UUID, code: str) -> str:
        return hmac.new(self._otp_key, challenge_id.bytes + code.encode(), hashlib.sha256).hexdigest()


def _pin_status(pin_verified: bool, pin_set: bool) -> PinStatus:
    if pin_verified:
        return PinStatus.VERIFIED
    return PinStatus.CHECK_REQUIRED if pin_set else PinStatus.SET_REQUIRED
