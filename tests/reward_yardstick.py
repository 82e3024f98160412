"""The yardstick for humanoid reward models: how well a reward model and rule tell kneeling from everything else, on
one fixed set of held-out states, before a run is spent on it (the paper's Fig. 4 measure, on this project's frames).

    .venv/bin/python tests/reward_yardstick.py results/mini_clip/humanoid_small results/mini_clip/humanoid_small_visited \
        --out results/yardstick/kneeling.csv

For each model (a saved CLIP whose frames are drawn at its own input size) and each rule of RULES (the paper's
projection against "a humanoid robot" at every alpha of --alphas, the projection against the near miss "a humanoid
robot on one knee", the softmax rules of `--reward-rule`, and the authors' unmerged "logit" reward, a softmax of raw
dot products): the EPIC distance to the labeller's kneeling indicator (sqrt((1 - rho) / 2), rho the Pearson
correlation), the AUC of kneeling against one knee down and against every other state, and the mean reward of each
pose class (humanoid_clip.pose_class). The rewards are vlmrm_sac.CLIPReward's, the code a run trains with.

The held-out states, each class counted in <out>.json:
- visited: every --every-th step of the evaluations that no reward model here trained on (HELD_OUT_VISITED: the
  kneeling_visited runs' evaluations, and seed 3 of the first kneeling and standing runs); the models with visited
  states trained on seeds 1 and 2 of the first runs only;
- built: humanoid_clip's held-out stream (its seed 0, the states each model's eval.json was measured on);
- clean: hand-built upright kneeling against one knee down with the other foot planted (--clean of each), no physics.
"""

import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np
import torch
import tyro

import humanoid_clip as hc
import plot
import vlmrm_sac as vs

KNEELING = hc.CAPTIONS["kneeling"]
NEGATIVES = (hc.ONE_KNEE, hc.CAPTIONS["standing"], hc.CAPTIONS["arms_raised"], hc.CAPTIONS["lying"], hc.BASELINE)
V = "results/runs/humanoid_poses"
HELD_OUT_VISITED = (f"{V}/Humanoid-v5__kneeling_visited__*/eval_*/states.npz", f"{V}/Humanoid-v5__kneeling__3__*/eval_*/states.npz",
                    f"{V}/Humanoid-v5__standing__3__*/eval_*/states.npz")
SUBSETS = ("visited", "built", "clean")


@dataclass
class Args:
    models: tyro.conf.Positional[tuple[str, ...]]
    """saved CLIP models (directories) to measure"""
    out: Optional[str] = None
    """CSV of one row per model and rule (a JSON beside it holds the states' counts); None: print only"""
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    """alphas of the paper's projection against the baseline "a humanoid robot" (Fig. 4a)"""
    every: int = 4
    """keep every n-th step of each held-out evaluation's episodes"""
    built: int = 2_000
    """built held-out states (humanoid_clip's held-out stream: the first n of it)"""
    clean: int = 40
    """hand-built states of each of kneeling and one knee down"""
    seed: int = 0
    """humanoid_clip's seed: its second stream gives the built states, a third the clean ones"""


# ======================================================================================
# The rules: a name -> (baseline sentences, alpha, --reward-rule); "raw" is the authors' unmerged logit reward
# ======================================================================================


def rules(alphas) -> dict:
    table = {f"projection, alpha {a:g}": ((hc.BASELINE,), a, "projection") for a in alphas}
    table.update({"near miss, alpha 0.5": ((hc.ONE_KNEE,), 0.5, "projection"),
                  "near miss, alpha 1": ((hc.ONE_KNEE,), 1.0, "projection"),
                  "softmax": (NEGATIVES, 0.0, "softmax"), "log-softmax": (NEGATIVES, 0.0, "log-softmax"),
                  "softmax of raw dot products": (NEGATIVES, 0.0, "raw")})
    return table


def rule_rewards(model: str, x: torch.Tensor, table: dict) -> dict:
    """Each rule's (N,) rewards of image embeddings x (N, D), by CLIPReward.reward as a run computes them. "raw", the
    authors' unmerged PR #1, is the softmax rule without CLIP's logit scale (a scale of 1), so its probabilities stay
    near uniform (1 / classes)."""
    out = {}
    for name, (baseline, alpha, rule) in table.items():
        reward = vs.CLIPReward(model, [KNEELING], baseline, alpha, rule="softmax" if rule == "raw" else rule)
        if rule == "raw":
            reward.logit_scale = 1.0
        out[name] = reward.reward(x, reward.goal_emb, reward.baseline_emb).numpy()
    return out


# ======================================================================================
# The held-out states
# ======================================================================================


def clean_poses(n: int, rng, poser: hc.Poser, labeller: vs.HumanoidPoses) -> tuple:
    """n upright kneeling states and n on one knee with the other foot planted (thigh forward, shin down), built
    joint by joint and lowered onto the floor, no physics; each kept only if pose_class names it as built."""
    out = {"kneeling": [], "one_knee": []}
    while min(map(len, out.values())) < n:
        q, j = poser.model.qpos0.copy(), poser.joint
        kind = "kneeling" if len(out["kneeling"]) < n and (len(out["one_knee"]) >= n or rng.random() < 0.5) else "one_knee"
        for side in ("right", "left"):
            q[j[f"{side}_knee"]], q[j[f"{side}_hip_y"]] = rng.uniform(-1.9, -1.4), rng.uniform(-0.25, 0.1)
        if kind == "one_knee":
            side = rng.choice(["right", "left"])
            q[j[f"{side}_hip_y"]], q[j[f"{side}_knee"]] = rng.uniform(-1.3, -0.9), rng.uniform(-1.4, -0.9)
        q[7:] += rng.normal(0, 0.05, len(q) - 7)  # arms and waist not held exactly still
        q[7:] = np.clip(q[7:], poser.low, poser.high)
        q[3:7] = hc.quaternion([0, 0, 1], rng.uniform(-0.5, 0.5))
        q = poser.on_floor(q)
        if hc.pose_class(labeller, q) == kind:
            out[kind].append(q)
    return np.stack(out["kneeling"] + out["one_knee"])


def held_out_states(args: Args) -> dict:
    """subset -> qpos (N, 24), the same for every model measured with the same flags."""
    poser = hc.Poser()
    _, eval_rng, clean_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(3))
    return {"visited": hc.visited_states([str(ROOT / p) for p in HELD_OUT_VISITED], args.every),
            "built": hc.sample_states(args.built, eval_rng, poser, 0.4) if args.built else np.zeros((0, 24)),
            "clean": clean_poses(args.clean, clean_rng, poser, vs.HumanoidPoses()) if args.clean else np.zeros((0, 24))}


# ======================================================================================
# The measures
# ======================================================================================


def measure(r: np.ndarray, kind: np.ndarray, subset: np.ndarray) -> dict:
    """The yardstick's numbers for rewards r (N,) of states of classes `kind` (N,) in held-out `subset` (N,)."""
    kneel = kind == "kneeling"
    visited = subset == "visited"
    row = {"epic": plot.epic_distance(r, kneel), "auc_vs_rest": hc.auc(r[kneel], r[~kneel]),
           "epic_visited": plot.epic_distance(r[visited], kneel[visited])}
    for s in SUBSETS:
        at = subset == s
        row[f"auc_vs_one_knee_{s}"] = hc.auc(r[at & kneel], r[at & (kind == "one_knee")])
    row.update({f"mean_{c}": float(r[kind == c].mean()) if (kind == c).any() else math.nan for c in hc.CLASSES})
    return row


def main(args: Args):
    start = time.time()
    states = held_out_states(args)
    qpos = np.concatenate([states[s] for s in SUBSETS])
    subset = np.concatenate([[s] * len(states[s]) for s in SUBSETS])
    labeller = vs.HumanoidPoses()
    kind = np.array([hc.pose_class(labeller, q) for q in qpos])
    counts = {s: {c: int(((subset == s) & (kind == c)).sum()) for c in hc.CLASSES} for s in SUBSETS}
    print(f"{len(qpos)} held-out states ({time.time() - start:.0f} s): {json.dumps(counts)}")
    table, rows = rules(args.alphas), []
    for model in args.models:
        reward = vs.CLIPReward(model, [KNEELING])
        x = torch.cat([reward.embed_images(f) for f in hc.render(qpos, size=reward.image_size)])  # (N, D)
        meta = {"model": Path(model).name, "parameters": sum(p.numel() for p in reward.model.parameters()),
                "image_size": reward.image_size}
        for name, r in rule_rewards(model, x, table).items():
            baseline, alpha, rule = table[name]
            rows.append({**meta, "rule": name, "reward_rule": rule, "baseline": " | ".join(baseline), "alpha": alpha,
                         **measure(r, kind, subset)})
            print(f"{meta['model']:32s} {name:28s} EPIC {rows[-1]['epic']:.3f} (visited {rows[-1]['epic_visited']:.3f})  "
                  f"AUC vs one knee {rows[-1]['auc_vs_one_knee_visited']:.3f} / {rows[-1]['auc_vs_one_knee_built']:.3f} / "
                  f"{rows[-1]['auc_vs_one_knee_clean']:.3f}  vs rest {rows[-1]['auc_vs_rest']:.3f}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        out.with_suffix(".json").write_text(json.dumps({"args": {k: v for k, v in vars(args).items()},
                                                        "held_out_visited": HELD_OUT_VISITED,
                                                        "visited_files": [str(Path(f).relative_to(ROOT)) for f in
                                                                          hc.visited_files([str(ROOT / p) for p in HELD_OUT_VISITED])],
                                                        "states_per_class": counts}, indent=1))
        print(f"wrote {out} and {out.with_suffix('.json')} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main(tyro.cli(Args))
