"""The account a call is about: who we call, for which lender, how much and since when.

Accounts arrive as JSON files (``voicebot chat --account``) or as the string-valued custom
parameters of a call (Twilio ``customParameters``), so every field may be given as a string.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from voicebot.errors import ConfigError

_REQUIRED = ("account_id", "name", "lender", "amount_due", "currency", "due_date", "callback_number")
_OPTIONAL = ("timezone", "phone", "lang")


class AccountError(ConfigError):
    """Account data is missing a field or has a value of the wrong form (names the field)."""


@dataclass(frozen=True)
class Account:
    """One borrower account. ``amount_due`` is in major units of ``currency`` (ISO 4217);
    ``timezone`` is an IANA name (borrower-local calling hours); ``extra`` keeps any other
    string fields (e.g. ``agent_name`` to override the script's bot name)."""

    account_id: str
    name: str
    lender: str
    amount_due: float
    currency: str
    due_date: date
    timezone: str
    phone: str
    callback_number: str
    lang: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> "Account":
        """Build from a mapping whose values may all be strings. Unknown keys go to ``extra``.
        Raises AccountError naming the missing or malformed field."""
        missing = [k for k in _REQUIRED if str(data.get(k, "")).strip() == ""]
        if missing:
            raise AccountError(f"account is missing {', '.join(missing)}")
        try:
            amount = float(str(data["amount_due"]).replace(",", ""))
        except ValueError:
            raise AccountError(f"account field amount_due: expected a number, got {data['amount_due']!r}") from None
        if amount < 0 or amount != amount:
            raise AccountError(f"account field amount_due: expected >= 0, got {amount}")
        raw_due = data["due_date"]
        if isinstance(raw_due, date):
            due = raw_due
        else:
            try:
                due = date.fromisoformat(str(raw_due).strip())
            except ValueError:
                raise AccountError(f"account field due_date: expected YYYY-MM-DD, got {raw_due!r}") from None
        lang = str(data.get("lang", "") or "")
        if lang not in ("", "en", "zh", "ko"):
            raise AccountError(f"account field lang: expected en, zh or ko, got {lang!r}")
        known = set(_REQUIRED) | set(_OPTIONAL)
        extra = {str(k): str(v) for k, v in data.items() if k not in known}
        return cls(
            account_id=str(data["account_id"]).strip(),
            name=str(data["name"]).strip(),
            lender=str(data["lender"]).strip(),
            amount_due=amount,
            currency=str(data["currency"]).strip().upper(),
            due_date=due,
            timezone=str(data.get("timezone", "") or "UTC"),
            phone=str(data.get("phone", "") or ""),
            callback_number=str(data["callback_number"]).strip(),
            lang=lang,
            extra=MappingProxyType(extra),
        )

    def to_json_obj(self) -> dict[str, object]:
        return {
            "account_id": self.account_id, "name": self.name, "lender": self.lender,
            "amount_due": self.amount_due, "currency": self.currency,
            "due_date": self.due_date.isoformat(), "timezone": self.timezone, "phone": self.phone,
            "callback_number": self.callback_number, "lang": self.lang, **self.extra,
        }


def load_account(path: str | Path) -> Account:
    """Read one account from a JSON object file. Raises AccountError (file named) when the
    file is missing, not JSON, or lacks fields."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccountError(f"{p}: no such account file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AccountError(f"{p}: not a JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise AccountError(f"{p}: expected a JSON object")
    try:
        return Account.from_mapping(data)
    except AccountError as exc:
        raise AccountError(f"{p}: {exc}") from None
