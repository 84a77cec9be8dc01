"""The example peer configs parse, point at our routes, and esl_handoff.py speaks ESL."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET

from tests.conftest import ROOT, scaled

EXAMPLES = ROOT / "examples"


def test_twiml_connects_a_stream_then_dials_for_the_handoff() -> None:
    root = ET.parse(EXAMPLES / "twilio" / "connect-stream.xml").getroot()
    assert root.tag == "Response"
    verbs = [child.tag for child in root]
    assert verbs.index("Connect") < verbs.index("Dial")
    stream = root.find("Connect/Stream")
    assert stream is not None
    url = urllib.parse.urlsplit(stream.get("url", ""))
    assert url.scheme == "wss" and url.path == "/twilio"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert {"lang", "account_id", "name", "amount_due", "due_date"} <= set(params)


def test_asterisk_and_freeswitch_configs_use_our_routes() -> None:
    ext = (EXAMPLES / "asterisk" / "extensions.conf").read_text()
    assert "Dial(WebSocket/voicebot/c(ulaw)" in ext and ",,g)" in ext and "Queue(" in ext
    assert "AudioSocket(${UUID()}," in ext and "c(slin16)" in ext
    client = (EXAMPLES / "asterisk" / "websocket_client.conf").read_text()
    assert "[voicebot]" in client and "/asterisk" in client and "protocols = media" in client
    root = ET.parse(EXAMPLES / "freeswitch" / "dialplan.xml").getroot()
    actions = [a.get("data", "") for a in root.iter("action")]
    forks = [a for a in actions if "uuid_audio_fork" in a]
    assert any("/audiofork" in a and " mono 8k " in a for a in forks)
    assert any("channels=2" in a and " stereo 8k " in a for a in forks)
    for a in forks:  # the metadata must be JSON once FreeSWITCH has expanded it
        meta = a[a.index(' {"') + 1:].replace("${uuid}", "u").replace("${caller_id_number}", "1")
        assert isinstance(json.loads(meta), dict) and "'" not in meta and "\\" not in meta


def _event(subclass: str, uuid: str, data: dict[str, object]) -> bytes:
    body = json.dumps(data)
    headers = (f"Event-Name: CUSTOM\nEvent-Subclass: {urllib.parse.quote(subclass)}\n"
               f"Unique-ID: {uuid}\nContent-Length: {len(body.encode())}\n\n{body}")
    return f"Content-Length: {len(headers.encode())}\nContent-Type: text/event-plain\n\n".encode() + headers.encode()


def test_esl_handoff_plays_files_transfers_and_hangs_up() -> None:
    """A fake FreeSWITCH event socket on 127.0.0.1: the script authenticates, subscribes, and
    answers each mod_audio_fork event with the right API command."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received: list[str] = []

    def fake_freeswitch() -> None:
        conn, _ = listener.accept()
        buf = b""

        def command() -> str:
            nonlocal buf
            while b"\n\n" not in buf:
                buf += conn.recv(4096)
            line, buf = buf.split(b"\n\n", 1)
            received.append(line.decode())
            return line.decode()

        def reply(text: str) -> None:
            conn.sendall(f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())

        conn.sendall(b"Content-Type: auth/request\n\n")
        reply("+OK accepted" if command() == "auth ClueCon" else "-ERR invalid")
        command()
        reply("+OK event listener enabled plain")
        conn.sendall(_event("mod_audio_fork::play_audio", "u-1", {"audioContentType": "raw", "sampleRate": 8000,
                                                                     "file": "/tmp/u-1_0.tmp.r8"}))
        conn.sendall(_event("mod_audio_fork::kill_audio", "u-1", {}))
        conn.sendall(_event("mod_audio_fork::transfer", "u-1", {"target": "", "reason": "request_agent"}))
        conn.sendall(_event("mod_audio_fork::disconnect", "u-2", {}))
        for _ in range(6):
            command()
        conn.sendall(b"Content-Type: text/disconnect-notice\n\n")
        conn.close()

    thread = threading.Thread(target=fake_freeswitch, daemon=True)
    thread.start()
    proc = subprocess.run([sys.executable, str(EXAMPLES / "freeswitch" / "esl_handoff.py"), "--port", str(port),
                           "--agent-extension", "agent", "--context", "default"],
                          capture_output=True, text=True, timeout=scaled(30))
    thread.join(5)
    listener.close()
    assert proc.returncode == 0, proc.stderr
    assert received == [
        "auth ClueCon",
        "event plain CUSTOM mod_audio_fork::play_audio mod_audio_fork::kill_audio "
        "mod_audio_fork::transfer mod_audio_fork::disconnect",
        "bgapi uuid_broadcast u-1 /tmp/u-1_0.tmp.r8 aleg",
        "bgapi uuid_break u-1 all",
        "bgapi uuid_audio_fork u-1 stop",
        "bgapi uuid_transfer u-1 agent XML default",
        "bgapi uuid_audio_fork u-2 stop",
        "bgapi uuid_kill u-2 NORMAL_CLEARING",
    ]
