"""Answering-machine beep detection: a steady pure tone (typically 400-2000 Hz) lasting at
least ``min_ms``. Pure numpy, per 20 ms frame: a frame is "tonal" when one narrow band holds
most of its energy and the frame is loud enough; a beep is ``min_ms`` of consecutive tonal
frames at (nearly) the same frequency."""
from __future__ import annotations

import numpy as np



class BeepDetector:
    def __init__(self, rate_hz: int, min_ms: int = 160, low_hz: float = 350.0, high_hz: float = 2500.0,
                 min_dbfs: float = -40.0, purity: float = 0.6) -> None:
        self.rate_hz = rate_hz
        self.frame = rate_hz // 50
        self.need = max(1, min_ms // 20)
        self.low_hz, self.high_hz = low_hz, high_hz
        self.min_dbfs = min_dbfs
        self.purity = purity
        self._window = np.hanning(self.frame).astype(np.float32)
        self._freqs = np.fft.rfftfreq(self.frame, 1 / rate_hz)
        self._buf = np.zeros(0, dtype=np.int16)
        self._run = 0
        self._run_hz = 0.0
        self.samples = 0

    def skip(self, n_samples: int) -> None:
        """Let ``n_samples`` (plus any partial frame held) pass unexamined: offsets of later
        hits still count every sample, and a tone run in progress is forgotten."""
        self.samples += len(self._buf) + n_samples
        self._buf = np.zeros(0, dtype=np.int16)
        self._run = 0

    def process(self, pcm: np.ndarray) -> list[int]:
        """Feed int16 samples; returns the sample offsets at which a beep was confirmed."""
        hits: list[int] = []
        self._buf = np.concatenate([self._buf, pcm.astype(np.int16, copy=False)])
        n = len(self._buf) // self.frame
        if n == 0:
            return hits
        frames = self._buf[: n * self.frame].reshape(n, self.frame).astype(np.float32)
        self._buf = self._buf[n * self.frame:]
        spectra = np.abs(np.fft.rfft(frames * self._window, axis=1)) ** 2
        freqs = self._freqs
        peak = spectra.argmax(axis=1)
        total = spectra.sum(axis=1) + 1e-9
        # Energy in the peak bin and its two neighbours (Hann main lobe).
        idx = np.clip(peak[:, None] + np.arange(-1, 2), 0, spectra.shape[1] - 1)
        band = np.take_along_axis(spectra, idx, axis=1).sum(axis=1)
        loud = 10 * np.log10(np.mean(frames ** 2, axis=1) / 32768.0**2 + 1e-12) >= self.min_dbfs
        for i in range(n):
            hz = float(freqs[peak[i]])
            tonal = bool(band[i] / total[i] >= self.purity and self.low_hz <= hz <= self.high_hz and loud[i])
            if tonal and (self._run == 0 or abs(hz - self._run_hz) <= 2 * self.rate_hz / self.frame):
                self._run += 1
                self._run_hz = hz
                if self._run == self.need:
                    hits.append(self.samples + (i + 1) * self.frame)
            else:
                self._run = 1 if tonal else 0
                self._run_hz = hz
        self.samples += n * self.frame
        return hits
