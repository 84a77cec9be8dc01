"""The agent dashboard: live calls, transcripts, hand-off alerts, replay. Static assets are
plain HTML/CSS/ES modules shipped in the package (no build step)."""
