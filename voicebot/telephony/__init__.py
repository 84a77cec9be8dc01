"""Pure, sans-I/O telephony adapters: peer wire frames in, ``InboundEvent``s out;
``OutboundCommand``s in, wire messages out. See ``base`` for the contract and ``pacing`` for
the outbound release clock. No module here imports asyncio, websockets, socket or vosk.
"""
from __future__ import annotations

from voicebot.telephony.asterisk import AsteriskWsAdapter
from voicebot.telephony.audiofork import AudioForkAdapter
from voicebot.telephony.audiosocket import AudioSocketAdapter
from voicebot.telephony.base import UNPACED_LEAD_MS, Adapter
from voicebot.telephony.pacing import Pacer
from voicebot.telephony.softphone import SoftphoneAdapter
from voicebot.telephony.twilio import TwilioAdapter
from voicebot.telephony.voskserver import VoskProtocolAdapter, format_alternatives, format_final, format_partial

__all__ = [
    "Adapter",
    "AsteriskWsAdapter",
    "AudioForkAdapter",
    "AudioSocketAdapter",
    "Pacer",
    "SoftphoneAdapter",
    "TwilioAdapter",
    "UNPACED_LEAD_MS",
    "VoskProtocolAdapter",
    "format_alternatives",
    "format_final",
    "format_partial",
]
