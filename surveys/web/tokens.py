"""Personal tokens, signed forms (CSRF protection) and the admin secret check.

A token is the respondent's personal link: 128 random bits, URL-safe. Every form carries a
signature ``HMAC-SHA256(form_secret, token | page | shown_at)``; a POST without a valid signature
for that token and page is refused, so another site cannot submit answers in a respondent's name
and the time a page was shown cannot be forged. All comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

#: what :func:`new_token` makes: 22 URL-safe characters (16 random bytes)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_token() -> str:
    """A new personal token (16 random bytes, URL-safe text).

    Examples
    --------
    >>> len(new_token())
    22
    """
    while True:  # never a leading "-": a spreadsheet would take the token for a formula
        token = secrets.token_urlsafe(16)
        if token[0] != "-":
            return token


def new_secret() -> str:
    """A new server secret for signing forms (32 random bytes, hex).

    Examples
    --------
    >>> len(new_secret())
    64
    """
    return secrets.token_hex(32)


def looks_like_token(text: str) -> bool:
    """Whether ``text`` has the shape of a token (checked before any database look-up).

    Examples
    --------
    >>> looks_like_token("x" * 22), looks_like_token("<script>")
    (True, False)
    """
    return bool(TOKEN_RE.match(text))


def sign_form(secret: str, token: str, page: str, shown_at: str) -> str:
    """The form signature of one page shown to one respondent at one time.

    Examples
    --------
    >>> sig = sign_form("s3cret", "t" * 22, "screener", "1700000000.0")
    >>> check_form("s3cret", "t" * 22, "screener", "1700000000.0", sig)
    True
    """
    msg = f"{token}|{page}|{shown_at}".encode("utf-8", "surrogatepass")  # any text signs
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def check_form(secret: str, token: str, page: str, shown_at: str, signature: str) -> bool:
    """Whether ``signature`` is the signature of this token, page and time (constant-time).

    Examples
    --------
    >>> check_form("s3cret", "t" * 22, "screener", "1700000000.0", "forged")
    False
    >>> check_form("s3cret", "t" * 22, "screener", "1700000000.0", "é" * 64)  # not ASCII
    False
    """
    if not signature or not signature.isascii():  # a signature is hex; compare_digest needs ASCII
        return False
    expected = sign_form(secret, token, page, shown_at)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))


def check_admin_secret(expected: str | None, given: str | None) -> bool:
    """Whether the admin secret given matches (constant-time); never true without one set.

    Examples
    --------
    >>> check_admin_secret("a-long-secret", "a-long-secret"), check_admin_secret(None, "")
    (True, False)
    """
    if not expected or not given:
        return False
    # bytes: compare_digest refuses non-ASCII text; a header decoded as latin-1 may hold any
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )
