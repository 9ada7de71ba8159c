"""The one lock around espeak-ng: the C library keeps a single global state (voice, buffers) per process."""

from __future__ import annotations

import threading

# Every call into espeak-ng (piper's phonemizer, Kokoro's English front end) holds this, so lines
# rendered by parallel workers never interleave inside it.
ESPEAK_LOCK = threading.Lock()
