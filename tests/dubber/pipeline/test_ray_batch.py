"""A batch on a real two-node Ray cluster on this machine, one node killed mid-batch: every line rendered on
the cluster, none lost or doubled, and the outputs identical, sample for sample, to the local batch's and
to dub() run per video."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.main import main
from dubber.pipeline.batch import BatchVideo, run_batch
from dubber.pipeline.dub import DubOptions, dub
from dubber.pipeline.line_plan import plan_lines
from dubber.project.store import load_project, project_path_for
from tests.dubber.pipeline.ray_engine import HOLD_NODE
from tests.dubber.pipeline.test_resume import tone_lines

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from dubber.pipeline.ray_executor import RayExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
LINES = 10


@pytest.fixture
def engine(frame_tone):
    return frame_tone


@pytest.fixture
def cluster():
    """Two Ray nodes on this machine, one CPU each; the workers speak with the paced frame-tone engine."""
    fast = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500, "health_check_failure_threshold": 4}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": fast})
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": "tests.dubber.pipeline.ray_engine.install",
                          "env_vars": {"PYTHONPATH": str(ROOT), HOLD_NODE: worker.node_id}})
    try:
        yield cluster, worker
    finally:
        ray.shutdown()
        cluster.shutdown()


def batch(pair, folder):
    return [BatchVideo(video.stem, "en", video, subs, folder / f"{video.stem}.mkv",
                       DubOptions(lang="en", engine="frametone", mix="duck", workers=1),
                       stem=folder / f"{video.stem}.wav", report=folder / f"{video.stem}.json")
            for video, subs in pair]


def same(folder, other, pair):
    for video, _ in pair:
        name = video.stem
        assert np.array_equal(media.read_wav(folder / f"{name}.wav")[0], media.read_wav(other / f"{name}.wav")[0])
        assert json.loads((folder / f"{name}.json").read_text())["lines"] == \
            json.loads((other / f"{name}.json").read_text())["lines"]
        assert np.array_equal(media.decode_audio(folder / f"{name}.mkv", 48000),
                              media.decode_audio(other / f"{name}.mkv", 48000))


def test_a_node_killed_mid_batch_loses_no_line_and_changes_no_sample(engine, cluster, tmp_path, caplog):
    pair = [tone_lines(tmp_path, LINES, name)[:2] for name in ("one", "two")]
    alone = tmp_path / "alone"
    for video, subs in pair:
        dub(video, subs, alone / f"{video.stem}.mkv", DubOptions(lang="en", engine="frametone", mix="duck"),
            stem_path=alone / f"{video.stem}.wav", report_path=alone / f"{video.stem}.json")
    local = tmp_path / "local"
    run_batch(batch(pair, local))
    same(local, alone, pair)

    nodes, worker = cluster
    killed = []

    def progress(done, total, label):
        if done >= 5 and not killed:  # a quarter of the lines in: the second node goes, its line with it
            nodes.remove_node(worker, allow_graceful=False)
            killed.append(done)

    calls = engine.calls
    out = tmp_path / "ray"
    videos = batch(pair, out)
    with caplog.at_level(logging.INFO, logger="dubber.pipeline.ray_executor"):
        result = run_batch(videos, RayExecutor(), progress)
    assert killed and killed[0] < 2 * LINES
    assert result.total()["lines"] == 2 * LINES
    assert engine.calls == calls  # every line was rendered on the cluster: the dubs here only placed them
    assert any("sent again" in r.getMessage() for r in caplog.records), "the kill took no line with it"
    same(out, alone, pair)
    for video in videos:  # each line filed once, with one take; a rerun has nothing left to render
        project = load_project(project_path_for(video.output))
        assert [len(line.takes) for line in project.lines] == [1] * LINES
        assert plan_lines(0, video.video, video.subtitles, video.options, video.project).missing == []

    # The command line on what is left of the cluster: `dubber batch MANIFEST --ray ADDRESS` writes the same.
    (tmp_path / "season.toml").write_text('engine = "frametone"\nmix = "duck"\nworkers = 1\n'
                                          'output = "cli/{name}.mkv"\nstem = "cli/{name}.wav"\n'
                                          'report = "cli/{name}.json"\nsubtitles = "{name}.srt"\n'
                                          + "".join(f'[[video]]\nvideo = "{v.name}"\n' for v, _ in pair),
                                          encoding="utf-8")
    calls = engine.calls
    assert main(["batch", str(tmp_path / "season.toml"), "--ray", nodes.address]) == 0
    assert engine.calls == calls  # rendered on the cluster
    same(tmp_path / "cli", alone, pair)


def test_a_gpu_engine_on_a_cluster_without_gpus_is_refused_not_left_waiting(monkeypatch):
    from dubber.errors import EngineUnavailable

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 4.0})
    with pytest.raises(EngineUnavailable, match="needs a GPU and this Ray cluster has none"):
        RayExecutor()._pool(3, gpu=True)
