"""Compliance: pure rules over text and call events (redaction, calling windows, caps).

Pure: no I/O, no asyncio. ``redact`` masks personal data before it reaches logs and screens.
"""
