"""Checkpoints written by earlier versions of today's format resume as today's own do."""

import shutil

import torch

import vlmrm_sac as vs
from test_train import only_run, read_metrics, run_script


def test_a_checkpoint_naming_the_scorers_windows_labeller_resumes_as_one_naming_them_scorer(tmp_path, tiny_xclip):
    """Format 6 files hold the side thread's windows of K > 1 frames under "scorer" or, as the committed runs'
    checkpoints do, "labeller". A run that ends mid-episode with --reward-frames 4, its latest.pt copied with the
    other key, goes on from either to the same rows: the windows under way are read from both."""
    flags = ["--env-id", "CartPole-v1", "--clip-model", tiny_xclip, "--reward-frames", 4, "--episode-length", 151,
             "--num-envs", 2, "--train-frequency", 20, "--gradient-steps", 10, "--learning-starts", 200,
             "--batch-size", 32, "--buffer-size", 100000, "--log-interval", 400, "--checkpoint-interval", 100000,
             "--save-buffer", "--num-workers", 0, "--video-interval", 0, "--seed", 3]
    run_script(*flags, "--total-timesteps", 600, "--run-dir", tmp_path / "new")
    new = only_run(tmp_path / "new")
    old = tmp_path / "old" / new.name
    shutil.copytree(new, old)
    ckpt = torch.load(old / "checkpoints" / "latest.pt", weights_only=True)
    assert any(c is not None for c in ckpt["scorer"]["carry"])  # mid-episode (300 steps of 151-step episodes)
    ckpt["labeller"] = ckpt.pop("scorer")
    vs.save_checkpoint(old / "checkpoints" / "latest.pt", ckpt)
    for run in (new, old):
        run_script("--resume", run / "checkpoints" / "latest.pt", "--total-timesteps", 800)
    rows, again = read_metrics(new), read_metrics(old)
    assert len(rows) == len(again) and int(rows[-1]["global_step"]) == 800
    for column in ("global_step", "env_return", "clip_return", "qf_loss"):
        assert [r[column] for r in rows] == [r[column] for r in again], column
    assert "scorer" in torch.load(old / "checkpoints" / "latest.pt", weights_only=True)  # saved again in today's keys
