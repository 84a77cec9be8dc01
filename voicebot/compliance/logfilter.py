"""A logging filter that masks card numbers, ID numbers, phone numbers and emails in every
log line (privacy by default: logs never carry full card or ID numbers), and credentials
(token query parameters, Authorization and X-Twilio-Signature headers)."""
from __future__ import annotations

import logging
import re

from voicebot.compliance.redact import redact

# Credentials that libraries may log at debug level (request lines, headers).
_SECRETS = re.compile(r"(?i)(token=)[^&\s\"']+|(authorization:\s*\w+\s+)\S+|(x-twilio-signature:\s*)\S+")


def mask_secrets(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "***", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        masked = mask_secrets(redact(message))
        if masked != message:
            record.msg, record.args = masked, None
        return True
