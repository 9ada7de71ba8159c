from fractions import Fraction

import numpy as np
import pytest

from dubber.errors import SynthesisError, UsageError
from dubber.models.ar_decoder import DecodeResult, ExactLengthProcessor, SamplingConfig, decode, ms_for, tokens_for

VOCAB = 32
BOS, EOS = 30, 31  # BOS is a special id the model must never generate
PROMPT = [BOS, 3, 7]
NATURAL = 10  # the bigram model's greedy line has this many tokens


class BigramModel:
    """A bigram language model whose EOS grows likely after NATURAL tokens; its state counts steps."""

    def __init__(self, seed: int = 0) -> None:
        self.table = np.random.default_rng(seed).normal(size=(VOCAB, VOCAB))
        self.table[:, BOS] = 3.0  # tempting, so banning it is tested
        self.calls = 0

    def __call__(self, tokens, state):
        count = 0 if state is None else state
        # The state must come back as returned: it equals the tokens generated so far.
        assert count == len(tokens) - len(PROMPT)
        assert tokens[: len(PROMPT)].tolist() == PROMPT
        self.calls += 1
        logits = self.table[tokens[-1]].copy()
        logits[EOS] = 10.0 * (count - NATURAL) + 8.0  # about -2 before NATURAL, then dominant
        return logits, count + 1


class FixedModel:
    """Logits that ignore the history: the same distribution at every step."""

    def __init__(self, logits) -> None:
        self.logits = np.asarray(logits, dtype=np.float64)

    def __call__(self, tokens, state):
        return self.logits, state


def fixed_probs(probs):
    """Return logits of a fixed model whose distribution (EOS at 0 probability mass) is `probs`."""
    padded = np.full(VOCAB, 1e-12)
    padded[: len(probs)] = probs
    return np.log(padded)


def run(n, config=SamplingConfig(), model=None, banned=(BOS,)) -> DecodeResult:
    return decode(model or BigramModel(), PROMPT, n, EOS, config, banned_ids=banned)


@pytest.mark.parametrize("n", [1, 3, NATURAL, 25, 60])
@pytest.mark.parametrize("config", [
    SamplingConfig(temperature=0), SamplingConfig(temperature=1.0, seed=4),
    SamplingConfig(temperature=0.8, top_k=5, top_p=0.9, repetition_penalty=1.3),
])
def test_exact_length_then_eos(n, config):
    model = BigramModel()
    result = run(n, config, model)
    assert len(result.tokens) == n + 1 and result.tokens.dtype == np.int64
    assert result.tokens[-1] == EOS and EOS not in result.codes
    assert len(result.codes) == n
    assert model.calls == n and result.state == n  # one step per token, state threaded through


def test_greedy_follows_the_argmax_path():
    model = BigramModel()
    expected, last = [], PROMPT[-1]
    for _ in range(25):
        row = model.table[last].copy()
        row[[BOS, EOS]] = -np.inf
        last = int(np.argmax(row))
        expected.append(last)
    assert run(25, SamplingConfig(temperature=0)).codes.tolist() == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_one_is_greedy(seed):
    sampled = run(30, SamplingConfig(temperature=1.0, top_k=1, seed=seed)).tokens
    assert sampled.tolist() == run(30, SamplingConfig(temperature=0)).tokens.tolist()


def test_same_seed_same_tokens_other_seed_other_tokens():
    config = SamplingConfig(temperature=1.0, seed=11)
    assert run(40, config).tokens.tolist() == run(40, config).tokens.tolist()
    other = SamplingConfig(temperature=1.0, seed=12)
    assert run(40, config).tokens.tolist() != run(40, other).tokens.tolist()


def test_a_longer_line_only_appends():
    config = SamplingConfig(temperature=1.0, seed=5)
    assert run(40, config).codes[:15].tolist() == run(15, config).codes.tolist()


def test_top_p_keeps_to_the_nucleus():
    logits = fixed_probs([0.4, 0.3, 0.2, 0.05, 0.05])
    nucleus = run(400, SamplingConfig(temperature=1.0, top_p=0.85, seed=3), FixedModel(logits))
    assert set(nucleus.codes.tolist()) == {0, 1, 2}  # 0.4 + 0.3 + 0.2 is the first sum past 0.85
    everything = run(400, SamplingConfig(temperature=1.0, seed=3), FixedModel(logits))
    assert {3, 4} <= set(everything.codes.tolist())


def test_top_p_nucleus_is_taken_without_eos():
    # EOS holds half the mass; masked out, the nucleus of the rest is {0, 1}.
    logits = fixed_probs([0.25, 0.15, 0.1])
    logits[EOS] = np.log(0.5)
    result = run(300, SamplingConfig(temperature=1.0, top_p=0.7, seed=8), FixedModel(logits))
    assert set(result.codes.tolist()) == {0, 1}
    # Left free, the nucleus is {EOS, 0} (0.5 + 0.25), so EOS would have been drawn 2/3 of the time.
    assert 170 < result.early_stops < 230


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    greedy = SamplingConfig(temperature=0, repetition_penalty=2.0)
    positive = fixed_probs([])
    positive[:3] = [2.0, 1.5, -1.0]
    assert run(3, greedy, FixedModel(positive)).codes.tolist() == [0, 1, 0]  # 2/2 = 1.0 beats 1.5/2
    negative = fixed_probs([])
    negative[:3] = [-1.0, -1.5, -2.5]
    assert run(3, greedy, FixedModel(negative)).codes.tolist() == [0, 1, 0]  # -1*2 = -2 beats -2.5


def test_repetition_penalty_lowers_repeats():
    class Parrot:
        """Loves saying its last token again."""

        def __init__(self):
            self.table = np.random.default_rng(9).normal(size=(VOCAB, VOCAB))

        def __call__(self, tokens, state):
            logits = self.table[tokens[-1]].copy()
            logits[tokens[-1]] += 4.0
            logits[EOS] = -20.0
            return logits, state

    def repeats(penalty):
        codes = run(200, SamplingConfig(temperature=1.0, repetition_penalty=penalty, seed=2), Parrot()).codes
        return int(np.sum(codes[1:] == codes[:-1]))

    assert repeats(1.0) > 100
    assert repeats(3.0) < repeats(1.0) // 2


@pytest.mark.parametrize("config", [SamplingConfig(temperature=0), SamplingConfig(temperature=1.5, seed=1)])
def test_banned_ids_never_appear(config):
    banned = (BOS, 0, 1, 2)
    logits = fixed_probs([])
    logits[list(banned)] = 5.0  # the banned ids are the model's favourites
    result = run(100, config, FixedModel(logits), banned=banned)
    assert not set(result.codes.tolist()) & set(banned)


def test_early_stops_count_how_far_the_line_was_stretched():
    stretched = run(25, SamplingConfig(temperature=0))
    assert stretched.early_stops == 25 - NATURAL and stretched.natural_length == NATURAL
    squeezed = run(NATURAL, SamplingConfig(temperature=0))
    assert squeezed.early_stops == 0 and squeezed.natural_length is None
    sampled = run(40, SamplingConfig(temperature=1.0, seed=6))
    assert sampled.natural_length is not None and sampled.early_stops >= 40 - sampled.natural_length - 2


def test_stretching_keeps_the_natural_beginning():
    # Free sampling (EOS allowed) draws the same tokens, with the same uniforms, until it would stop.
    model, config = BigramModel(), SamplingConfig(temperature=1.0, seed=7)
    rng, last, free = np.random.default_rng(config.seed), PROMPT[-1], []
    for count in range(60):
        logits = model.table[last].copy()
        logits[BOS] = -np.inf
        logits[EOS] = 10.0 * (count - NATURAL) + 8.0
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        u = rng.random()
        if u < probs[EOS]:
            break
        # EOS comes first in the decoder's cumulative order, then the other ids in order.
        last = int(np.searchsorted(np.cumsum(probs[:EOS]), u - probs[EOS], side="right"))
        free.append(last)
    result = run(30, config)
    assert result.natural_length == len(free)
    assert result.codes[: len(free)].tolist() == free


def test_state_passed_in_is_threaded():
    model = BigramModel()
    # Resume as if two tokens had been generated already: the model checks the count it is handed.
    result = decode(model, [*PROMPT, 4, 5], 6, EOS, SamplingConfig(), state=2, banned_ids=[BOS])
    assert result.state == 8


@pytest.mark.parametrize("target_ms,rate,expected", [
    (1000, 25, 25), (1020, 25, 26), (1019, 25, 25), (10, 25, 1), (1, 50, 1),
    (2000, Fraction(22050, 1024), 43), (1000, 21.5, 22), (3000, 12.5, 38),
])
def test_tokens_for_rounds_half_up(target_ms, rate, expected):
    assert tokens_for(target_ms, rate) == expected


def test_ms_for_is_the_inverse():
    assert ms_for(25, 25) == 1000 and ms_for(1, 3) == 333 and ms_for(0, 25) == 0
    for target_ms in range(40, 3000, 37):
        assert abs(ms_for(tokens_for(target_ms, 21.5), 21.5) - target_ms) <= 1000 / 21.5 / 2 + 1


@pytest.mark.parametrize("settings", [
    {"temperature": -0.1}, {"temperature": float("nan")}, {"top_k": -1}, {"top_k": 2.5}, {"top_p": 0.0},
    {"top_p": 1.5}, {"repetition_penalty": 0.0}, {"seed": -1}, {"seed": "x"},
])
def test_bad_settings_are_usage_errors(settings):
    with pytest.raises(UsageError):
        SamplingConfig(**settings)


def test_bad_targets_are_usage_errors():
    with pytest.raises(UsageError):
        tokens_for(0, 25)


@pytest.mark.parametrize("kwargs,message", [
    ({"n_tokens": 0}, "n_tokens"), ({"prompt_tokens": []}, "prompt"), ({"eos_id": 40}, "eos_id"),
    ({"banned_ids": [EOS]}, "banned"), ({"banned_ids": [99]}, "banned"),
])
def test_bad_arguments_are_value_errors(kwargs, message):
    args = {"step": BigramModel(), "prompt_tokens": PROMPT, "n_tokens": 5, "eos_id": EOS,
            "config": SamplingConfig(), **kwargs}
    with pytest.raises(ValueError, match=message):
        decode(**args)


def test_nan_logits_are_a_synthesis_error():
    with pytest.raises(SynthesisError):
        run(3, model=FixedModel(np.full(VOCAB, np.nan)))


def test_step_cannot_rewrite_the_history():
    def vandal(tokens, state):
        tokens[0] = 0
        return np.zeros(VOCAB), state

    with pytest.raises(ValueError):
        run(2, model=vandal)


# -- the Hugging Face-style processor ---------------------------------------------------------

def generate(model, prompt, processor, rows=1, max_new=200, seed=None):
    """A minimal Hugging Face-style loop: the model scores, the processor edits, the loop picks."""
    ids = np.tile(np.asarray(prompt, dtype=np.int64), (rows, 1))
    rng = None if seed is None else np.random.default_rng(seed)
    state = [None] * rows
    for _ in range(max_new):
        scores = np.empty((rows, VOCAB))
        for row in range(rows):
            scores[row], state[row] = model(ids[row], state[row])
        scores = processor(ids, scores)
        if rng is None:
            chosen = scores.argmax(axis=1)
        else:
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            chosen = np.array([rng.choice(VOCAB, p=p) for p in probs])
        ids = np.concatenate([ids, chosen[:, None]], axis=1)
        if np.all(chosen == EOS):
            break
    return ids[:, len(prompt):]


@pytest.mark.parametrize("n", [1, 4, NATURAL, 30])
@pytest.mark.parametrize("seed", [None, 3])
def test_processor_gives_exactly_n_tokens_then_eos(n, seed):
    out = generate(BigramModel(), PROMPT, ExactLengthProcessor(n, EOS, banned_ids=[BOS]), rows=3, seed=seed)
    assert out.shape == (3, n + 1)
    assert np.all(out[:, -1] == EOS)
    assert not np.isin(out[:, :-1], [EOS, BOS]).any()


def test_processor_follows_the_decoders_rules():
    # Greedy under the processor is the decoder's greedy line: the same masking, the same forced end.
    processed = generate(BigramModel(), PROMPT, ExactLengthProcessor(25, EOS, banned_ids=[BOS]))
    assert processed[0].tolist() == run(25, SamplingConfig(temperature=0)).tokens.tolist()


def test_processor_takes_the_prompt_length_from_its_first_call_or_as_given():
    processor = ExactLengthProcessor(2, EOS)
    scores = np.zeros((1, VOCAB))
    assert np.isneginf(processor(np.zeros((1, 5)), scores)[0, EOS])  # 0 made
    assert processor.prompt_length == 5
    assert np.isneginf(processor(np.zeros((1, 6)), scores)[0, EOS])  # 1 made
    forced = processor(np.zeros((1, 7)), scores)  # 2 made: only EOS is left
    assert forced[0, EOS] == 0 and np.isneginf(np.delete(forced[0], EOS)).all()
    given = ExactLengthProcessor(2, EOS, prompt_length=3)
    assert given(np.zeros((1, 5)), scores)[0, EOS] == 0  # the first call already has 2 made
    with pytest.raises(ValueError, match="fewer"):
        given(np.zeros((1, 2)), scores)


def test_processor_leaves_the_callers_scores_alone():
    scores = np.arange(VOCAB, dtype=np.float64)[None]
    ExactLengthProcessor(3, EOS, banned_ids=[0, 1])(np.zeros((1, 4)), scores)
    assert scores[0].tolist() == list(range(VOCAB))


def test_processor_for_target_uses_the_token_rate():
    assert ExactLengthProcessor.for_target(2000, 25, EOS).n_tokens == tokens_for(2000, 25) == 50
    assert ExactLengthProcessor.for_target(1010, 50, EOS).n_tokens == 51


@pytest.mark.parametrize("kwargs,error", [
    ({"n_tokens": 0}, "n_tokens"), ({"banned_ids": [EOS]}, "banned"), ({"prompt_length": -1}, "prompt_length"),
])
def test_processor_bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        ExactLengthProcessor(**{"n_tokens": 3, "eos_id": EOS, **kwargs})


@pytest.mark.parametrize("eos,banned", [(VOCAB, ()), (EOS, (VOCAB + 1,))])
def test_processor_ids_must_be_in_the_vocabulary(eos, banned):
    with pytest.raises(ValueError, match="vocabulary"):
        ExactLengthProcessor(3, eos, banned_ids=banned)(np.zeros((1, 3)), np.zeros((1, VOCAB)))
