"""A tiny, randomly initialised F5-TTS for running the real `f5-tts` code path on CPU without weights.

The builder writes what the real loaders read: a character vocabulary, a checkpoint of a small DiT
(dim 64, depth 2) inside F5's `CFM`, and a Vocos folder (config.yaml + pytorch_model.bin) with a
small random backbone. `f5_tts.infer.utils_infer.load_model` and `load_vocoder` then load them as
they would the released weights. Only `F5TTS.__init__`'s choice of architecture (read from the
shipped config by model name) is bypassed; `F5TTS.infer`, F5's reference preprocessing, chunking,
`infer_batch_process`, the flow-matching sampler and the vocoder all run for real. The speech is noise,
but its length obeys `fix_duration` exactly as with real weights.

Needs torch, torchaudio (one whose `load` works on this machine) and f5-tts; imported only by the
opt-in engine test.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from dubber.plugin.f5_tts import F5TtsEngine

TINY_ARCH = dict(dim=64, depth=2, heads=2, dim_head=32, ff_mult=2, text_dim=32, text_mask_padding=True,
                 qk_norm=None, conv_layers=1, pe_attn_head=None)
TINY_VOCOS = """\
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args: {sample_rate: 24000, n_fft: 1024, hop_length: 256, n_mels: 100, padding: center}
backbone:
  class_path: vocos.models.VocosBackbone
  init_args: {input_channels: 100, dim: 32, intermediate_dim: 64, num_layers: 1}
head:
  class_path: vocos.heads.ISTFTHead
  init_args: {dim: 32, n_fft: 1024, hop_length: 256, padding: same}
"""
MEL = dict(n_fft=1024, hop_length=256, win_length=1024, n_mel_channels=100, target_sample_rate=24000,
           mel_spec_type="vocos")


def write_tiny_weights(folder: Path, seed: int = 0) -> tuple[Path, Path, Path]:
    """Write a random tiny checkpoint, vocabulary and Vocos folder; return (ckpt, vocoder_dir, vocab)."""
    import torch
    from safetensors.torch import save_file
    from vocos import Vocos

    from f5_tts.model import CFM, DiT

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    symbols = [" ", *string.ascii_letters, *string.digits, *".,;:!?'-\"", "，", "。"]
    vocab.write_text("".join(f"{s}\n" for s in symbols), encoding="utf-8")  # space first: 0 is "unknown"
    torch.manual_seed(seed)
    model = CFM(transformer=DiT(**TINY_ARCH, text_num_embeds=len(symbols), mel_dim=100), mel_spec_kwargs=MEL,
                vocab_char_map={s: i for i, s in enumerate(symbols)})
    ckpt = folder / "model_tiny.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(ckpt))  # an EMA-only export
    vocoder_dir = folder / "vocos"
    vocoder_dir.mkdir(exist_ok=True)
    (vocoder_dir / "config.yaml").write_text(TINY_VOCOS)
    torch.save(Vocos.from_hparams(str(vocoder_dir / "config.yaml")).state_dict(), vocoder_dir / "pytorch_model.bin")
    return ckpt, vocoder_dir, vocab


class TinyF5Engine(F5TtsEngine):
    """The F5-TTS adapter with the model built from TINY_ARCH instead of a shipped config."""

    def _load(self) -> Any:
        if self._tts is None:
            from f5_tts.api import F5TTS
            from f5_tts.infer.utils_infer import load_model, load_vocoder
            from f5_tts.model import DiT

            tts = F5TTS.__new__(F5TTS)  # what __init__ sets, with our architecture and no download
            tts.mel_spec_type, tts.target_sample_rate = "vocos", 24000
            tts.ode_method, tts.use_ema, tts.device = self.ode_method, self.use_ema, self.device or "cpu"
            tts.vocoder = load_vocoder("vocos", True, str(self.vocoder_dir), tts.device)
            tts.ema_model = load_model(DiT, TINY_ARCH, str(self.ckpt_path), "vocos", str(self.vocab_path),
                                       self.ode_method, self.use_ema, tts.device)
            self._tts = tts
        return self._tts


def tiny_engine(folder: Path, nfe_step: int = 2) -> TinyF5Engine:
    """Build the adapter over a freshly written tiny random model, on CPU."""
    ckpt, vocoder_dir, vocab = write_tiny_weights(folder)
    return TinyF5Engine(ckpt, vocoder_dir, vocab_path=vocab, device="cpu", nfe_step=nfe_step)
