"""A logging filter that masks card numbers, ID numbers, phone numbers and emails in every
log line (privacy by default: logs never carry full card or ID numbers)."""
from __future__ import annotations

import logging

from voicebot.compliance.redact import redact


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
