"""Build upstream models with every `torch.load` restricted to weights, never unpickled code.

The in-process engines (IndexTTS2, CosyVoice, F5-TTS) load their checkpoints inside upstream code
that dubber does not control. Some of it calls `torch.load` without `weights_only=True` (IndexTTS2;
CosyVoice checkouts before December 2025), which on torch before 2.6 unpickles arbitrary objects,
so a tampered .pt or .pth file would run code. `weights_only_loads` sets torch's own switch,
TORCH_FORCE_WEIGHTS_ONLY_LOAD=1, which torch reads at every `torch.load` call (documented from
torch 2.4; current torch applies it even where a call site passes `weights_only=False`), and puts
the environment back afterwards.

What it cannot cover: CosyVoice builds its model from the folder's cosyvoice2.yaml/cosyvoice3.yaml
with hyperpyyaml, whose `!new:` and `!apply:` tags construct and call any Python object the file
names, so a CosyVoice model folder must come from a source you trust.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
FORCE_NO_WEIGHTS_ONLY = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"  # torch refuses every load when both are set


@contextmanager
def weights_only_loads() -> Iterator[None]:
    """Make every `torch.load` inside take weights only, whatever its call site asks for."""
    before = {name: os.environ.get(name) for name in (FORCE_WEIGHTS_ONLY, FORCE_NO_WEIGHTS_ONLY)}
    os.environ[FORCE_WEIGHTS_ONLY] = "1"
    os.environ.pop(FORCE_NO_WEIGHTS_ONLY, None)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
