"""Single sign-on: map an identity from the OpenID Connect provider to a Strata user.

Streamlit's ``st.login`` does the OIDC flow when ``.streamlit/secrets.toml`` has an
``[auth]`` section; the identity's claims arrive here. Only a verified e-mail that an
admin gave an active user maps to that user and role; anything else gets no access.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, func, select

from data_access.auth import UserInfo, user_info
from data_access.schema import User


def identity_email(claims: Mapping[str, object]) -> str | None:
    """The identity's e-mail in lower case, or None when missing or not verified."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    if claims.get("email_verified") is False:
        return None
    return email.strip().lower()


def map_identity(conn: Connection, claims: Mapping[str, object]) -> UserInfo | None:
    """The active user whose e-mail is the identity's verified e-mail, or None."""
    email = identity_email(claims)
    if email is None:
        return None
    row = conn.execute(
        select(User.__table__).where(func.lower(User.email) == email, User.active.is_(True))
    ).one_or_none()
    return user_info(row) if row else None
