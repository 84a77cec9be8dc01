"""The I/O shell: the only code that owns sockets (websocket + HTTP on one port, AudioSocket TCP)."""
