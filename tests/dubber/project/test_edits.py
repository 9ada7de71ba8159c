"""Revertable line and speaker edits: apply, revert, redo, refusals, and how they change a line's status."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from dubber.errors import EngineUnavailable, OverBudget, UnknownEngine, UnknownVoice, UsageError
from dubber.pipeline.session import OK, PENDING, STALE, Session
from dubber.plugin import registry
from dubber.plugin.engine import Capabilities
from dubber.project.edits import EditGroup, add_take, change_line, change_speaker, choose_take, nudge, recast_speaker
from dubber.project.store import LineEntry, Project, SpeakerEntry, TakeRecord, load_project
from tests.conftest import ToneEngine


def take(seed: int, text: str, target_ms: int, error_ms: int = 3, voice: str = "a") -> TakeRecord:
    return TakeRecord(seed=seed, engine="tone", voice=voice, status="ok", error_ms=error_ms,
                      speech_ms=target_ms + error_ms, audio=f"v.takes/{seed}.wav", text=text,
                      target_ms=target_ms, sample_rate=24000, lead=720)


def make_project() -> Project:
    lines = [
        LineEntry(7, 1000, 2200, "good morning", "", [take(0, "good morning", 1200)], 0),
        LineEntry(8, 3000, 4000, "see you", "",
                  [take(0, "see you", 1000, 40), take(1, "see you", 1000, -9), take(2, "see you", 1000, 20)], 2),
        LineEntry(9, 5000, 5600, "bye", ""),
    ]
    return Project("/videos/v.mp4", "/videos/v.srt", "en", {}, lines)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    # Edits never touch the video: a session over a project file alone is enough here.
    return Session(make_project(), tmp_path / "v.dubber.json")


def on_disk(session: Session) -> Project:
    return load_project(session.path)


# -- add_take, revert, redo --------------------------------------------------------------------


def test_add_take_appends_chooses_and_saves(session: Session) -> None:
    fresh = take(5, "good morning", 1200, -4)
    edit = add_take(session.project, 0, fresh)
    assert session.project.lines[0].takes == [take(0, "good morning", 1200)]  # nothing changes before apply
    session.apply(edit)
    line = session.project.lines[0]
    assert [t.seed for t in line.takes] == [0, 5] and line.chosen == 1 and line.take == fresh
    assert session.version == 1
    assert on_disk(session).lines == session.project.lines
    assert "7" in edit.label and "5" in edit.label


def test_revert_restores_the_previous_line_and_keeps_the_new_take(session: Session) -> None:
    before = copy.deepcopy(session.project.lines)
    fresh = take(5, "good morning", 1200, -4)
    edit = add_take(session.project, 0, fresh)
    session.apply(edit)
    session.revert(edit)
    line = session.project.lines[0]
    assert line.take == before[0].take and line.chosen == 0  # the previous take is back on the timeline
    assert line.takes == [*before[0].takes, fresh]  # and the new one stays in the line's history
    assert session.project.lines[1:] == before[1:]
    assert on_disk(session).lines == session.project.lines
    assert session.version == 2


def test_redo_brings_back_the_same_take(session: Session) -> None:
    fresh = take(5, "good morning", 1200, -4)
    edit = add_take(session.project, 0, fresh)
    session.apply(edit)
    applied = copy.deepcopy(session.project.lines[0])
    session.revert(edit)
    session.apply(edit)  # redo: the take comes back from the edit itself, nothing is rendered
    assert session.project.lines[0] == applied and session.project.lines[0].take == fresh
    assert on_disk(session).lines[0] == applied


def test_undoing_two_rerolls_keeps_both_takes_and_redo_chooses_each_again(session: Session) -> None:
    first, second = take(5, "good morning", 1200, -4), take(6, "good morning", 1200, 7)
    one = add_take(session.project, 0, first)
    session.apply(one)
    two = add_take(session.project, 0, second)
    session.apply(two)
    session.revert(two)
    assert session.project.lines[0].take == first
    session.revert(one)
    line = session.project.lines[0]
    assert line.chosen == 0 and [t.seed for t in line.takes] == [0, 5, 6]  # no take is lost
    session.apply(one)
    assert session.project.lines[0].take == first
    session.apply(two)
    assert session.project.lines[0].take == second and len(session.project.lines[0].takes) == 3


def test_undoing_the_first_dub_of_a_line_keeps_its_take(session: Session) -> None:
    fresh = take(0, "bye", 600)
    edit = add_take(session.project, 2, fresh)
    session.apply(edit)
    session.revert(edit)
    line = session.project.lines[2]
    assert line.take is None and line.takes == [fresh] and session.status(line) == PENDING
    session.apply(edit)
    assert session.project.lines[2].take == fresh and len(session.project.lines[2].takes) == 1


def test_an_edit_made_beside_another_reroll_chooses_its_own_take(session: Session) -> None:
    # Two re-rolls made from the same line: whichever is applied chooses its own take, never the other's.
    mine, other = take(5, "good morning", 1200, -4), take(6, "good morning", 1200, 7)
    edit, beside = add_take(session.project, 0, mine), add_take(session.project, 0, other)
    session.apply(beside)
    session.revert(beside)
    session.apply(edit)
    line = session.project.lines[0]
    assert line.take == mine and [t.seed for t in line.takes] == [0, 6, 5]


def test_an_applied_edit_is_independent_of_the_project(session: Session) -> None:
    edit = add_take(session.project, 0, take(5, "good morning", 1200))
    session.apply(edit)
    session.project.lines[0].takes[-1].seed = 99  # the project's copy, not the edit's
    assert edit.after.takes[-1].seed == 5


def test_line_edit_refuses_when_the_line_changed_underneath(session: Session) -> None:
    project = session.project
    first = change_line(project, 0, "Edit text", text="good evening")
    second = change_line(project, 0, "Edit text", text="good night")  # made from the same, older line
    session.apply(first)
    with pytest.raises(UsageError, match="line 7"):
        session.apply(second)
    assert project.lines[0].text == "good evening" and session.version == 1


def test_revert_refuses_when_the_line_changed_since(session: Session) -> None:
    edit = change_line(session.project, 1, "Edit text", text="see you soon")
    session.apply(edit)
    session.project.lines[1].end_ms = 4100
    with pytest.raises(UsageError, match="line 8"):
        session.revert(edit)
    assert session.project.lines[1].text == "see you soon"


# -- choose_take ---------------------------------------------------------------------------------


def test_choose_take_puts_an_earlier_take_back(session: Session) -> None:
    line = session.project.lines[1]
    session.apply(choose_take(session.project, 1, 0))
    assert session.project.lines[1].chosen == 0 and session.project.lines[1].take == line.takes[0]
    assert on_disk(session).lines[1].chosen == 0
    assert [t.seed for t in session.project.lines[1].takes] == [0, 1, 2]  # no take is lost


def test_choose_take_reverts_to_the_take_before(session: Session) -> None:
    edit = choose_take(session.project, 1, 1)
    session.apply(edit)
    session.revert(edit)
    assert session.project.lines[1].chosen == 2


@pytest.mark.parametrize("chosen", [3, -1])
def test_choose_take_out_of_range_names_the_line(session: Session, chosen: int) -> None:
    with pytest.raises(UsageError, match="line 8"):
        choose_take(session.project, 1, chosen)


# -- change_line ---------------------------------------------------------------------------------


def test_editing_the_text_makes_the_line_stale_until_a_new_take(session: Session) -> None:
    assert session.status(session.project.lines[0]) == OK
    session.apply(change_line(session.project, 0, "Edit text", text="  good   afternoon \n"))
    line = session.project.lines[0]
    assert line.text == "good afternoon"  # whitespace is normalised as the loader does
    assert session.status(line) == STALE and session.needing_work() == [0, 2]
    session.apply(add_take(session.project, 0, take(1, "good afternoon", 1200)))
    assert session.status(session.project.lines[0]) == OK and session.needing_work() == [2]


def test_text_and_take_in_one_edit(session: Session) -> None:
    edit = change_line(session.project, 0, "Edit text", text="hello there", take=take(1, "hello there", 1200))
    session.apply(edit)
    assert session.status(session.project.lines[0]) == OK
    session.revert(edit)
    line = session.project.lines[0]
    assert line.text == "good morning" and line.take.seed == 0 and session.status(line) == OK
    assert [t.text for t in line.takes] == ["good morning", "hello there"]  # its take is kept, not chosen


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused_naming_the_line(session: Session, text: str) -> None:
    with pytest.raises(UsageError, match="line 7"):
        change_line(session.project, 0, "Edit text", text=text)
    assert session.project.lines[0].text == "good morning"


def test_a_text_over_the_spoken_limit_is_refused_naming_the_line(session: Session) -> None:
    with pytest.raises(OverBudget, match="line 7: the text is 4,999 characters as spoken"):
        change_line(session.project, 0, "Edit text", text="9" * 1000)
    assert session.project.lines[0].text == "good morning"


@pytest.mark.parametrize(("start", "end"), [(2200, 2200), (2300, 2200)])
def test_end_not_after_start_is_refused(session: Session, start: int, end: int) -> None:
    with pytest.raises(UsageError, match="line 7"):
        change_line(session.project, 0, "Set timing", start_ms=start, end_ms=end)


def test_end_before_the_unchanged_start_is_refused(session: Session) -> None:
    with pytest.raises(UsageError, match="line 8"):
        change_line(session.project, 1, "Set timing", end_ms=2999)


def test_start_before_zero_is_refused(session: Session) -> None:
    with pytest.raises(UsageError, match="line 7"):
        change_line(session.project, 0, "Set timing", start_ms=-1)


def test_changing_the_length_makes_the_line_stale(session: Session) -> None:
    session.apply(change_line(session.project, 0, "Set timing", end_ms=2500))
    line = session.project.lines[0]
    assert (line.start_ms, line.end_ms) == (1000, 2500) and session.status(line) == STALE


def test_voice_and_engine_overrides_make_the_line_stale(session: Session) -> None:
    session.apply(change_line(session.project, 0, "Voice", voice="b"))
    assert session.project.lines[0].voice == "b" and session.status(session.project.lines[0]) == STALE
    session.apply(change_line(session.project, 1, "Engine", engine="other"))
    assert session.project.lines[1].engine == "other" and session.status(session.project.lines[1]) == STALE
    session.apply(change_line(session.project, 1, "Engine", engine=""))  # "" means the speaker's again
    assert session.project.lines[1].engine is None and session.status(session.project.lines[1]) == OK


# -- nudge ---------------------------------------------------------------------------------------


def test_nudge_keeps_the_length_and_the_status(session: Session) -> None:
    edit = nudge(session.project, 1, 250)
    session.apply(edit)
    line = session.project.lines[1]
    assert (line.start_ms, line.end_ms) == (3250, 4250)
    assert session.status(line) == OK and "+250" in edit.label
    session.revert(edit)
    assert (session.project.lines[1].start_ms, session.project.lines[1].end_ms) == (3000, 4000)


def test_nudge_clamps_at_the_start_of_the_video(session: Session) -> None:
    edit = nudge(session.project, 0, -5000)
    session.apply(edit)
    line = session.project.lines[0]
    assert (line.start_ms, line.end_ms) == (0, 1200) and "-1000" in edit.label
    assert session.status(line) == OK


# -- groups --------------------------------------------------------------------------------------


def test_group_applies_in_order_and_reverts_in_reverse(session: Session) -> None:
    project = session.project
    before = copy.deepcopy(project.lines)
    # The second edit is made from the line as the first leaves it: any other order is refused.
    first = change_line(project, 0, "Edit text", text="good evening")
    scratch = copy.deepcopy(project)
    first.apply(scratch)
    second = nudge(scratch, 0, 100)
    third = choose_take(project, 1, 0)
    group = EditGroup("Fix lines", [first, second, third])
    assert group.positions == [0, 0, 1]
    session.apply(group)
    assert (project.lines[0].text, project.lines[0].start_ms) == ("good evening", 1100)
    assert project.lines[1].chosen == 0
    assert on_disk(session).lines == project.lines
    session.revert(group)
    assert project.lines == before and on_disk(session).lines == before


def test_a_group_that_fails_part_way_leaves_the_project_as_it_was(session: Session) -> None:
    project = session.project
    stale = change_line(project, 1, "Edit text", text="see you later")
    session.apply(change_line(project, 1, "Edit text", text="see you soon"))  # `stale` is now out of date
    before = copy.deepcopy(project.lines)
    group = EditGroup("Fix lines", [nudge(project, 0, 100), stale])
    with pytest.raises(UsageError, match="line 8"):
        session.apply(group)
    # Otherwise the first edit stays applied, unsaved and outside the undo stack.
    assert project.lines == before


def test_status_starts_pending_for_lines_without_takes(session: Session) -> None:
    assert session.status(session.project.lines[2]) == PENDING


# -- speakers ------------------------------------------------------------------------------------


class CloneTone(ToneEngine):
    """The tone engine as a cloning engine: no voices of its own, a reference clip needed."""

    name = "clonetone"
    capabilities = Capabilities(languages=("en",), sample_rate=24000, voices=(), cloning="zero_shot")


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> ToneEngine:
    """The tone engine (voices a and b), a cloning one, and a ghost that cannot run here, as the registry
    answers them."""
    tone, clone = ToneEngine(), CloneTone()

    def get_engine(name: str, config: object = None) -> ToneEngine:
        if name == "ghost":
            raise EngineUnavailable("engine 'ghost' is not available: pip install ghost", engine="ghost")
        if name not in ("tone", "clonetone"):
            raise UnknownEngine(f"no engine named {name!r}", engine=name)
        return tone if name == "tone" else clone

    monkeypatch.setattr(registry, "get_engine", get_engine)
    return tone


def cast_project() -> Project:
    """Two speakers on the tone engine's voice a, both dubbed; Kenji matched to his clip."""
    lines = [LineEntry(1, 1000, 2200, "good morning", "Aiko", [take(0, "good morning", 1200)], 0),
             LineEntry(2, 3000, 4000, "see you", "Kenji", [take(0, "see you", 1000)], 0),
             LineEntry(3, 5000, 5600, "bye", "Kenji", [take(0, "bye", 600)], 0)]
    speakers = {"Aiko": SpeakerEntry("Aiko", "tone", "a"),
                "Kenji": SpeakerEntry("Kenji", "tone", "a", reference="v.refs/kenji.wav", reference_source="extracted",
                                      reference_text="hello there", matched=True, similarity=0.71,
                                      default_similarity=0.71, pitch_semitones=1.5, pitched_similarity=0.74)}
    return Project("/videos/v.mp4", "/videos/v.srt", "en", speakers, lines)


@pytest.fixture
def cast(tmp_path: Path, engines: ToneEngine) -> Session:
    return Session(cast_project(), tmp_path / "v.dubber.json")


def test_a_speakers_new_voice_is_one_edit_that_reverts_and_redoes(cast: Session) -> None:
    before = copy.deepcopy(cast.project.speakers)
    edit = change_speaker(cast.project, "Kenji", "Kenji speaks b", voice="b")
    assert cast.project.speakers == before  # nothing changes before apply
    cast.apply(edit)
    kenji = cast.project.speakers["Kenji"]
    assert (kenji.engine, kenji.voice) == ("tone", "b") and on_disk(cast).speakers == cast.project.speakers
    assert cast.project.speakers["Aiko"] == before["Aiko"]
    cast.revert(edit)
    assert cast.project.speakers == before and on_disk(cast).speakers == before
    cast.apply(edit)
    assert cast.project.speakers["Kenji"].voice == "b"


def test_a_voice_chosen_by_hand_is_no_longer_a_match_but_keeps_its_clip(cast: Session) -> None:
    kenji = change_speaker(cast.project, "Kenji", "Kenji speaks b", voice="b").after
    assert not kenji.matched and kenji.similarity is None and kenji.pitched_similarity is None
    assert kenji.pitch_semitones == 0.0  # the shift was matched to the other voice
    assert kenji.default_similarity == 0.71  # the same engine's default voice, against the same clip
    assert (kenji.reference, kenji.reference_source, kenji.reference_text) == \
        ("v.refs/kenji.wav", "extracted", "hello there")


def test_the_same_voice_again_changes_nothing(cast: Session) -> None:
    edit = change_speaker(cast.project, "Kenji", "Kenji speaks a", voice="a")
    assert edit.after == edit.before


def test_a_new_clip_is_the_users_and_forgets_what_the_old_one_measured(cast: Session) -> None:
    kenji = change_speaker(cast.project, "Kenji", "Clip", reference="/clips/kenji2.wav").after
    assert (kenji.reference, kenji.reference_source, kenji.reference_text) == ("/clips/kenji2.wav", "user", "")
    assert kenji.voice == "a" and not kenji.matched
    assert kenji.similarity is None and kenji.default_similarity is None


def test_an_unknown_speaker_is_refused_naming_the_speakers(cast: Session) -> None:
    with pytest.raises(UsageError, match="no speaker 'Hiro'.*'Aiko', 'Kenji'"):
        change_speaker(cast.project, "Hiro", "Hiro", voice="b")


@pytest.mark.parametrize("changes, error, words", [
    ({"voice": "zz"}, UnknownVoice, "has no voice 'zz'"),
    ({"engine": "ghost"}, EngineUnavailable, "ghost"),
    ({"engine": "nothing"}, UnknownEngine, "nothing"),
    ({"engine": "clonetone"}, UsageError, "clones a voice and has none of its own"),  # Aiko has no clip
])
def test_a_choice_the_engine_refuses_is_refused_and_changes_nothing(cast: Session, changes, error, words) -> None:
    before = copy.deepcopy(cast.project)
    with pytest.raises(error, match=words):
        change_speaker(cast.project, "Aiko", "Aiko", **changes)
    assert cast.project == before


def test_a_new_engine_without_a_voice_speaks_its_default(cast: Session) -> None:
    kenji = change_speaker(cast.project, "Kenji", "Clone Kenji", engine="clonetone").after
    assert (kenji.engine, kenji.voice) == ("clonetone", "reference")  # cloned from his clip
    assert not kenji.matched and kenji.default_similarity is None


def test_a_blend_is_named_as_the_engine_names_it(tmp_path: Path) -> None:
    """The real Kokoro engine's check (nothing is loaded): weights normalised, voices in its order."""
    project = cast_project()
    project.speakers["Aiko"] = SpeakerEntry("Aiko", "kokoro", "jf_alpha")
    edit = change_speaker(project, "Aiko", "Blend", voice="jm_kumo*2+jf_alpha*3")
    assert edit.after.voice == "jf_alpha*0.6+jm_kumo*0.4"


def test_a_speaker_not_cast_yet_gets_an_entry_that_undo_removes(cast: Session) -> None:
    del cast.project.speakers["Aiko"]  # lines of hers, no voice chosen yet
    with pytest.raises(UsageError, match="no voice yet"):
        change_speaker(cast.project, "Aiko", "Aiko", voice="b")
    edit = change_speaker(cast.project, "Aiko", "Aiko", engine="tone", voice="b")
    assert edit.before is None
    cast.apply(edit)
    assert cast.project.speakers["Aiko"] == SpeakerEntry("Aiko", "tone", "b")
    cast.revert(edit)
    assert "Aiko" not in cast.project.speakers


def test_a_speaker_edit_refuses_when_the_speaker_changed_underneath(cast: Session) -> None:
    stale = change_speaker(cast.project, "Kenji", "b", voice="b")
    cast.apply(change_speaker(cast.project, "Kenji", "b", voice="b"))
    with pytest.raises(UsageError, match="speaker 'Kenji'"):
        cast.apply(stale)


def test_recast_puts_a_matched_entry_in_place_checked(cast: Session) -> None:
    matched = SpeakerEntry("Aiko", "tone", "b", matched=True, similarity=0.8, default_similarity=0.6)
    edit = recast_speaker(cast.project, "Aiko", "Match Aiko", matched)
    cast.apply(edit)
    assert cast.project.speakers["Aiko"] == matched
    with pytest.raises(UnknownVoice):
        recast_speaker(cast.project, "Aiko", "Match Aiko", SpeakerEntry("Aiko", "tone", "zz"))


def test_a_new_voice_makes_the_speakers_lines_stale_until_their_new_takes(cast: Session) -> None:
    project = cast.project
    assert [cast.status(line) for line in project.lines] == [OK, OK, OK]
    voice = change_speaker(project, "Kenji", "Kenji speaks b", voice="b")
    cast.apply(voice)
    assert [cast.status(line) for line in project.lines] == [OK, STALE, STALE]
    cast.revert(voice)
    # The voice and the takes of its lines, one step: each take made with the new voice.
    group = EditGroup("Kenji speaks b", [voice, add_take(project, 1, take(1, "see you", 1000, voice="b")),
                                         add_take(project, 2, take(1, "bye", 600, voice="b"))])
    assert group.positions == [1, 2]
    before = copy.deepcopy(project)
    cast.apply(group)
    assert [cast.status(line) for line in project.lines] == [OK, OK, OK]
    assert [line.take.voice for line in project.lines] == ["a", "b", "b"]
    cast.revert(group)
    assert project.speakers == before.speakers
    assert [line.take for line in project.lines] == [line.take for line in before.lines]
    assert [len(line.takes) for line in project.lines] == [1, 2, 2]  # takes are never deleted
    assert on_disk(cast).speakers == before.speakers


def test_the_sessions_plans_follow_a_speaker_edit_and_its_undo(cast: Session) -> None:
    assert cast.plans()["Kenji"].voice == "a"
    edit = change_speaker(cast.project, "Kenji", "Kenji speaks b", voice="b")
    cast.apply(edit)
    assert cast.plans()["Kenji"].voice == "b" and cast.plan_for(cast.project.lines[1]).voice == "b"
    cast.revert(edit)
    assert cast.plans()["Kenji"].voice == "a" and cast.plan_for(cast.project.lines[1]).voice == "a"
