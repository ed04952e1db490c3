"""What reading and writing a Qualtrics export share: its metadata columns (with the personal
data never copied), how the questionnaire's answers look in it (choice numbers and texts), the
choice codes of the alternatives, and the exclusion reason of responses not finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from winback.study import Study

if TYPE_CHECKING:
    from surveys.questionnaire import Questionnaire


#: Qualtrics metadata columns: (name, row-2 text, row-3 ImportId).
METADATA: tuple[tuple[str, str, str], ...] = (
    ("StartDate", "Start Date", "startDate"),
    ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"),
    ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"),
    ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"),
    ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
)
#: Metadata never copied anywhere (personal data).
PERSONAL_COLUMNS = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
)
DURATION_COLUMN = "Duration (in seconds)"


_LABELS = {name: label for name, label, _ in METADATA} | {"ResponseID": "ResponseID"}
_METADATA_NAMES = frozenset(_LABELS)


class _Recode:
    """How one questionnaire question's answers look in a Qualtrics export."""

    def __init__(self, q: Any) -> None:
        self.numeric: dict[str, str] = {}  # choice number k -> winback code
        self.text: dict[str, str] = {}  # choice text (casefolded) -> winback code
        self.out_numeric: dict[str, str] = {}  # winback code -> choice number
        self.out_text: dict[str, str] = {}  # winback code -> choice text
        for k, code in enumerate(q.codes, start=1):
            c = str(code)
            if q.type == "scale":  # written by surveys.fielding as "0 - Not at all", "1", ...
                lab = q.label(code)
                shown = f"{c} - {lab}" if lab != c else c
                self.text[c.casefold()] = c
            else:
                shown = q.label(code)
            self.numeric[str(k)] = c
            self.text[shown.strip().casefold()] = c
            self.out_numeric[c] = str(k)
            self.out_text[c] = shown


def _recodes(
    questionnaire: Questionnaire | None,
) -> tuple[dict[str, _Recode], dict[str, tuple[str, str, str]]]:
    """Per question column its recode; multi-select file columns -> (id, contract column, text)."""
    if questionnaire is None:
        return {}, {}
    single: dict[str, _Recode] = {}
    multi: dict[str, tuple[str, str, str]] = {}
    for q in questionnaire:
        if q.type in ("single", "yes_no", "scale"):
            single[q.id] = _Recode(q)
        elif q.type == "multi":
            for k, (col, (_, lab)) in enumerate(zip(q.columns(), q.options, strict=True), 1):
                multi[f"{q.id}_{k}"] = (q.id, col, lab)
    return single, multi


def _alt_codes(study: Study) -> dict[int, str]:
    n_alts = study.design.alternatives
    codes = {j: str(j) for j in range(1, n_alts + 1)}
    nxt = n_alts + 1
    if study.status_quo is not None:
        codes[nxt] = "status_quo"
        nxt += 1
    if study.none_option:
        codes[nxt] = "none"
    return codes


UNFINISHED_REASON = "did not finish the survey (Qualtrics Finished = 0)"
