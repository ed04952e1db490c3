"""Reading a submitted survey page: a strict ``application/x-www-form-urlencoded`` parser.

Browsers send a form as ASCII text, every other byte percent-encoded as UTF-8. Anything else --
raw bytes above ASCII, a ``%`` not followed by two hex digits, bytes that are not UTF-8 (lone
surrogates and overlong forms included), another content type, a field sent twice -- is
refused with a :class:`FormError` that says what was wrong, instead of being repaired in a way
that would change what the respondent typed. Pure: no web framework, no database.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from surveys.web.flow import short
from winback.errors import WinbackError

#: the content type a survey form is sent as
FORM_TYPE = "application/x-www-form-urlencoded"
#: most fields one submitted page may have (the largest page sends far fewer)
MAX_FIELDS = 1000
#: the hidden fields of every survey form, each sent exactly once
HIDDEN = ("_page", "_shown", "_csrf")

_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class FormError(WinbackError):
    """A request that is not a survey form: the HTTP status, a title and what happened."""

    def __init__(self, status: int, title: str, text: str) -> None:
        self.status = status
        self.title = title
        self.text = text
        super().__init__(f"{status} {title}: {text}")


def _bad(text: str) -> FormError:
    return FormError(
        400,
        "Form not readable",
        f"{text} Please open your survey link again and send the page from there; your earlier "
        "answers are saved.",
    )


def check_content_type(content_type: str | None) -> None:
    """Refuse (415) a body that is not sent as a URL-encoded form in UTF-8.

    Examples
    --------
    >>> check_content_type("application/x-www-form-urlencoded; charset=UTF-8")
    >>> check_content_type("multipart/form-data; boundary=x")
    Traceback (most recent call last):
    ...
    surveys.web.forms.FormError: 415 Not a survey form: ...
    """
    main, _, params = (content_type or "").partition(";")
    main = main.strip().lower()
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if main == FORM_TYPE and charset in ("", "utf-8", "utf8"):
        return
    if not main:
        sent = "this request did not say what it sent (no Content-Type)"
    else:
        sent = f"this request sent {main}" + (f" in {charset}" if charset else "")
    raise FormError(
        415,
        "Not a survey form",
        f"The survey accepts pages sent as a web form ({FORM_TYPE}, UTF-8), but {sent}. "
        "Please open your survey link again and send the page from there; your earlier answers "
        "are saved.",
    )


def parse_form(body: bytes, *, max_fields: int = MAX_FIELDS) -> dict[str, list[str]]:
    """The fields of a URL-encoded form body, strictly: name -> values in the order sent.

    Raises
    ------
    FormError
        400 for bytes that are not a form (see the module docstring), 413 for more than
        ``max_fields`` fields.

    Examples
    --------
    >>> parse_form(b"reason=price&reason=moved&note=%C3%BCber+alles&empty=")
    {'reason': ['price', 'moved'], 'note': ['über alles'], 'empty': ['']}
    >>> parse_form(b"note=%FF")
    Traceback (most recent call last):
    ...
    surveys.web.forms.FormError: 400 Form not readable: Field 'note' is not valid UTF-8 ...
    """
    if not body.isascii():
        raise _bad(
            "The form held characters that were not encoded as a browser encodes a form "
            "(bytes above ASCII must be sent as %XX)."
        )
    pairs = [p for p in body.split(b"&") if p]
    if len(pairs) > max_fields:
        raise FormError(
            413,
            "Too many fields",
            f"The form sent {len(pairs)} fields; a survey page has at most {max_fields}. "
            "Please open your survey link again and send the page from there.",
        )
    out: dict[str, list[str]] = {}
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        name = _decode(raw_name, None)
        out.setdefault(name, []).append(_decode(raw_value, name))
    return out


def _decode(raw: bytes, name: str | None) -> str:
    what = "A field name" if name is None else f"Field {short(name)}"
    bad = _BAD_PERCENT.search(raw)
    if bad:
        at = raw[bad.start() : bad.start() + 3].decode("ascii")
        raise _bad(f"{what} has a broken %-escape ({at!r}: % must be followed by two hex digits).")
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(
            f"{what} is not valid UTF-8 (byte {exc.start + 1} of the decoded text: {exc.reason})."
        ) from None


def hidden_fields(form: dict[str, list[str]]) -> tuple[str, str, str]:
    """The page, time shown and signature of a form; each must be sent exactly once.

    Fields starting with ``_`` other than these are refused: the survey's pages send no others.

    Examples
    --------
    >>> hidden_fields({"_page": ["screener"], "_shown": ["1.0"], "_csrf": ["ab"], "q": ["1"]})
    ('screener', '1.0', 'ab')
    """
    twice = [short(k) for k in HIDDEN if len(form.get(k, [])) > 1]
    if twice:
        raise _bad(f"The form sent {', '.join(twice)} more than once.")
    other = sorted(k for k in form if k.startswith("_") and k not in HIDDEN)
    if other:
        listed = ", ".join(short(k) for k in other[:5])
        more = f" and {len(other) - 5} more" if len(other) > 5 else ""
        raise _bad(f"The form sent fields the survey does not use: {listed}{more}.")
    page, shown, csrf = ((form.get(k) or [""])[0] for k in HIDDEN)
    return page, shown, csrf
