"""The reward-model yardstick (tests/reward_yardstick.py): EPIC distance and AUC on known cases, its hand-built
poses, and the command end to end on a few held-out states."""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import plot
import vlmrm_sac as vs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import humanoid_clip  # noqa: E402
import reward_yardstick  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_epic_of_the_labels_is_0_of_their_negation_1_and_of_a_small_case_as_by_hand():
    labels = np.array([0, 0, 1, 0, 1, 1, 0, 0], float)
    assert plot.epic_distance(labels, labels) == pytest.approx(0.0, abs=1e-7)
    assert plot.epic_distance(-labels, labels) == pytest.approx(1.0)
    assert plot.epic_distance(3 * labels + 5, labels) == pytest.approx(0.0, abs=1e-7)  # a positive affine map is the same reward
    # r = 1, 2, 3, 4 against labels 0, 0, 1, 1: deviations (-1.5, -0.5, 0.5, 1.5) and (-0.5, -0.5, 0.5, 0.5), so
    # rho = 2 / sqrt(5 * 1) and D = sqrt((1 - rho) / 2)
    expected = math.sqrt((1 - 2 / math.sqrt(5)) / 2)
    assert plot.epic_distance(np.array([1, 2, 3, 4.0]), np.array([0, 0, 1, 1.0])) == pytest.approx(expected)
    assert expected == pytest.approx(0.2298, abs=1e-4)


def test_auc_counts_pairs_ranked_right_and_ties_as_half():
    assert humanoid_clip.auc([3, 4], [1, 2]) == 1.0 and humanoid_clip.auc([1, 2], [3, 4]) == 0.0
    assert humanoid_clip.auc([2, 5], [1, 2, 6]) == pytest.approx((1 + 0.5 + 0 + 1 + 1 + 0) / 6)


def test_the_clean_poses_are_kneeling_and_one_knee_down_by_the_labeller():
    poser, labeller = humanoid_clip.Poser(), vs.HumanoidPoses()
    qpos = reward_yardstick.clean_poses(6, np.random.default_rng(1), poser, labeller)
    assert qpos.shape == (12, 24)
    classes = [humanoid_clip.pose_class(labeller, q) for q in qpos]
    assert classes == ["kneeling"] * 6 + ["one_knee"] * 6
    assert all(labeller(q)["kneeling"] for q in qpos[:6]) and not any(labeller(q)["kneeling"] for q in qpos[6:])


def test_measure_on_a_reward_that_is_the_indicator():
    kind = np.array(["kneeling", "one_knee", "other", "kneeling", "standing", "one_knee"])
    subset = np.array(["visited", "visited", "visited", "built", "built", "clean"])
    row = reward_yardstick.measure((kind == "kneeling").astype(float), kind, subset)
    assert row["epic"] == pytest.approx(0.0, abs=1e-7) and row["auc_vs_rest"] == 1.0
    assert row["auc_vs_one_knee_visited"] == 1.0 and math.isnan(row["auc_vs_one_knee_clean"])  # no kneeling in clean
    assert row["mean_kneeling"] == 1.0 and row["mean_one_knee"] == 0.0 and math.isnan(row["mean_lying"])


def test_the_yardstick_command_measures_each_model_and_rule(tmp_path):
    """A user's command on a few held-out states: a row per rule, the rules computed by CLIPReward as a run does."""
    out = tmp_path / "kneeling.csv"
    subprocess.run([sys.executable, str(ROOT / "tests" / "reward_yardstick.py"), str(ROOT / "results/mini_clip/humanoid_small"),
                    "--every", "37", "--built", "40", "--clean", "3", "--alphas", "0", "1", "--out", str(out)],
                   check=True, timeout=300, capture_output=True)
    rows = list(csv.DictReader(open(out)))
    assert [r["rule"] for r in rows] == ["projection, alpha 0", "projection, alpha 1", "near miss, alpha 0.5",
                                          "near miss, alpha 1", "softmax", "log-softmax", "softmax of raw dot products"]
    assert all(0 <= float(r["epic"]) <= 1 and r["model"] == "humanoid_small" for r in rows)
    assert {r["parameters"] for r in rows} == {"1321089"} and {r["image_size"] for r in rows} == {"64"}
    by = {r["rule"]: r for r in rows}
    softmax, log_softmax = (float(by[k]["mean_standing"]) for k in ("softmax", "log-softmax"))
    assert 0 <= softmax <= 1 and log_softmax <= 0  # a probability, and its log
    assert by["softmax"]["auc_vs_rest"] == by["log-softmax"]["auc_vs_rest"]  # the same order of the states
    counts = json.loads(out.with_suffix(".json").read_text())["states_per_class"]
    assert counts["clean"]["kneeling"] == counts["clean"]["one_knee"] == 3
    assert sum(counts["built"].values()) == 40 and counts["visited"]["kneeling"] > 0
