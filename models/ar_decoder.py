"""Decode exactly N acoustic tokens from an autoregressive model: dubber's duration control for AR TTS.

Cloning engines such as IndexTTS2 speak through a GPT that emits discrete acoustic tokens at a known
rate R (tokens per second). To fit a line to its slot, dubber drives the model one step at a time and
emits exactly N = round(target_ms * R / 1000) tokens: end-of-sequence (EOS) is masked before N and
forced at N. The rules, each unit-tested:

1. Each step masks EOS and the caller's banned ids (their logits become -inf), then applies the
   repetition penalty, the temperature, top-k and top-p, in that order (the Hugging Face order).
2. Temperature 0 is greedy; otherwise one uniform draw per step from `np.random.default_rng(seed)`,
   so the same inputs and seed give the same tokens, and a longer N only appends to a shorter one.
3. Every step also asks whether the model, left free, would have stopped (EOS the argmax, or EOS
   drawn by that step's uniform under the distribution with EOS allowed). Those steps are counted:
   they say how far the line was stretched past the model's natural length.
4. Until the model first wants to stop, the tokens are the ones free sampling (EOS allowed, first in
   the cumulative order) would draw with the same uniforms, so stretching a line keeps its natural
   beginning.

Models driven by a Hugging Face-style `generate` loop, which samples by itself and only lets the
caller edit the scores, take `ExactLengthProcessor` instead: rule 1's masking, and EOS forced at N.

Exact N suits models trained to meet a token count. A model without length conditioning (such as
the released IndexTTS-2 GPT) is cut short when N is below its natural length, and pads or rambles
when N is above it; for such models the length is better set after the AR stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from typing import Any, Protocol

import numpy as np

from dubber.errors import SynthesisError, UsageError


class StepFunction(Protocol):
    """One forward step of an autoregressive model.

    Called with every token so far (the prompt, then what was generated; a read-only int64 array) and
    the state the previous call returned (None on the first call). Returns the logits for the next
    token (a 1-D float array over the vocabulary) and the new state, which the decoder threads through
    untouched. A model with a KV cache feeds only the tokens its cache has not seen. For an ONNX export
    of a GPT (input ids + past key/values -> logits + present key/values)::

        class OnnxGptStep:
            def __init__(self, session, n_layers, empty_past):
                self.session, self.n_layers, self.empty_past = session, n_layers, empty_past

            def __call__(self, tokens, state):
                seen, past = state if state is not None else (0, self.empty_past)
                feed = {"input_ids": tokens[None, seen:], **past}
                logits, *present = self.session.run(None, feed)
                names = [f"past_key_values.{i}.{kv}" for i in range(self.n_layers) for kv in ("key", "value")]
                return logits[0, -1], (len(tokens), dict(zip(names, present)))
    """

    def __call__(self, tokens: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """Return the next token's logits and the new state."""
        ...


@dataclass(frozen=True)
class SamplingConfig:
    """How each token is drawn; the defaults sample the model's distribution unchanged."""

    temperature: float = 1.0  # 0 is greedy
    top_k: int = 0  # 0 keeps every token
    top_p: float = 1.0  # 1 keeps every token
    repetition_penalty: float = 1.0  # 1 is off; > 1 discourages tokens already generated
    seed: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise UsageError(f"temperature must be 0 or more, got {self.temperature}",
                             temperature=self.temperature)
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise UsageError(f"top_k must be a whole number, 0 or more, got {self.top_k!r}", top_k=self.top_k)
        if not 0 < self.top_p <= 1:
            raise UsageError(f"top_p must be in (0, 1], got {self.top_p}", top_p=self.top_p)
        if not (np.isfinite(self.repetition_penalty) and self.repetition_penalty > 0):
            raise UsageError(f"repetition_penalty must be positive, got {self.repetition_penalty}",
                             repetition_penalty=self.repetition_penalty)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"seed must be a whole number, 0 or more, got {self.seed!r}", seed=self.seed)


@dataclass(frozen=True)
class DecodeResult:
    """The generated tokens and how they relate to where the model wanted to stop."""

    tokens: np.ndarray  # int64: the n_tokens generated tokens, then EOS; the prompt is not included
    early_stops: int  # steps before N at which the model, left free, would have stopped
    natural_length: int | None  # tokens before the first such step; None if it never came before N
    state: Any  # the step function's state after the last call (the forced EOS is not fed back)

    @property
    def codes(self) -> np.ndarray:
        """Return the generated tokens without the final EOS."""
        return self.tokens[:-1]


def decode(step: StepFunction, prompt_tokens: Sequence[int] | np.ndarray, n_tokens: int, eos_id: int,
           config: SamplingConfig, state: Any = None, banned_ids: Iterable[int] = ()) -> DecodeResult:
    """Generate exactly `n_tokens` tokens after the prompt, then EOS; `step` is called n_tokens times."""
    prompt = np.asarray(prompt_tokens, dtype=np.int64).reshape(-1)
    _check_n_tokens(n_tokens)
    if prompt.size == 0:
        raise ValueError("prompt_tokens must hold at least the start token")
    banned = _banned_ids(banned_ids, eos_id)

    buffer = np.empty(prompt.size + n_tokens + 1, dtype=np.int64)
    buffer[:prompt.size] = prompt
    end = prompt.size
    rng = np.random.default_rng(config.seed)
    seen = np.zeros(0, dtype=bool)  # which ids were generated, for the repetition penalty
    early_stops, natural_length = 0, None
    for index in range(n_tokens):
        so_far = buffer[:end]
        so_far.flags.writeable = False  # the step reads the history; it must not rewrite it
        raw, state = step(so_far, state)
        logits = _checked_logits(raw, eos_id, banned, expected=seen.size or None)
        if index == 0:
            seen = np.zeros(logits.size, dtype=bool)
        logits[banned] = -np.inf
        logits = _penalize(logits, seen, config.repetition_penalty)
        token, wants_stop = _choose(logits, eos_id, config, rng)
        if wants_stop:
            early_stops += 1
            if natural_length is None:
                natural_length = index
        buffer[end] = token
        seen[token] = True
        end += 1
    buffer[end] = eos_id
    return DecodeResult(tokens=buffer[prompt.size:end + 1].copy(), early_stops=early_stops,
                        natural_length=natural_length, state=state)


def tokens_for(target_ms: int, token_rate_hz: Real) -> int:
    """Return how many tokens last `target_ms` at `token_rate_hz`, rounded half up, at least 1."""
    if target_ms <= 0:
        raise UsageError(f"target must be positive, got {target_ms} ms", target_ms=target_ms)
    rate = _exact_rate(token_rate_hz)
    num, den = int(target_ms) * rate.numerator, 1000 * rate.denominator
    return max(1, (2 * num + den) // (2 * den))


def ms_for(n_tokens: int, token_rate_hz: Real) -> int:
    """Return how many milliseconds `n_tokens` tokens last at `token_rate_hz`, rounded half up."""
    if n_tokens < 0:
        raise ValueError(f"n_tokens must be 0 or more, got {n_tokens}")
    rate = _exact_rate(token_rate_hz)
    num, den = 1000 * int(n_tokens) * rate.denominator, rate.numerator
    return (2 * num + den) // (2 * den)


def _exact_rate(token_rate_hz: Real) -> Fraction:
    # Through str, so 21.5 is 43/2 and not the binary float's nearest fraction.
    rate = Fraction(str(token_rate_hz)) if isinstance(token_rate_hz, float) else Fraction(token_rate_hz)
    if rate <= 0:
        raise ValueError(f"token rate must be positive, got {token_rate_hz}")
    return rate


class ExactLengthProcessor:
    """A Hugging Face-style logits processor: exactly `n_tokens` new tokens, then EOS.

    Called as `processor(input_ids, scores) -> scores` once per step, with every row's tokens so far
    (shape (rows, length)) and the next token's scores (shape (rows, vocabulary)), numpy arrays or
    torch tensors alike: it only indexes them. Before N it masks EOS and the banned ids, as `decode`
    does; from N on only EOS is left, so the loop stops there. The loop keeps its own sampling.
    One instance serves one generation: without `prompt_length`, the first call's length is taken
    as the prompt's.
    """

    def __init__(self, n_tokens: int, eos_id: int, banned_ids: Iterable[int] = (),
                 prompt_length: int | None = None) -> None:
        _check_n_tokens(n_tokens)
        if prompt_length is not None and prompt_length < 0:
            raise ValueError(f"prompt_length must be 0 or more, got {prompt_length}")
        self.n_tokens, self.eos_id, self.prompt_length = int(n_tokens), int(eos_id), prompt_length
        self.banned = _banned_ids(banned_ids, eos_id)

    @classmethod
    def for_target(cls, target_ms: int, token_rate_hz: Real, eos_id: int, banned_ids: Iterable[int] = (),
                   prompt_length: int | None = None) -> ExactLengthProcessor:
        """Return a processor for the tokens that last `target_ms` at `token_rate_hz` (see `tokens_for`)."""
        return cls(tokens_for(target_ms, token_rate_hz), eos_id, banned_ids, prompt_length)

    def generated(self, input_ids: Any) -> int:
        """Return how many tokens the rows hold beyond the prompt."""
        length = int(input_ids.shape[-1])
        if self.prompt_length is None:
            self.prompt_length = length
        if length < self.prompt_length:
            raise ValueError(f"the rows hold {length} tokens, fewer than the prompt's {self.prompt_length}")
        return length - self.prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Return a copy of `scores` with EOS masked before N and forced from N on."""
        made = self.generated(input_ids)
        _check_vocabulary(self.eos_id, self.banned, int(scores.shape[-1]))
        out = scores.clone() if hasattr(scores, "clone") else scores.copy()  # torch, then numpy
        if made >= self.n_tokens:
            out[:, :] = -np.inf
            out[:, self.eos_id] = 0.0
        else:
            out[:, self.eos_id] = -np.inf
            if self.banned.size:
                out[:, self.banned.tolist()] = -np.inf  # a list indexes numpy and torch alike
        return out


def _check_n_tokens(n_tokens: int) -> None:
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a whole number, 1 or more, got {n_tokens!r}")


def _banned_ids(banned_ids: Iterable[int], eos_id: int) -> np.ndarray:
    banned = np.unique(np.asarray(list(banned_ids), dtype=np.int64))
    if eos_id in banned:
        raise ValueError(f"eos_id {eos_id} cannot also be banned")
    return banned


def _check_vocabulary(eos_id: int, banned: np.ndarray, size: int) -> None:
    if not 0 <= eos_id < size:
        raise ValueError(f"eos_id {eos_id} is outside the vocabulary of {size}")
    if banned.size and not (0 <= banned[0] and banned[-1] < size):
        raise ValueError(f"banned ids must lie in the vocabulary of {size}")


def _checked_logits(raw: np.ndarray, eos_id: int, banned: np.ndarray, expected: int | None) -> np.ndarray:
    logits = np.array(raw, dtype=np.float64)  # a copy: masking must not touch the model's buffers
    if logits.ndim != 1:
        raise ValueError(f"the step must return 1-D logits, got shape {logits.shape}")
    if expected is not None and logits.size != expected:
        raise ValueError(f"the vocabulary changed size from {expected} to {logits.size}")
    _check_vocabulary(eos_id, banned, logits.size)
    if np.isnan(logits).any() or np.isposinf(logits).any():
        raise SynthesisError("the model returned NaN or infinite logits")
    return logits


def _penalize(logits: np.ndarray, seen: np.ndarray, penalty: float) -> np.ndarray:
    # CTRL convention: a repeated token's logit moves toward less likely whatever its sign.
    if penalty == 1.0 or not seen.any():
        return logits
    logits[seen] = np.where(logits[seen] > 0, logits[seen] / penalty, logits[seen] * penalty)
    return logits


def _choose(logits: np.ndarray, eos_id: int, config: SamplingConfig,
            rng: np.random.Generator) -> tuple[int, bool]:
    """Return the next non-EOS token and whether the model, left free, would have stopped here."""
    masked = logits.copy()
    masked[eos_id] = -np.inf
    if not np.isfinite(masked).any():
        raise SynthesisError("every token but EOS is masked: nothing can be generated")
    if config.temperature == 0:
        return int(np.argmax(masked)), int(np.argmax(logits)) == eos_id
    free = _filtered_probs(logits, config)
    u = rng.random()
    p_stop = free[eos_id]
    if u < p_stop:
        # The model stops; draw from the EOS-masked distribution with u rescaled to stay uniform.
        return _inverse_cdf(_filtered_probs(masked, config), u / p_stop), True
    free[eos_id] = 0.0
    # Given no stop, u is uniform above p_stop: the free draw, restricted to non-EOS tokens.
    return _inverse_cdf(free, (u - p_stop) / (1.0 - p_stop)), False


def _filtered_probs(logits: np.ndarray, config: SamplingConfig) -> np.ndarray:
    """Return the sampling distribution after temperature, top-k and top-p."""
    scaled = logits / config.temperature
    order = np.argsort(-scaled, kind="stable")  # ties keep the lower id, as argmax does
    allowed = np.isfinite(scaled)
    if 0 < config.top_k < scaled.size:
        allowed[order[config.top_k:]] = False
    probs = np.where(allowed, np.exp(scaled - scaled[order[0]]), 0.0)
    probs /= probs.sum()
    if config.top_p < 1.0:
        cumulative = np.cumsum(probs[order])
        keep = min(int(np.searchsorted(cumulative, config.top_p, side="left")) + 1, scaled.size)
        probs[order[keep:]] = 0.0  # the smallest prefix reaching top_p: the nucleus
        probs /= probs.sum()
    return probs


def _inverse_cdf(probs: np.ndarray, u: float) -> int:
    cumulative = np.cumsum(probs)
    index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
    # Rounding can push u past the last bin; fall back to the last token that can be drawn.
    return index if index < probs.size and probs[index] > 0 else int(np.flatnonzero(probs)[-1])
