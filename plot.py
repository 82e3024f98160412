"""The paper's figures, and offline reward-model evaluation before any RL.

    python plot.py landscape   --clip-model M   # Fig. 2: CLIP reward vs CartPole angle / MountainCar position
    python plot.py epic        --clip-models M1 M2 --env-id CartPole-v1   # Fig. 4: EPIC distance vs alpha, vs size
    python plot.py curves      --runs "runs/*"  # training curves: CLIP return, ground-truth return, success
    python plot.py prompts     --runs "runs/*"  # runs with --log-prompt: each logged sentence's return, the goal's vote
    python plot.py success     --labels kneeling=runs/x/eval_000100000/labels.csv   # Fig. 5/6/8
    python plot.py reward-hist --clip-models M1 M2 --env-id CartPole-v1   # Fig. 7
    python plot.py probe       --prompt "a humanoid robot kneeling" --baseline-prompt "a humanoid robot"
    python plot.py sheets      --eval-dir runs/x/eval_000100000   # one contact sheet per episode, to label from
    python plot.py policy-sheets --eval-dirs runs/x/eval_000100000   # a humanoid policy's frames, labelled by pose
    python plot.py frames      # one PNG per look of the environments
    python plot.py all         # every figure whose data is in results/ (no GPU, no model download)
    python plot.py verify      # every number of results/README.md and benchmarks.md: recomputed from results/, or marked

Every subcommand writes PNG and PDF plus the CSV it plotted into --out-dir (default figures/; `all` writes the
committed results/figures).
Frames and labels come from `vlmrm_sac.py --eval-checkpoint` (frames/episode_XXX.npz, labels.csv,
frame_labels.csv: see README's labelling guide) or, for CartPole and MountainCar, from ground truth
over uniformly sampled states.
"""

import csv
import glob
import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Union

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import tyro
from tqdm import tqdm

import vlmrm_sac

PAPER_PROMPTS = vlmrm_sac.PAPER_PROMPTS  # env family -> (goal, baseline)
DEFAULT_MODEL = vlmrm_sac.PAPER_CLIP_MODEL  # the paper's ViT-bigG-14
LOOKS = {  # every look of the environments: name -> (env id, make_env keywords); `frames` draws each
    "humanoid_paper_camera_paper_look": ("Humanoid-v5", {}),
    "humanoid_stock_camera_paper_look": ("Humanoid-v5", {"paper_camera": False}),
    "humanoid_paper_camera_stock_look": ("Humanoid-v5", {"look": "stock"}),
    "humanoid_stock_camera_stock_look": ("Humanoid-v5", {"paper_camera": False, "look": "stock"}),
    "humanoid_paper_camera_generated_look": ("Humanoid-v5", {"look": "generated"}),
    "cartpole": ("CartPole-v1", {}),
    "mountaincar_paper_look": ("MountainCarContinuous-v0", {}),
    "mountaincar_stock_look": ("MountainCarContinuous-v0", {"look": "stock"}),
    "mountaincar_generated_look": ("MountainCarContinuous-v0", {"look": "generated"}),
}
Look = Literal["paper", "generated", "stock"]


# ======================================================================================
# Files: every figure is saved as PNG + PDF next to the CSV it plotted
# ======================================================================================


def save(fig, out_dir: Union[str, Path], name: str, rows: list[dict]):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:  # a figure with a colorbar lays itself out (constrained)
        fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out_dir / f"{name}.{ext}", dpi=150)
    plt.close(fig)
    if rows:
        with open(out_dir / f"{name}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(f"wrote {out_dir / name}.png/.pdf/.csv")


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ======================================================================================
# States and their frames: uniform ground-truth sweeps, labelled evaluation frames, probe poses
# ======================================================================================


def render_states(env_id: str, states: np.ndarray, look: Look = "stock", look_dir: Optional[str] = None) -> np.ndarray:
    """Frames (N, H, W, 3) uint8 of CartPole states (x, x_dot, theta, theta_dot) or MountainCar (x, v)."""
    env = vlmrm_sac.make_env(env_id, look=look, look_dir=look_dir)
    env.reset(seed=0)
    frames = []
    for s in states:
        env.unwrapped.state = np.asarray(s, dtype=np.float64)
        frames.append(env.render())
    env.close()
    return np.stack(frames)


CARTPOLE_UPRIGHT = 12 * 2 * math.pi / 360  # CartPole's stock termination angle: inside it the pole is up


def ground_truth_states(env_id: str, n: int, seed: int = 0):
    """States sampled uniformly and their binary goal labels, by the paper's success rule."""
    rng = np.random.default_rng(seed)
    family = vlmrm_sac.env_family(env_id)
    if family == "CartPole":
        limit = vlmrm_sac.CARTPOLE_X_LIMIT
        x, theta = rng.uniform(-limit, limit, n), rng.uniform(-math.pi / 2, math.pi / 2, n)
        return np.stack([x, np.zeros(n), theta, np.zeros(n)], 1), np.abs(theta) < CARTPOLE_UPRIGHT
    if family == "MountainCarContinuous":
        x = rng.uniform(*vlmrm_sac.MOUNTAINCAR_X_RANGE, n)
        return np.stack([x, np.zeros(n)], 1), x >= vlmrm_sac.MOUNTAINCAR_GOAL
    raise SystemExit(f"error: no ground-truth goal for {env_id}; use --eval-dir with labelled frames instead")


def labelled_frames(eval_dir: str):
    """Frames and per-frame goal labels from an evaluation directory: frames/episode_XXX.npz plus
    frame_labels.csv (episode, step, goal) for single frames, or labels.csv (episode, goal_share in percent):
    an episode labelled 100 marks all its frames as goal, 0 none; partial labels are left out."""
    eval_dir = Path(eval_dir)
    frames, labels = [], []
    per_frame = eval_dir / "frame_labels.csv"
    if per_frame.exists():
        cache = {}
        for row in read_csv(per_frame):
            ep = int(row["episode"])
            if ep not in cache:
                cache[ep] = np.load(vlmrm_sac.eval_episode_file(eval_dir, ep))["frames"]
            frames.append(cache[ep][int(row["step"])])
            labels.append(row["goal"].strip().lower() in ("1", "true", "yes"))
    elif (eval_dir / vlmrm_sac.LABELS_CSV).exists():
        for row in read_csv(eval_dir / vlmrm_sac.LABELS_CSV):
            if row["goal_share"].strip() in ("0", "100"):
                episode = np.load(vlmrm_sac.eval_episode_file(eval_dir, int(row["episode"])))["frames"]
                frames.extend(episode)
                labels.extend([row["goal_share"].strip() == "100"] * len(episode))
    if not frames:
        raise SystemExit(f"error: no labelled frames in {eval_dir}: fill in labels.csv or frame_labels.csv (see README)")
    return np.stack(frames), np.array(labels, dtype=bool)


def probe_frames(env_id: str, n: int, seed: int, render_size: int = 480, look: Look = "paper", look_dir: Optional[str] = None):
    """Varied states of an env and their frames. Humanoid: from the standing start, a random constant
    action held for a random number of steps (0 to 100: standing, stumbling, sitting, kneeling-like,
    lying), then 20 steps of zero action so the pose settles. CartPole / MountainCar: uniform states.
    Other envs: random actions for a random number of steps."""
    family = vlmrm_sac.env_family(env_id)
    if family in ("CartPole", "MountainCarContinuous"):
        states, _ = ground_truth_states(env_id, n, seed)
        return render_states(env_id, states, look, look_dir)
    env = vlmrm_sac.make_env(env_id, render_size=render_size, look=look, look_dir=look_dir)
    frames = [env.render() for _ in tqdm(varied_poses(env, n, seed), total=n, desc=f"rendering {env_id} poses", unit="pose")]
    env.close()
    return np.stack(frames)


def varied_poses(env, n: int, seed: int):
    """Puts `env` into n varied states, one after another (yields after each); see probe_frames."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    for i in range(n):
        env.reset(seed=seed * 100_003 + i)
        hold = int(rng.choice([0, 5, 10, 20, 40, 70, 100]))
        action = rng.uniform(space.low, space.high).astype(space.dtype) if hasattr(space, "low") else None
        for _ in range(hold):
            env.step(action if action is not None else space.sample())
        if hasattr(space, "low"):
            for _ in range(20 if hold else 0):
                env.step(np.zeros(space.shape, space.dtype))
        yield i


def clip_model(name: str, goal: str, baseline: str, device: str = "auto") -> vlmrm_sac.CLIPReward:
    """A reward model for a sweep over alpha: image embeddings are computed once, then projected per alpha."""
    return vlmrm_sac.CLIPReward(name, [goal], [baseline], alpha=1.0, device=vlmrm_sac.resolve_device(device))


def rewards_by_alpha(model: vlmrm_sac.CLIPReward, frames: np.ndarray, alphas, prompts=None) -> dict:
    """{alpha: rewards (N,)} for the model's prompts, or for other (goal, baseline) `prompts` with the same model."""
    goal, baseline = (model.embed_text([p])[0] for p in prompts) if prompts else (model.goal_emb, model.baseline_emb)
    embeddings = model.embed_images(frames)
    return {a: vlmrm_sac.goal_baseline_reward(embeddings, goal, baseline, a).cpu().numpy() for a in alphas}


def n_parameters(model: vlmrm_sac.CLIPReward) -> int:
    return sum(p.numel() for p in model.model.parameters())


# ======================================================================================
# Statistics
# ======================================================================================


def epic_distance(rewards: np.ndarray, labels: np.ndarray) -> float:
    """EPIC distance for state-only rewards: D = sqrt((1 - rho) / 2), rho = Pearson correlation
    (for a reward of the state alone, EPIC's canonicalization drops out: only the correlation is left)."""
    rho = np.corrcoef(np.asarray(rewards, np.float64), np.asarray(labels, np.float64))[0, 1]
    return float(np.sqrt(max(0.0, (1 - rho) / 2)))


def rescale(x: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(x)), float(np.max(x))
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


# ======================================================================================
# Subcommands
# ======================================================================================


@dataclass
class Figure:
    """Where a subcommand's figure goes, and its title's note: the fields every figure-drawing subcommand shares."""

    out_dir: str = "figures"
    """folder for the PNG, PDF and CSV (the committed figures are in results/figures)"""
    name: Optional[str] = None
    """file name of the figure; None: the subcommand's (e.g. curves)"""
    note: str = ""
    """a line under the figure's title, e.g. where the model comes from"""

    def save(self, fig, default_name: str, rows: list[dict], title: str = "", suffix: str = ""):
        """The figure as --name (or `default_name`) + suffix, its title followed by --note."""
        if title := "\n".join(t for t in (title, self.note) if t):
            fig.suptitle(title, fontsize=8)
        save(fig, self.out_dir, (self.name or default_name) + suffix, rows)


@dataclass
class ModelFigure(Figure):
    device: str = "auto"
    """torch device for the CLIP model: auto (cuda if available), cpu, cuda, ..."""
    look: Look = "paper"
    """the look of Humanoid and MountainCar frames, as vlmrm_sac.py's --look (the CLIPs trained here: generated)"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files, as vlmrm_sac.py's --look-dir"""


@dataclass
class Landscape(ModelFigure):
    """Fig. 2: the CLIP reward as CartPole's pole angle and MountainCar's position sweep, one line per alpha."""

    clip_model: str = DEFAULT_MODEL
    """CLIP model (hub id or local directory)"""
    mountaincar_clip_model: Optional[str] = None
    """another CLIP model for the MountainCar panels (default: --clip-model), e.g. one trained on MountainCar's frames"""
    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    """goal-baseline regularization strengths to plot"""
    points: int = 61
    """states per sweep"""

    def run(self):
        sweeps = [  # (env, look, x label, states, x values, goal)
            ("CartPole-v1", "stock", "pole angle (rad)", lambda v: [0, 0, v, 0], np.linspace(-0.3, 0.3, self.points), 0.0),
            ("MountainCarContinuous-v0", "stock", "car position", lambda v: [v, 0], np.linspace(*vlmrm_sac.MOUNTAINCAR_X_RANGE, self.points), vlmrm_sac.MOUNTAINCAR_GOAL),
            ("MountainCarContinuous-v0", self.look, "car position", lambda v: [v, 0], np.linspace(*vlmrm_sac.MOUNTAINCAR_X_RANGE, self.points), vlmrm_sac.MOUNTAINCAR_GOAL),
        ]
        names = {"CartPole": self.clip_model, "MountainCarContinuous": self.mountaincar_clip_model or self.clip_model}
        models = {name: clip_model(name, *PAPER_PROMPTS["CartPole"], self.device) for name in set(names.values())}
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
        rows, cmap = [], plt.get_cmap("viridis")
        for ax, (env_id, look, xlabel, state, xs, goal) in zip(axes, sweeps):
            frames = render_states(env_id, np.array([state(v) for v in xs]), look, self.look_dir)
            family = vlmrm_sac.env_family(env_id)  # each model is loaded once; the prompts are the env's
            for alpha, r in rewards_by_alpha(models[names[family]], frames, self.alphas, PAPER_PROMPTS[family]).items():
                ax.plot(xs, rescale(r), color=cmap(alpha))
                rows += [{"env": env_id, "look": look, "model": names[family], "x": float(x), "alpha": alpha,
                          "reward": float(v), "reward_rescaled": float(s)} for x, v, s in zip(xs, r, rescale(r))]
            ax.axvline(goal, color="k", ls="--", lw=1)
            ax.set(xlabel=xlabel, ylabel="CLIP reward (rescaled)", title=f"{vlmrm_sac.env_family(env_id)} ({look})")
        fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1)), ax=axes, label="alpha")
        self.save(fig, "landscape", rows, title=f"Reward landscapes: {' / '.join(dict.fromkeys(names.values()))}")


@dataclass
class LabelledStates(ModelFigure):
    """Frames with binary goal labels and the prompts to score them, shared by `epic` and `reward-hist`."""

    clip_models: tuple[str, ...] = (DEFAULT_MODEL,)
    """CLIP models to compare (hub ids or local directories)"""
    env_id: str = "CartPole-v1"
    """labels from ground truth over uniformly sampled states (CartPole, MountainCar) ..."""
    eval_dir: Optional[str] = None
    """... or from a labelled evaluation directory (frames/ + frame_labels.csv or labels.csv)"""
    prompt: Optional[str] = None
    """goal prompt (default: the paper's for the env)"""
    baseline_prompt: Optional[str] = None
    """baseline prompt (default: the paper's for the env)"""
    states: int = 500
    """uniformly sampled states (ground-truth labels)"""
    seed: int = 0
    """seed of the sampled states"""

    def load(self):
        """(frames (N, H, W, 3) uint8, labels (N,) bool, goal prompt, baseline prompt)."""
        default = PAPER_PROMPTS.get(vlmrm_sac.env_family(self.env_id), (None, None))
        goal, baseline = self.prompt or default[0], self.baseline_prompt or default[1]
        if not goal or not baseline:
            raise SystemExit(f"error: no paper prompts for {self.env_id}: pass --prompt and --baseline-prompt")
        if self.eval_dir:
            return (*labelled_frames(self.eval_dir), goal, baseline)
        states, labels = ground_truth_states(self.env_id, self.states, self.seed)
        return render_states(self.env_id, states, self.look, self.look_dir), labels, goal, baseline


@dataclass
class Epic(LabelledStates):
    """Fig. 4: EPIC distance between the CLIP reward and binary goal labels, against alpha (one line per
    model) and, at alpha 0, against log10(parameters)."""

    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    """goal-baseline regularization strengths"""

    def run(self):
        frames, labels, goal, baseline = self.load()
        rows = []
        for name in self.clip_models:
            model = clip_model(name, goal, baseline, self.device)
            parameters = n_parameters(model)
            for alpha, r in rewards_by_alpha(model, frames, self.alphas).items():
                rows.append({"model": name, "parameters": parameters, "alpha": alpha,
                             "epic": epic_distance(r, labels), "states": len(labels), "goal_states": int(labels.sum())})
        fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(10, 3.6))
        for name in self.clip_models:
            mine = [r for r in rows if r["model"] == name]
            ax_a.plot([r["alpha"] for r in mine], [r["epic"] for r in mine], marker="o", label=name.split("/")[-1])
        ax_a.set(xlabel="alpha", ylabel="EPIC distance", title="(a) EPIC distance vs alpha")
        ax_a.legend(fontsize=7)
        at0 = [r for r in rows if r["alpha"] == 0.0]
        ax_b.plot([math.log10(r["parameters"]) for r in at0], [r["epic"] for r in at0], marker="o")
        for r in at0:
            ax_b.annotate(r["model"].split("/")[-1], (math.log10(r["parameters"]), r["epic"]), fontsize=6)
        ax_b.set(xlabel="log10(parameters)", ylabel="EPIC distance (alpha 0)", title="(b) EPIC distance vs model size")
        self.save(fig, "epic", rows)


@dataclass
class RewardHist(LabelledStates):
    """Fig. 7: standardized CLIP rewards of goal and non-goal states, one panel per model."""

    alpha: float = 0.0
    """goal-baseline regularization strength"""

    def run(self):
        frames, labels, goal, baseline = self.load()
        fig, axes = plt.subplots(1, len(self.clip_models), figsize=(4 * len(self.clip_models), 3.2), squeeze=False)
        rows = []
        for ax, name in zip(axes[0], self.clip_models):
            r = rewards_by_alpha(clip_model(name, goal, baseline, self.device), frames, [self.alpha])[self.alpha]
            z = (r - r.mean()) / (r.std() or 1.0)
            bins = np.linspace(z.min(), z.max(), 30)
            ax.hist(z[labels], bins, alpha=0.6, density=True, label="goal")
            ax.hist(z[~labels], bins, alpha=0.6, density=True, label="not goal")
            ax.set(xlabel="standardized CLIP reward", title=name.split("/")[-1])
            ax.legend(fontsize=7)
            rows += [{"model": name, "alpha": self.alpha, "goal": int(g), "reward": float(v), "standardized": float(s)}
                     for g, v, s in zip(labels, r, z)]
        self.save(fig, "reward_hist", rows)


def run_rule(a: dict) -> str:
    """A run's --reward-rule from its args.json (runs from before the flag used the projection)."""
    return a.get("reward_rule", "projection")


def run_goal(a: dict) -> Optional[str]:
    """The pose a run's prompt asks for, from its args.json, by the rule its evaluation labels success with."""
    return vlmrm_sac.goal_pose(vlmrm_sac.Args(env_id=a["env_id"], prompt=tuple(a["prompt"])))


def read_runs(patterns) -> dict:
    """{"env experiment (reward r)": [episode rows of each seed's metrics.csv]} of the run directories matching
    `patterns`."""
    dirs = sorted({Path(p) for pattern in patterns for p in glob.glob(pattern) if (Path(p) / "metrics.csv").exists()})
    if not dirs:
        raise SystemExit(f"error: no run with a metrics.csv matches {list(patterns)}")
    groups = {}
    for d in dirs:
        args = json.loads((d / "args.json").read_text())
        episodes = [r for r in read_csv(d / "metrics.csv") if r["kind"] == "episode"]
        # the look, where it is not the paper's and the env has one; runs from before --look drew "textured" in code
        look = args.get("look") or ("generated" if args.get("textured", True) else "stock")
        look = look if vlmrm_sac.env_family(args["env_id"]) in vlmrm_sac.LOOK_FAMILIES else "paper"
        label = f"{args['env_id']} {args['exp_name']} (reward {args['reward']}{'' if look == 'paper' else f', {look} look'})"
        groups.setdefault(label, []).append(episodes)
    return groups


def over_seeds(runs: list, metric: str, bins: int):
    """A metric's episodes averaged in `bins` windows of env steps per seed: (window centers, mean, min, max over
    seeds), the windows without data left out."""
    last = max(int(r["global_step"]) for ep in runs for r in ep)
    edges = np.linspace(0, last, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    per_seed = np.full((len(runs), bins), np.nan)
    for s, episodes in enumerate(runs):
        steps = np.array([int(r["global_step"]) for r in episodes if r.get(metric, "") != ""])
        values = np.array([float(r[metric]) for r in episodes if r.get(metric, "") != ""])
        which = np.clip(np.searchsorted(edges, steps, side="left") - 1, 0, bins - 1)
        for b in range(bins):
            if (which == b).any():
                per_seed[s, b] = values[which == b].mean()
    ok = ~np.isnan(per_seed).all(0)
    return centers[ok], np.nanmean(per_seed[:, ok], 0), np.nanmin(per_seed[:, ok], 0), np.nanmax(per_seed[:, ok], 0)


def steps_axis(ax):
    ax.set_xlabel("environment steps")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda x, _: "0" if not x else f"{x / 1e6:g}M" if x >= 1e6 else f"{x / 1000:g}k"))  # "1250k" crowds the next


@dataclass
class Curves(Figure):
    """Training curves from runs/*/metrics.csv: mean and spread over seeds, one panel per metric and env."""

    runs: tuple[str, ...] = ("runs/*",)
    """run directories or glob patterns (each with args.json and metrics.csv)"""
    bins: int = 30
    """episodes are averaged in this many windows of env steps"""

    def run(self):
        groups = read_runs(self.runs)
        metrics = [m for m in ("clip_return", "env_return", "success")
                   if any(r[m] != "" for runs in groups.values() for ep in runs for r in ep)]
        envs = list(dict.fromkeys(group.split()[0] for group in groups))  # one row of panels per env
        fig, axes = plt.subplots(len(envs), len(metrics), figsize=(4.5 * len(metrics), (3.4 + 0.15 * len(groups)) * len(envs)),
                                 squeeze=False, layout="constrained")
        rows = []
        for group, runs in groups.items():
            row_axes = axes[envs.index(group.split()[0])]
            for ax, metric in zip(row_axes, metrics):
                centers, mean, lo, hi = over_seeds(runs, metric, self.bins)
                ax.plot(centers, mean, label=f"{group}, {len(runs)} seed(s)")
                ax.fill_between(centers, lo, hi, alpha=0.25)
                ax.set(ylabel=metric.replace("_", " "), title=metric.replace("_", " "))
                steps_axis(ax)
                rows += [{"group": group, "metric": metric, "step": float(c), "mean": float(m), "min": float(a),
                          "max": float(b), "seeds": len(runs)} for c, m, a, b in zip(centers, mean, lo, hi)]
        if len(envs) == 1:
            fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", fontsize=7)  # off the data
        else:
            for row_axes in axes:
                row_axes[0].legend(fontsize=6)
        self.save(fig, "curves", rows, title="mean over seeds, shaded: min..max over seeds")


@dataclass
class Prompts(Figure):
    """What the frames look like to the model during training (runs with --log-prompt): each logged sentence's CLIP
    return beside the goal's, the share of frames on which the goal beats every logged sentence (CLIP's zero-shot
    vote), and the ground-truth return. An agent that games its reward shows a logged sentence rising with the goal."""

    runs: tuple[str, ...] = ("runs/*",)
    """run directories or glob patterns of runs with the same --log-prompt sentences (one figure row per group)"""
    bins: int = 30
    """episodes are averaged in this many windows of env steps"""

    def run(self):
        groups = {g: runs for g, runs in read_runs(self.runs).items() if "goal_vote_share" in runs[0][0]}
        if not groups:
            raise SystemExit(f"error: no run matching {list(self.runs)} logged prompts (vlmrm_sac.py --log-prompt)")
        fig, axes = plt.subplots(len(groups), 3, figsize=(14, 3.6 * len(groups)), squeeze=False, layout="constrained")
        rows = []
        for (group, runs), row_axes in zip(groups.items(), axes):
            logged = [c for c in runs[0][0] if c.startswith("clip_return[")]
            panels = [(row_axes[0], ["clip_return", *logged], "CLIP return"), (row_axes[1], ["goal_vote_share"],
                      "share of frames where the goal beats every logged prompt"), (row_axes[2], ["env_return"],
                      "ground-truth return")]
            for ax, metrics, title in panels:
                for metric in metrics:
                    centers, mean, lo, hi = over_seeds(runs, metric, self.bins)
                    label = {"clip_return": "the goal prompt"}.get(metric, metric.removeprefix("clip_return[").removesuffix("]"))
                    ax.plot(centers, mean, label=label, linestyle="--" if metric in logged else "-")
                    ax.fill_between(centers, lo, hi, alpha=0.2)
                    rows += [{"group": group, "metric": metric, "step": float(c), "mean": float(m), "min": float(a),
                              "max": float(b), "seeds": len(runs)} for c, m, a, b in zip(centers, mean, lo, hi)]
                ax.set(title=title, ylim=(0, 1) if metrics == ["goal_vote_share"] else None)
                steps_axis(ax)
            row_axes[0].legend(fontsize=7)
            row_axes[0].set_ylabel(f"{group}\n{len(runs)} seed(s)", fontsize=8)
        self.save(fig, "prompts", rows, title="mean over seeds, shaded: min..max over seeds")


QUARTERS = (0, 25, 50, 75, 100)  # the paper's labels: the percent of an episode's steps that show the goal


def quarter(share: float) -> int:
    """An episode's label from the share of its steps that show the goal (0-1): the quarter at or below it, so that
    the episodes labelled 50% or more are exactly those that succeed (vlmrm_sac.pose_success)."""
    return 25 * math.floor(4 * share)


def fig5(groups: dict, xlabel: str):
    """Fig. 5/6/8, the one drawing of it: {name: (each episode's share of steps that show the goal (0-1), legend note)}
    -> (figure, rows): per group, the fraction of its episodes in each quarter (quarter()), and its success rate
    (pose_success), which is the sum of its 50, 75 and 100% bars."""
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(groups), 3.4), layout="constrained")
    rows, width = [], 0.8 / len(groups)
    for k, (name, (shares, note)) in enumerate(groups.items()):
        labels = [quarter(s) for s in shares]
        counts = [labels.count(q) / len(labels) for q in QUARTERS]
        success = float(np.mean([vlmrm_sac.pose_success(s) for s in shares]))
        ax.bar(np.arange(5) + k * width, counts, width, label=f"{name} ({success:.0%} success, {note}n={len(shares)})")
        rows += [{"name": name, "goal_percent": q, "fraction": c, "episodes": len(shares), "success_rate": success}
                 for q, c in zip(QUARTERS, counts)]
    ax.set_xticks(np.arange(5) + width * (len(groups) - 1) / 2, [f"{q}%" for q in QUARTERS])
    ax.set(xlabel=f"{xlabel},\nrounded down to a quarter (50% and more: a success)", ylabel="fraction of episodes")
    ax.legend(fontsize=7)
    return fig, rows


@dataclass
class Success(Figure):
    """Fig. 5/6/8: histograms of the share of steps that show the goal, per task / model / alpha."""

    labels: tuple[str, ...] = ()
    """NAME=PATH pairs of labels.csv files (episode, goal_share: a percent, 0/25/50/75/100), one bar group each"""

    def run(self):
        if not self.labels:
            raise SystemExit("error: pass --labels NAME=runs/<run>/eval_<step>/labels.csv ...")
        groups = {}
        for pair in self.labels:
            name, _, path = pair.partition("=")
            percents = [int(float(r["goal_share"])) for r in read_csv(path) if r["goal_share"].strip() != ""]
            if not percents or any(v not in QUARTERS for v in percents):
                raise SystemExit(f"error: {path}: goal_share must be filled in with 0, 25, 50, 75 or 100 for some episodes")
            groups[name] = ([v / 100 for v in percents], "")  # each episode's share of steps (0-1)
        fig, rows = fig5(groups, "share of steps that show the goal")
        self.save(fig, "success", rows)


@dataclass
class Poses(Figure):
    """Fig. 5 for the humanoid, labelled from the state: per prompt, the share of each evaluated episode's steps in
    the prompt's pose (HumanoidPoses, the eval.csv's <pose>_share columns) in the paper's quarters (fig5), and the
    prompt x pose table of success rates (vlmrm_sac.pose_success: the pose in at least half of an episode's steps)."""

    evals: tuple[str, ...] = ()
    """NAME=PATTERN pairs: a prompt's name and the eval directories (globs) of its runs, e.g. kneeling='runs/*kneel*/eval_*'
    (a run's last evaluation counts)"""
    poses: tuple[str, ...] = ("kneeling", "standing")
    """the poses of the table's columns (vlmrm_sac.POSES); the histogram shows each prompt's own pose"""

    def run(self):
        if not self.evals:
            raise SystemExit("error: pass --evals NAME=runs/<run>/eval_<step> ... (Humanoid evaluations)")
        groups, rows = {}, []
        for pair in self.evals:
            name, _, pattern = pair.partition("=")
            found = sorted(f for d in glob.glob(pattern) for f in [Path(d) / "eval.csv"] if f.exists())
            files = list({f.parent.parent: f for f in found}.values())  # per run, its last evaluation
            if not files:
                raise SystemExit(f"error: no eval.csv under {pattern}")
            episodes = [r for f in files for r in read_csv(f)]
            pose = vlmrm_sac.POSE_OF_PROMPT.get(name.split(" (")[0], name)  # "<prompt> (<reward model>)"
            if f"{pose}_share" not in episodes[0]:
                raise SystemExit(f"error: {files[0]} has no {pose}_share column (a Humanoid evaluation names each of "
                                 f"{', '.join(vlmrm_sac.POSES)})")
            groups[name] = ([float(r[f"{pose}_share"]) for r in episodes], f"{len(files)} run(s), ")
            for p in self.poses:
                shares = [float(r[f"{p}_share"]) for r in episodes]
                labels = [quarter(s) for s in shares]
                rows.append({"prompt": name, "pose": p, "success_rate": float(np.mean([vlmrm_sac.pose_success(s) for s in shares])),
                             "mean_share": float(np.mean(shares)), "runs": len(files), "episodes": len(shares),
                             **{f"fraction_{q}": labels.count(q) / len(labels) for q in QUARTERS}})
        fig, _ = fig5(groups, "share of the episode's steps in the prompt's pose (state labels)")
        self.save(fig, "poses", rows)
        print("prompt x pose success: " + "; ".join(f"{r['prompt']} -> {r['pose']} {r['success_rate']:.0%}" for r in rows))


def reward_setup(a: dict) -> tuple[str, str]:
    """(reward model, rule) of a run's args.json, named as tests/reward_yardstick.py names its rows."""
    model, rule = Path(a["clip_model"]).name, run_rule(a)
    if rule != "projection":
        return model, rule
    near_miss = a["alpha"] > 0 and a["baseline_prompt"] == ["a humanoid robot on one knee"]
    return model, f"{'near miss' if near_miss else 'projection'}, alpha {a['alpha']:g}"


@dataclass
class Yardstick(Figure):
    """Fig. 4 for the humanoid with the reward models trained here: the yardstick's EPIC distance to the kneeling
    labels (tests/reward_yardstick.py) (a) against alpha, a line per model, (b) at alpha 0 against parameters, by
    input size, (c) each kneeling run's success (its last evaluation) against the EPIC of its model and rule."""

    data: str = "results/yardstick/kneeling.csv"
    """the yardstick's CSV: a row per reward model and rule"""
    results: str = "results"
    """the results folder: the kneeling runs are found in runs/humanoid_poses/ by their args.json"""

    def run(self):
        rows = read_csv(self.data)
        epic = {(r["model"], r["rule"]): float(r["epic"]) for r in rows}
        fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(14, 3.9), layout="constrained")
        for model in dict.fromkeys(r["model"] for r in rows):
            line = [r for r in rows if r["model"] == model and r["rule"].startswith("projection")]
            ax_a.plot([float(r["alpha"]) for r in line], [float(r["epic"]) for r in line], marker="o", label=model)
        ax_a.set(xlabel="alpha (baseline \"a humanoid robot\")", ylabel="EPIC distance", title="(a) EPIC vs alpha")
        ax_a.legend(fontsize=6)
        for size in sorted({int(r["image_size"]) for r in rows}):
            at0 = [r for r in rows if r["rule"] == "projection, alpha 0" and int(r["image_size"]) == size]
            ax_b.scatter([math.log10(int(r["parameters"])) for r in at0], [float(r["epic"]) for r in at0], label=f"{size} px")
            for r in at0:
                ax_b.annotate(r["model"], (math.log10(int(r["parameters"])), float(r["epic"])), fontsize=6)
        ax_b.set(xlabel="log10(parameters)", ylabel="EPIC distance (alpha 0)", title="(b) EPIC vs model size, by input size")
        ax_b.legend(fontsize=7)
        points = []
        for args in sorted(Path(self.results, "runs", "humanoid_poses").glob("*/args.json")):
            a = json.loads(args.read_text())
            evals = sorted(args.parent.glob("eval_*/eval.csv"))
            if a["prompt"] != ["a humanoid robot kneeling"] or not evals:
                continue
            setup = reward_setup(a)
            points.append({"run": args.parent.name, "model": setup[0], "rule": setup[1], "epic": epic.get(setup, math.nan),
                           "evaluation": evals[-1].parent.name,
                           "success": float(np.mean([float(r["success"]) for r in read_csv(evals[-1])]))})
        for setup in dict.fromkeys((p["model"], p["rule"]) for p in points):
            mine = [p for p in points if (p["model"], p["rule"]) == setup]
            ax_c.scatter([p["epic"] for p in mine], [100 * p["success"] for p in mine], label=" / ".join(setup))
            for p in mine:  # the step of the evaluated checkpoint: runs of different lengths share the panel
                ax_c.annotate(f"{int(p['evaluation'][5:]) / 1e6:.2g}M", (p["epic"], 100 * p["success"]), fontsize=6)
        ax_c.set(xlabel="EPIC distance of the run's reward", ylabel="episodes kneeling (%)",
                 title="(c) kneeling success vs EPIC, a point per run")
        ax_c.legend(fontsize=6)
        self.save(fig, "yardstick_humanoid", points)


SPIN_LATE = 0.25  # the share of a spin run's last transitions that measures it


def spin_row(run_dir: Path, late: float = SPIN_LATE) -> dict:
    """A spin run's row of spin.csv, from its committed args.json and angular_velocity.npy (every transition's
    angular velocity in the order added): over the last `late` share, the share of steps turning the prompt's way
    (clockwise on the screen: angular velocity < 0) and the mean angular velocity."""
    args = json.loads((run_dir / "args.json").read_text())
    _, model, prompt = args["exp_name"].split("_", 2)  # spin_{xclip,clip}_{clockwise,counterclockwise}
    omega = np.load(run_dir / "angular_velocity.npy").astype(np.float64)
    omega = omega[-int(late * len(omega)):]
    clockwise = float((omega < 0).mean())
    return {"model": model, "prompt": prompt, "seed": args["seed"],
            "share_of_prompt_direction": round(clockwise if prompt == "clockwise" else 1 - clockwise, 4),
            "mean_angular_velocity": round(float(omega.mean()), 4), "run": run_dir.name}


@dataclass
class Spin(Figure):
    """Goals of motion: Pendulum spun by SAC trained on "a pendulum spinning clockwise" / "... counterclockwise",
    rewarded by a video model (windows of K frames) or a single-frame one (tests/spin_experiment.py's spin.csv)."""

    data: str = "results/runs/pendulum_spin/spin.csv"
    """one row per run: model, prompt, seed, share_of_prompt_direction, mean_angular_velocity"""

    def run(self):
        rows = read_csv(self.data)
        groups = list(dict.fromkeys((r["model"], r["prompt"]) for r in rows))
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        for ax, column, label in ((axes[0], "share_of_prompt_direction", "late steps turning the prompt's way"),
                                  (axes[1], "mean_angular_velocity", "mean angular velocity (rad/s, < 0: clockwise)")):
            for k, group in enumerate(groups):
                values = [float(r[column]) for r in rows if (r["model"], r["prompt"]) == group]
                ax.bar(k, np.mean(values), color="C0" if group[0] == "xclip" else "C7", alpha=0.6)
                ax.plot([k] * len(values), values, "k.", ms=5)
            ax.set_xticks(range(len(groups)), [f"{m}\n{p}" for m, p in groups], fontsize=7)
            ax.set_ylabel(label, fontsize=8)
            ax.axhline(0.5 if column.startswith("share") else 0.0, color="grey", lw=0.8, ls="--")
        self.save(fig, "spin", rows, title="Pendulum, SAC on the reward of a spinning prompt (dots: seeds; models of a "
                                           "toy world, trained on this project's clips)")


@dataclass
class Probe(ModelFigure):
    """Does the model understand my prompt? Score a few hundred varied states of an env before any RL and
    save a sheet of the top and bottom frames with their rewards, plus the reward histogram per alpha."""

    prompt: str = "a humanoid robot kneeling"
    """the goal prompt to probe"""
    baseline_prompt: str = "a humanoid robot"
    """its baseline prompt"""
    env_id: str = "Humanoid-v5"
    """the env whose varied states are scored"""
    clip_model: str = DEFAULT_MODEL
    """CLIP model (hub id or local directory)"""
    alphas: tuple[float, ...] = (0.0, 0.5, 1.0)
    """goal-baseline regularization strengths (the sheet ranks by the first)"""
    states: int = 300
    """states to render and score"""
    top: int = 8
    """frames shown at each end of the ranking"""
    render_size: int = 480
    """frame height and width of MuJoCo envs"""
    seed: int = 0
    """seed of the varied states"""

    def run(self):
        model = clip_model(self.clip_model, self.prompt, self.baseline_prompt, self.device)  # errors before rendering
        frames = probe_frames(self.env_id, self.states, self.seed, self.render_size, self.look, self.look_dir)
        by_alpha = rewards_by_alpha(model, frames, self.alphas)
        rows = [{"state": i, "alpha": a, "reward": float(r[i])} for a, r in by_alpha.items() for i in range(len(frames))]
        fig, axes = plt.subplots(1, len(self.alphas), figsize=(4 * len(self.alphas), 3), squeeze=False)
        for ax, (alpha, r) in zip(axes[0], by_alpha.items()):
            ax.hist(r, 30)
            ax.set(xlabel="CLIP reward", ylabel="states", title=f"alpha {alpha}")
        self.save(fig, "probe", rows, f"'{self.prompt}' vs '{self.baseline_prompt}' on {len(frames)} {self.env_id} states",
                  suffix="_hist")
        alpha = self.alphas[0]
        order = np.argsort(by_alpha[alpha])[::-1]
        k = min(self.top, len(frames) // 2)
        picks = [("top", i) for i in order[:k]] + [("bottom", i) for i in order[-k:]]
        fig, axes = plt.subplots(2, k, figsize=(1.8 * k, 4.2), squeeze=False)
        for ax, (where, i) in zip(axes.flat, picks):
            ax.imshow(frames[i])
            ax.set_title(f"{where} {by_alpha[alpha][i]:.4f}", fontsize=7)
            ax.axis("off")
        rows = [{"rank": n, "where": w, "state": int(i), "alpha": alpha, "reward": float(by_alpha[alpha][i])}
                for n, (w, i) in enumerate(picks)]
        self.save(fig, "probe", rows, f"highest (top row) and lowest CLIP rewards, alpha {alpha}: '{self.prompt}'",
                  suffix="_sheet")


@dataclass
class Sheets:
    """One contact sheet per evaluated episode (a grid of its frames with step numbers), to label from."""

    eval_dir: str
    """an evaluation directory written by vlmrm_sac.py --eval-checkpoint (holds frames/episode_XXX.npz)"""
    columns: int = 10
    """frames per row of a sheet"""
    every: int = 4
    """show every this many steps"""

    def run(self):
        files = sorted(Path(self.eval_dir, "frames").glob("episode_*.npz"))
        if not files:
            raise SystemExit(f"error: no frames/episode_*.npz in {self.eval_dir}")
        out = Path(self.eval_dir) / "sheets"
        out.mkdir(exist_ok=True)
        for path in tqdm(files, desc="contact sheets", unit="episode"):
            data = np.load(path)
            steps = np.arange(0, len(data["frames"]), self.every)
            rows = math.ceil(len(steps) / self.columns)
            fig, axes = plt.subplots(rows, self.columns, figsize=(1.6 * self.columns, 1.7 * rows), squeeze=False)
            for ax in axes.flat:
                ax.axis("off")
            for ax, t in zip(axes.flat, steps):
                ax.imshow(data["frames"][t])
                ax.set_title(f"step {t}  r={data['clip_rewards'][t]:.3f}", fontsize=6)
            fig.suptitle(f"{path.stem}: label the share of steps that show the goal", fontsize=8)
            fig.tight_layout()
            fig.savefig(out / f"{path.stem}.png", dpi=80)
            plt.close(fig)
        print(f"wrote {len(files)} contact sheets to {out}")


@dataclass
class PolicySheets:
    """A humanoid policy's contact sheet: what a trained policy shows, frames of its evaluated episodes (rows) at
    evenly spaced steps (columns), drawn again from states.npz as its run drew them, each titled with its poses."""

    eval_dirs: tuple[str, ...] = ()
    """evaluation directories (eval_<step>) holding states.npz, of runs with args.json beside them"""
    out_dir: str = "results/frames/policies"
    """folder for the PNGs, one per evaluation, named after its run"""
    episodes: int = 6
    """rows: episodes spread evenly over the evaluation"""
    steps: int = 8
    """columns: steps spread evenly over each episode, its last included"""
    size: int = 128
    """frame height and width"""

    def run(self):
        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        labeller = vlmrm_sac.HumanoidPoses()
        for eval_dir in map(Path, self.eval_dirs):
            if not (eval_dir / "states.npz").exists():
                raise SystemExit(f"error: {eval_dir} has no states.npz (an evaluation of a Humanoid run saves one)")
            run = json.loads((eval_dir.parent / "args.json").read_text())
            qpos = np.load(eval_dir / "states.npz")["qpos"]  # (episodes, steps, nq)
            rows = np.linspace(0, len(qpos) - 1, min(self.episodes, len(qpos))).round().astype(int)
            cols = np.linspace(0, qpos.shape[1] - 1, self.steps).round().astype(int)
            states = qpos[rows][:, cols].reshape(-1, qpos.shape[2])
            renderer = vlmrm_sac.WarpRenderer(vlmrm_sac.Args(env_id=run["env_id"], look=run["look"], look_dir=run["look_dir"],
                                                             render_size=self.size, paper_camera=run["paper_camera"],
                                                             device="cpu"), nworld=len(states))
            frames = torch.zeros((len(states), self.size, self.size, 3), dtype=torch.uint8)
            renderer.render(states, frames)
            goal = run_goal(run)
            fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.3 * len(cols), 1.45 * len(rows)), squeeze=False)
            for ax, frame, q, (e, t) in zip(axes.flat, frames.numpy(), states, [(e, t) for e in rows for t in cols]):
                shown = [p for p, on in labeller(q.astype(np.float64)).items() if on]
                ax.imshow(frame)
                ax.set_title(f"ep {e} step {t}\n" + (", ".join(shown) or "no pose"), fontsize=6,
                             color="green" if goal in shown else "black")
                ax.set_axis_off()
            fig.suptitle(f"{eval_dir.parent.name} {eval_dir.name}: {run['prompt'][0]!r}, "
                         f"{Path(run['clip_model'] or '').name}; poses labelled from the state (green: the goal's)", fontsize=7)
            path = out / f"{eval_dir.parent.name}__{eval_dir.name}.png"
            fig.savefig(path, dpi=90, bbox_inches="tight")
            plt.close(fig)
            print(f"wrote {path}: episodes {', '.join(map(str, rows))} at steps {', '.join(map(str, cols))}")


@dataclass
class Relabel:
    """A humanoid evaluation's eval.csv with its pose columns (and a pose goal's success) labelled again from its
    states.npz by vlmrm_sac.HumanoidPoses: for evaluations made before the labeller knew a pose."""

    eval_dirs: tuple[str, ...] = ()
    """evaluation directories (eval_<step>) holding eval.csv and states.npz"""

    def run(self):
        poses, columns = vlmrm_sac.HumanoidPoses(), [f"{p}_share" for p in vlmrm_sac.POSES]
        for eval_dir in map(Path, self.eval_dirs):
            if not (eval_dir / "states.npz").exists():
                raise SystemExit(f"error: {eval_dir} has no states.npz (an evaluation of a Humanoid run saves one)")
            rows, qpos = read_csv(eval_dir / "eval.csv"), np.load(eval_dir / "states.npz")["qpos"]
            if len(rows) != len(qpos):
                raise SystemExit(f"error: {eval_dir}: {len(rows)} rows of eval.csv, {len(qpos)} episodes of states.npz")
            run = json.loads((eval_dir.parent / "args.json").read_text())
            goal = run_goal(run)
            for row, episode in zip(rows, qpos):
                row.update(poses.shares(episode.astype(np.float64)))
                if goal:
                    row["success"] = int(vlmrm_sac.pose_success(row[f"{goal}_share"]))
            header = [c for c in rows[0] if c not in columns] + columns
            with open(eval_dir / "eval.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, header)
                writer.writeheader()
                writer.writerows(rows)
            print(f"{eval_dir}: {len(rows)} episodes labelled with {', '.join(vlmrm_sac.POSES)}")


@dataclass
class Frames:
    """One PNG per look (the humanoid's paper camera and look and their ablations, the generated look,
    CartPole, MountainCar's paper, stock and generated looks)."""

    out_dir: str = "figures/frames"
    """folder for the PNGs (the committed ones are in results/frames)"""
    looks: tuple[str, ...] = tuple(LOOKS)
    """the looks to draw (the paper looks need the authors' images: downloaded, or --look-dir)"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files, as vlmrm_sac.py's --look-dir"""
    render_size: int = 480
    """frame height and width of the humanoid"""
    steps: int = 10
    """zero-action steps after the reset (the humanoid settles a little, still standing)"""

    def run(self):
        import imageio

        out = Path(self.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frames = {}
        for name in self.looks:
            env_id, kwargs = LOOKS[name]
            env = vlmrm_sac.make_env(env_id, render_size=self.render_size, **{"look_dir": self.look_dir, **kwargs})
            env.reset(seed=0)
            space = env.action_space
            for _ in range(self.steps):
                env.step(np.zeros(space.shape, space.dtype) if hasattr(space, "low") else 1)
            frames[name] = frame = env.render()
            env.close()
            imageio.imwrite(out / f"{name}.png", frame)
        print(f"wrote {len(frames)} PNGs to {out}")


@dataclass
class All:
    """Every figure whose data is in results/ (training runs, labels), with no GPU and no model download.
    The figures that need a CLIP model are listed with their command instead."""

    results: str = "results"
    """the results folder: runs/<group>/<run>/ and labels/*.csv"""
    out_dir: str = "results/figures"
    """folder for the PNG, PDF and CSV"""

    def run(self):
        made = []
        for runs_dir in sorted(Path(self.results, "runs").glob("*")):  # results/runs/<group>/<run>/
            if any(runs_dir.glob("*/metrics.csv")):
                models = {Path(json.loads(a.read_text()).get("clip_model") or "").name for a in runs_dir.glob("*/args.json")
                          if "mini_clip" in (json.loads(a.read_text()).get("clip_model") or "")}
                note = f"reward: small CLIP(s) trained on this project's frames ({', '.join(sorted(models))})" if models else ""
                Curves(runs=(str(runs_dir / "*"),), name=f"curves_{runs_dir.name}", out_dir=self.out_dir, note=note).run()
                made.append(f"curves_{runs_dir.name}")
            if any("goal_vote_share" in p.open().readline() for p in runs_dir.glob("*/metrics.csv")):
                Prompts(runs=(str(runs_dir / "*"),), name=f"prompts_{runs_dir.name}", out_dir=self.out_dir).run()
                made.append(f"prompts_{runs_dir.name}")
        humanoid = Path(self.results, "runs", "humanoid_poses")
        if any(humanoid.glob("*/eval_*/eval.csv")):  # Fig. 5 from the state labels, a bar group per prompt and model
            groups = {}  # an experiment (the runs' exp_name) -> its bars' name: the prompt, and the model if not the first
            for run in sorted(humanoid.glob("*/eval_*/eval.csv")):
                a = json.loads((run.parent.parent / "args.json").read_text())
                model = Path(a["clip_model"]).name
                groups[run.parent.parent.name.split("__")[1]] = a["prompt"][0] + ("" if model == "humanoid_small" else f" ({model})")
            Poses(evals=tuple(f"{name}={humanoid}/*__{exp}__*/eval_*" for exp, name in groups.items()), name="poses_humanoid",
                  poses=vlmrm_sac.POSES, out_dir=self.out_dir, note="reward: small CLIPs trained on this project's frames (results/mini_clip/"
                  f"humanoid_small, or the one named)").run()
            made.append("poses_humanoid")
        if Path(self.results, "yardstick", "kneeling.csv").exists():
            Yardstick(data=str(Path(self.results, "yardstick", "kneeling.csv")), results=self.results, out_dir=self.out_dir,
                      note="reward models: small CLIPs trained on this project's frames (results/mini_clip), not the "
                           "paper's pretrained CLIP").run()
            made.append("yardstick_humanoid")
        for spin in sorted(Path(self.results, "runs").glob("*/spin.csv")):
            Spin(data=str(spin), out_dir=self.out_dir).run()
            made.append("spin")
        labels = sorted(Path(self.results, "labels").glob("*.csv"))
        if labels:
            Success(labels=tuple(f"{p.stem}={p}" for p in labels), out_dir=self.out_dir).run()
            made.append("success")
        print(f"made {len(made)} figure(s): {', '.join(made) or 'none'}")
        print("not made by `all`: landscape, epic, reward-hist and probe, which need a CLIP model (pretrained, or the "
              "ones trained here in results/mini_clip); their commands are in results/README.md")


# ======================================================================================
# Verify: every number of results/README.md and results/benchmarks.md, recomputed or visibly marked
# ======================================================================================
# A number of the two files is either recomputed here, from a committed file (metrics.csv, args.json, eval.csv,
# states.npz, spin.csv, a model's eval.json, figures/*.csv) or from the file's own tables, or it carries UNCHECKED, a
# markdown footnote that each file defines and a reader sees as a superscript. A recomputed number passes when it is
# the value rounded to its printed digits (recomputed from a table's rounded numbers: any value their rounding allows).
# A table is checkable when a rule below reads its rows (SEED_TABLES, summary_rules, ...); prose numbers are checked by
# CLAIMS. A rule whose row is gone, and a committed record a rule reads that is gone, fail by name. Not counted: numbers
# in `code` and in fenced or indented code (commands as typed), link targets, commit hashes, headings and table headers.

UNCHECKED = "[^unchecked]"  # on a paragraph or list item: its numbers; in a table's first header cell: the whole table;
# in another header cell: its column; in a body cell: that cell
NOT_COUNTED = re.compile(r"```[\s\S]*?```|`[^`\n]*`|\]\([^)\n]*\)|<!--[\s\S]*?-->|^#[^\n]*|^\[\^[\w-]+\]:[^\n]*|^ {4}[^\n]*"
                         r"|\[\^[\w-]+\]|\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b", re.M)
NUMBER = r"(?<![\w.])[-+]?\d(?:[\d,]*\d)?(?:\.\d+)?"  # not the 1 of "CartPole-v1", nor a trailing comma


def blank(text: str) -> str:
    """`text` with what is not counted (above) turned into spaces, its newlines kept: the same offsets as `text`."""
    return NOT_COUNTED.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def printed_numbers(text: str) -> list[str]:
    """The counted numbers of a text as printed, in order: "-1,233.5%" -> "-1233.5", "3.8k" -> "3.8" (as printed)."""
    return [m.replace(",", "") for m in re.findall(NUMBER, blank(text))]


def markdown_tables(path: Path):
    """(section heading, header cells, row cells, line number) of every table row of a markdown file; the cells
    without the mark UNCHECKED."""
    section, header = "", None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.replace(UNCHECKED, "").strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            yield section, header, cells, n


def number_blocks(text: str) -> list[dict]:
    """Every paragraph or list item (column None) and table body cell of a markdown file that holds counted numbers:
    {"lines": (first, last), "column", "numbers", "marked": whether UNCHECKED covers it}."""
    blocks, header, para = [], None, None
    for n, (raw, counted) in enumerate(zip(text.split("\n"), blank(text).split("\n")), 1):
        if raw.startswith("|"):
            para = None
            bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", raw)]
            cells = [(raw[a + 1:b], counted[a + 1:b]) for a, b in zip(bounds, bounds[1:])]
            if header is None:
                header = [UNCHECKED in c for c, _ in cells]
            elif not all(set(c.strip()) <= set("-: ") for c, _ in cells):
                blocks += [{"lines": (n, n), "column": k, "numbers": re.findall(NUMBER, counted_cell),
                            "marked": header[0] or (k < len(header) and header[k]) or UNCHECKED in c}
                           for k, (c, counted_cell) in enumerate(cells)]
            continue
        header = None
        if not raw.strip():
            para = None
            continue
        if para is None or re.match(r"\s*([-*]|\d+\.) ", raw):
            para = {"lines": (n, n), "column": None, "numbers": [], "marked": False}
            blocks.append(para)
        para["lines"] = (para["lines"][0], n)
        para["numbers"] += re.findall(NUMBER, counted)
        para["marked"] |= UNCHECKED in raw
    return [b for b in blocks if b["numbers"]]


@dataclass
class Tally:
    """What verify found in one markdown file: mismatches, and how many numbers of each table cell (line, column)
    and of each line of prose it recomputed."""

    errors: list = field(default_factory=list)
    cells: Counter = field(default_factory=Counter)
    lines: Counter = field(default_factory=Counter)

    def compare(self, where: str, cell: tuple, printed: list[str], expected: list):
        """The printed numbers of a table cell (line, column) against their values (None: a number not recomputed)."""
        found = mismatch(where, printed, expected)
        self.errors += found
        self.cells[cell] += sum(v is not None for v in expected)  # compared, whether or not they agree

    def claims(self, name: str, text: str, claims: list):
        """Prose numbers: each claim (what, pattern, values) finds its printed numbers as the pattern's groups (a space
        in the pattern matches any run of white space, line ends included); a claim that matches nothing fails."""
        for what, pattern, values in claims:
            found = list(re.finditer(pattern.replace(" ", r"\s+"), text))
            if not found:
                self.errors.append(f"{name}: {what}: no text matches {pattern!r}")
            for m in found:
                line = text.count("\n", 0, m.start()) + 1
                printed = [g.replace(",", "") for g in m.groups()]
                self.errors += mismatch(f"{name}:{line}: {what}", printed, values)
                for g in range(1, len(printed) + 1):
                    self.lines[text.count("\n", 0, m.start(g)) + 1] += 1

    def account(self, name: str, text: str, show: bool = False) -> dict:
        """{numbers, recomputed, marked, blocks marked} of a file's counted numbers; a number neither recomputed nor
        marked is an error naming its line. show: print each marked block's line and numbers."""
        counts = Counter()
        for b in number_blocks(text):
            first, last = b["lines"]
            done = self.cells[(first, b["column"])] if b["column"] is not None else sum(self.lines[k] for k in range(first, last + 1))
            done = min(done, len(b["numbers"]))
            counts["recomputed"], counts["numbers"] = counts["recomputed"] + done, counts["numbers"] + len(b["numbers"])
            if b["marked"]:
                counts["marked"] += len(b["numbers"]) - done
                if show:
                    print(f"  marked: {name}:{first}" + (f", column {b['column'] + 1}" if b["column"] is not None else "")
                          + f": {', '.join(b['numbers'])}" + (f" ({done} of them recomputed)" if done else ""))
                counts["table cells marked" if b["column"] is not None else "paragraphs marked"] += 1
            elif done < len(b["numbers"]):
                where = f"{name}:{first}" + (f", column {b['column'] + 1}" if b["column"] is not None else "")
                self.errors.append(f"{where}: {len(b['numbers']) - done} of its numbers neither recomputed nor marked "
                                   f"{UNCHECKED}: {', '.join(b['numbers'])}")
        return counts


def agrees(printed: str, value) -> bool:
    """A printed number agrees with a recomputed value if it is the value rounded to the printed digits; with a value
    (lo, hi), recomputed from rounded numbers, if any value between lo and hi rounds to it."""
    half = 0.5 * 10 ** -(len(printed.split(".")[1]) if "." in printed else 0)
    lo, hi = value if isinstance(value, tuple) else (value, value)
    return lo - half - 1e-9 <= float(printed) <= hi + half + 1e-9


def from_rounded(f, *printed: str) -> tuple:
    """(lo, hi) of f (monotone in each argument) over the values that the printed numbers may be rounded from."""
    half = lambda p: 0.5 * 10 ** -(len(p.split(".")[1]) if "." in p else 0)  # noqa: E731
    values = [f(*x) for x in itertools.product(*[(float(p) - half(p), float(p) + half(p)) for p in printed])]
    return min(values), max(values)


def mismatch(what: str, printed: list[str], expected: list) -> list[str]:
    if len(printed) == len(expected) and all(v is None or agrees(p, v) for p, v in zip(printed, expected)):
        return []
    shown = ", ".join("*" if v is None else f"{v[0]:.4g}..{v[1]:.4g}" if isinstance(v, tuple) else f"{v:.4g}"
                      for v in expected) or "nothing"
    return [f"{what}: found {', '.join(printed) or 'nothing'}, expected {shown}"]


def seed_numbers(part: str) -> list[str]:
    """One seed's part of a per-seed cell, "197 (from 3.8k)" -> ["197", "3.8"]: its leading number and the step of a
    "(from ...k", "(at ...k" or "(first at ...k"; other remarks in parentheses, and what follows a ";", are prose."""
    return printed_numbers(re.sub(r"\((?!from |at |first at )[^)]*\)", "", re.sub(r";[^)]*", "", part)))


@dataclass
class Run:
    """One committed run: its episodes in the order they ended and its train rows."""

    args: dict
    episodes: list[dict]
    train: list[dict]

    def mean(self, column: str, last: Optional[int] = None, first: Optional[int] = None) -> Optional[float]:
        rows = self.episodes[:first] if first else self.episodes[-last:] if last else self.episodes
        values = [float(r[column]) for r in rows if r.get(column, "") != ""]
        return float(np.mean(values)) if values else None

    def reached(self) -> list[float]:
        """Episodes that reached the goal, and the step of the first one in thousands (if any; a table may leave
        it out)."""
        steps = [int(r["global_step"]) for r in self.episodes if r["success"] == "1"]
        return [len(steps)] + ([steps[0] / 1000] if steps else [])


def load_runs(results: Path, group: str, exp_name: str) -> dict[int, Run]:
    """{seed: Run} of results/runs/<group>/ whose args.json names `exp_name`; a run without its metrics.csv fails."""
    runs = {}
    for a in sorted((results / "runs" / group).glob("*/args.json")):
        args = json.loads(a.read_text())
        if args["exp_name"] == exp_name:
            if not (a.parent / "metrics.csv").exists():
                raise SystemExit(f"error: {a.parent / 'metrics.csv'} is missing: the committed record of {exp_name} seed {args['seed']}")
            rows = read_csv(a.parent / "metrics.csv")
            runs[args["seed"]] = Run(args, [r for r in rows if r["kind"] == "episode"], [r for r in rows if r["kind"] == "train"])
    if not runs:
        raise SystemExit(f"error: no run of {exp_name} in {results / 'runs' / group}")
    return runs


# The per-seed tables: section heading (its start) -> (episodes a late figure is taken over, {row's first cell:
# (run group, exp_name)}); each column's statistic comes from its header.
SEED_TABLES = {
    "MountainCar with the authors' goal rule": (50, {
        "ground truth": ("mountaincar_authors_rule", "sac_gsde_env_reward"),
        "CLIP (`mountaincar_tiny`), the paper's reward (alpha 0.5, no offset)": ("mountaincar_authors_rule", "sac_gsde_clip_reward"),
        "CLIP (`mountaincar_small`), `--alpha 0 --reward-offset 0.30`": ("mountaincar_authors_rule", "sac_gsde_clip_offset_reward"),
    }),
    "MountainCar (frozen car)": (50, {
        "CLIP (`mountaincar_tiny`)": ("mountaincar_mini_clip_vs_env", "sac_gsde_clip_reward"),
        "ground truth": ("mountaincar_mini_clip_vs_env", "sac_gsde_env_reward"),
        "CLIP (`mountaincar_small`)": ("mountaincar_small_clip", "sac_gsde_clip_reward"),
        "CLIP (`mountaincar_small`) + `--reward-offset -0.37`": ("mountaincar_small_clip_offset", "sac_gsde_clip_offset_reward"),
        "the same, 150k steps": ("mountaincar_small_clip_offset_150k", "sac_gsde_clip_offset_reward"),
        "the same, `--sde-log-std-init -2.0`": ("mountaincar_small_clip_offset_sde2", "sac_gsde2_clip_offset_reward"),
        "the same (`-0.37`), `--ent-coef 0.03`": ("mountaincar_small_clip_offset_ent003", "sac_gsde_clip_offset_ent0.03_std-3.67"),
        "the same (`-0.37`), `--ent-coef 0.03 --sde-log-std-init -2.0`": ("mountaincar_small_clip_offset_ent003_sde2", "sac_gsde_clip_offset_ent0.03_std-2.0"),
        "CLIP (`mountaincar_small`), no offset, `--time-feature`": ("mountaincar_small_clip_clock", "sac_gsde_clock_clip_offset0"),
        "CLIP (`mountaincar_small`), `-0.37` and `--time-feature`": ("mountaincar_small_clip_clock_offset", "sac_gsde_clock_clip_offset-0.37"),
        "CLIP (`mountaincar_small`) + `--reward-offset -0.79`": ("mountaincar_small_clip_flag_offset", "sac_gsde_clip_flag_offset_reward"),
        "CLIP (`mountaincar_tiny`) + `--reward-offset -0.46`": ("mountaincar_tiny_clip_offset", "sac_gsde_clip_offset_reward"),
        "CLIP (`mountaincar_small`), `--alpha 0 --reward-offset 0.30`": ("mountaincar_small_clip_alpha0_offset", "sac_gsde_clip_offset_reward"),
    }),
    "CartPole: CLIP-rewarded discrete SAC": (40, {
        "CLIP (trained here)": ("cartpole_mini_clip_vs_env", "discrete_sac_clip_reward"),
        "ground truth": ("cartpole_mini_clip_vs_env", "discrete_sac_env_reward"),
    }),
}
SEED_COLUMNS = {  # header -> a seed's numbers in that column, given the run and the late episodes' count
    "episodes that reached the flag (of 300)": lambda run, last: run.reached(),
    "last 50 episodes: success": lambda run, last: [100 * run.mean("success", last)],
    "success (pole never fell)": lambda run, last: [100 * run.mean("success", last)],
    "ground-truth return": lambda run, last: [run.mean("env_return", last)],
    "ground-truth return (of 200)": lambda run, last: [run.mean("env_return", last)],
    "CLIP return": lambda run, last: [v] if (v := run.mean("clip_return", last)) is not None else [],
    "critic loss, last row": lambda run, last: [float(run.train[-1]["qf_loss"])],
    "critic loss, last 5k steps": lambda run, last: [float(run.train[-1]["qf_loss"])],  # a row is the mean of 5k steps
}


def check_seed_row(results: Path, section: str, header: list, cells: list, where: str, line: int, tally: "Tally"):
    """One per-seed row: its seeds against the committed runs, each column's cell against its statistic, seed by seed."""
    last, rows = next(v for k, v in SEED_TABLES.items() if section.startswith(k))
    if cells[0] not in rows:
        return tally.errors.append(f"{where}: no rule for this row")
    runs, seeds = load_runs(results, *rows[cells[0]]), printed_numbers(cells[1])
    tally.compare(f"{where}: seeds", (line, 1), seeds, sorted(runs))
    tally.cells[(line, 0)] += len(printed_numbers(cells[0]))  # the rule's name
    for k, (column, cell) in enumerate(zip(header[2:], cells[2:]), 2):
        if column not in SEED_COLUMNS:
            tally.errors.append(f"{where}: no rule for column '{column}'")
            continue
        for seed, part in zip(map(int, seeds), cell.split(" / ")):
            printed, expected = seed_numbers(part), SEED_COLUMNS[column](runs[seed], last) if seed in runs else []
            if column == "episodes that reached the flag (of 300)" and len(printed) == 1:
                expected = expected[:1]  # the first one's step not printed
            tally.compare(f"{where}: {column}, seed {seed}", (line, k), printed, expected)


def late(runs: dict, column="success", last=50, scale=100.0) -> list[float]:
    return [scale * r.mean(column, last) for r in runs.values()]


def summary_rules(results: Path) -> dict:
    """The summary's "result vs the ground truth" cell of each row: every number it prints, in order; None for a
    number of the prose (a count of episodes, a step), which is not re-derived."""
    R = lambda group, exp: load_runs(results, group, exp)  # noqa: E731
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    gt_frozen = mean(late(R("mountaincar_mini_clip_vs_env", "sac_gsde_env_reward")))
    gt_rule = mean(late(R("mountaincar_authors_rule", "sac_gsde_env_reward")))
    epic = {f: {(r["model"].split("_")[-1], float(r["alpha"])): float(r["epic"]) for r in read_csv(results / "figures" / f"epic_{f}_mini_clip.csv")}
            for f in ("cartpole", "mountaincar")}
    spin = read_csv(results / "runs" / "pendulum_spin" / "spin.csv")
    turning = lambda model, prompt: 100 * mean([float(r["share_of_prompt_direction"]) for r in spin if (r["model"], r["prompt"]) == (model, prompt)])  # noqa: E731

    def pendulum():
        return [None] + [r.mean("env_return", 10) for r in R("pendulum_sac_env", "sac_env_reward").values()]

    def cartpole_env():
        runs = R("cartpole_discrete_sac_env", "discrete_sac_env_reward")
        return [None, mean(late(runs, "env_return", 20, 1)), None, mean(late(runs, "success", 20))]

    def cartpole_clip():
        clip, env = R("cartpole_mini_clip_vs_env", "discrete_sac_clip_reward"), R("cartpole_mini_clip_vs_env", "discrete_sac_env_reward")
        return [None, mean(late(clip, last=40)), mean(late(env, last=40)), mean(late(clip, "env_return", 40, 1)),
                mean(late(env, "env_return", 40, 1)), None]

    def logged():
        runs = R("cartpole_logged_prompts", "logged_prompts").values()
        votes = [100 * r.mean("goal_vote_share", 40) for r in runs]
        return [mean([100 * r.mean("goal_vote_share", first=40) for r in runs]), min(votes), max(votes),
                mean([r.mean("env_return", first=40) for r in runs]), mean([r.mean("env_return", 40) for r in runs])]

    def rule_alpha0():
        clip = late(R("mountaincar_authors_rule", "sac_gsde_clip_offset_reward"))
        return [mean(clip), gt_rule, 100 * mean(clip) / gt_rule, *clip]

    def frozen(*groups):
        successes = [mean(late(R(g, e))) for g, e in groups]
        return [*successes, gt_frozen]

    def paper_settings():
        run = next(iter(R("mountaincar_paper_settings_clip", "vlmrm_sac").values()))
        return [run.reached()[0], len(run.episodes)]

    def ratio_to_frozen(group, exp):
        success = mean(late(R(group, exp)))
        return [success, gt_frozen, 100 * success / gt_frozen]

    kneeling, standing = "a humanoid robot kneeling", "a humanoid robot standing up"

    def percent(prompt, pose, model="humanoid_small", steps=False):  # of evaluated episodes in a pose (or of steps)
        return mean([100 * np.mean([float(r[f"{pose}_share"]) for r in rows]) if steps else succeeded(rows, pose)
                     for rows in map(read_csv, humanoid_evaluations(results, prompt, model).values())])

    def humanoid():  # per prompt: the % of evaluated episodes in its own pose, and in the other prompt's
        return [None, percent(kneeling, "kneeling"), percent(kneeling, "standing"), percent(standing, "standing"),
                percent(standing, "kneeling")]

    def humanoid_visited():
        model = "humanoid_small_visited"
        return [None, percent(kneeling, "kneeling", model), percent(kneeling, "standing", model),
                percent(kneeling, "kneeling", model, steps=True)]

    return {
        "Humanoid-v5 (the paper's loop on this CPU), the small humanoid CLIP": humanoid,
        "Humanoid-v5 kneeling, the small humanoid CLIP retrained with the first runs' visited states": humanoid_visited,
        "Pendulum-v1, SAC on the ground truth": pendulum,
        "CartPole-v1, discrete SAC on the ground truth": cartpole_env,
        "CartPole-v1, CLIP (`cartpole_tiny`) vs ground truth": cartpole_clip,
        "CartPole-v1, CLIP with 4 `--log-prompt` sentences": logged,
        "MountainCar (the authors' goal rule), CLIP with the paper's reward vs ground truth":
            lambda: [mean(late(R("mountaincar_authors_rule", "sac_gsde_clip_reward"))), gt_rule],
        "MountainCar (the authors' goal rule), `--alpha 0 --reward-offset 0.30`": rule_alpha0,
        "MountainCar (frozen car), CLIP with the paper's reward vs ground truth": lambda: [
            mean(late(R("mountaincar_mini_clip_vs_env", "sac_gsde_clip_reward")) + late(R("mountaincar_small_clip", "sac_gsde_clip_reward"))), gt_frozen],
        "MountainCar (frozen car), the paper's SAC settings without gSDE": paper_settings,
        "MountainCar (frozen car), `--reward-offset -0.37`": lambda: ratio_to_frozen("mountaincar_small_clip_offset", "sac_gsde_clip_offset_reward"),
        "MountainCar (frozen car), `-0.37` with more steps or exploration": lambda: frozen(
            ("mountaincar_small_clip_offset_150k", "sac_gsde_clip_offset_reward"), ("mountaincar_small_clip_offset_sde2", "sac_gsde2_clip_offset_reward"),
            ("mountaincar_small_clip_offset_ent003", "sac_gsde_clip_offset_ent0.03_std-3.67"),
            ("mountaincar_small_clip_offset_ent003_sde2", "sac_gsde_clip_offset_ent0.03_std-2.0")) + [None],
        "MountainCar (frozen car), a clock in the state (`--time-feature`)": lambda: frozen(
            ("mountaincar_small_clip_clock", "sac_gsde_clock_clip_offset0"), ("mountaincar_small_clip_clock_offset", "sac_gsde_clock_clip_offset-0.37")),
        "MountainCar (frozen car), other offsets": lambda: frozen(
            ("mountaincar_small_clip_flag_offset", "sac_gsde_clip_flag_offset_reward"), ("mountaincar_tiny_clip_offset", "sac_gsde_clip_offset_reward")),
        "MountainCar (frozen car), `--alpha 0 --reward-offset 0.30`": lambda: ratio_to_frozen("mountaincar_small_clip_alpha0_offset", "sac_gsde_clip_offset_reward"),
        "The reward models (Fig. 2, 4, 7)": lambda: [None] + [epic[f][(size, 0.0)] for f in ("cartpole", "mountaincar") for size in ("tiny", "small")],
        "Pendulum-v1, `--reward-frames 4`: X-CLIP vs single-frame CLIP (models of a toy world, trained here with an angle warm-up)": lambda: [
            turning(m, p) for m in ("xclip", "clip") for p in ("clockwise", "counterclockwise")],
    }


def produced_rules(results: Path) -> dict:
    """The "Produced here" rows that report runs: every number of their first cell; None for the prose's."""
    R = lambda group, exp: load_runs(results, group, exp).values()  # noqa: E731
    pendulum, cartpole = R("pendulum_sac_env", "sac_env_reward"), R("cartpole_discrete_sac_env", "discrete_sac_env_reward")
    return {
        "The looks of the environments": lambda: [None],  # "Fig. 3"
        "SAC learning Pendulum-v1": lambda: [None] * 6 + [r.mean("env_return", 10) for r in pendulum],
        "Discrete SAC (the same loop)": lambda: [None] * 4 + [r.mean("env_return", 20) for r in cartpole] + [None]
                                                + [100 * r.mean("success", 20) for r in cartpole],
    }


LOGGED_COLUMNS = {'"fallen to the left"': "clip_return[pole fallen to the left]", '"fallen to the right"': "clip_return[pole fallen to the right]",
                  '"tilted to the left"': "clip_return[pole tilted to the left]", '"tilted to the right"': "clip_return[pole tilted to the right]",
                  "ground-truth return": "env_return", "goal's CLIP return": "clip_return", "goal's vote share": "goal_vote_share"}


def check_logged_row(results: Path, header: list, cells: list, where: str, line: int, tally: Tally):
    """A seed of the logged-prompts table: each column's "first 40 episodes -> last 40"."""
    runs = load_runs(results, "cartpole_logged_prompts", "logged_prompts")
    if int(cells[0]) not in runs:
        return tally.errors.append(f"{where}: no committed run of seed {cells[0]}")
    run = runs[int(cells[0])]
    tally.cells[(line, 0)] += 1
    for k, (column, cell) in enumerate(zip(header[1:], cells[1:]), 1):
        scale = 100 if column == "goal's vote share" else 1
        tally.compare(f"{where}: {column}", (line, k), printed_numbers(cell),
                      [scale * run.mean(LOGGED_COLUMNS[column], first=40), scale * run.mean(LOGGED_COLUMNS[column], 40)])


def check_spin_csv(results: Path) -> tuple[int, list[str]]:
    """(rows checked, mismatches) of runs/pendulum_spin/spin.csv against spin_row of each run's committed records
    (tests/spin_experiment.py copies them); a row whose run's angular_velocity.npy is missing fails."""
    folder, checked, errors = results / "runs" / "pendulum_spin", 0, []
    for row in read_csv(folder / "spin.csv"):
        if not (folder / row["run"] / "angular_velocity.npy").exists():
            errors.append(f"spin.csv '{row['run']}': {folder / row['run'] / 'angular_velocity.npy'} is missing")
            continue
        checked += 1
        again = {k: str(v) for k, v in spin_row(folder / row["run"]).items()}
        if any(float(again[k]) != float(row[k]) for k in ("share_of_prompt_direction", "mean_angular_velocity")) or \
                (again["model"], again["prompt"], again["seed"]) != (row["model"], row["prompt"], row["seed"]):
            errors.append(f"spin.csv: {row['run']}: recorded {dict(row)}, recomputed {again}")
    return checked, errors


def check_spin_row(results: Path, cells: list, where: str, line: int, tally: Tally):
    """A row of the spin table against runs/pendulum_spin/spin.csv, seed by seed."""
    model = "xclip" if cells[0].startswith("X-CLIP") else "clip"
    rows = [r for r in read_csv(results / "runs" / "pendulum_spin" / "spin.csv")
            if (r["model"], r["prompt"]) == (model, cells[1].split()[-1])]
    rows.sort(key=lambda r: int(r["seed"]))
    tally.compare(f"{where}: late steps turning the prompt's way", (line, 2), printed_numbers(cells[2]),
                  [100 * float(r["share_of_prompt_direction"]) for r in rows])
    tally.compare(f"{where}: mean angular velocity", (line, 3), printed_numbers(cells[3]), [float(r["mean_angular_velocity"]) for r in rows])
    tally.cells[(line, 0)] += len(printed_numbers(cells[0])) if rows else 0  # the model's name: "K = 4"
    return {(model, cells[1].split()[-1])}


def succeeded(rows: list[dict], pose: str) -> float:
    """The % of an evaluation's episodes (eval.csv rows) in `pose` in at least half of their steps (pose_success)."""
    return 100 * float(np.mean([vlmrm_sac.pose_success(float(r[f"{pose}_share"])) for r in rows]))


HUMANOID_COLUMNS = {  # header -> its numbers from one run's evaluation (eval.csv rows)
    "episodes kneeling (of 100)": lambda rows: [succeeded(rows, "kneeling")],
    "episodes standing (of 100)": lambda rows: [succeeded(rows, "standing")],
    "steps kneeling / standing": lambda rows: [100 * np.mean([float(r[f"{p}_share"]) for r in rows]) for p in ("kneeling", "standing")],
    "CLIP return": lambda rows: [np.mean([float(r["clip_return"]) for r in rows])],
}


def humanoid_evaluations(results: Path, prompt: str, model: str, step: Optional[int] = None, rule: str = "projection") -> dict:
    """{seed: its last eval.csv, or that of its checkpoint at `step` if it has one} of the committed humanoid runs
    (results/runs/humanoid_poses/) of `prompt` rewarded by the CLIP in results/mini_clip/`model` under --reward-rule
    `rule`, found by each run's args.json."""
    evaluations = {}
    for args in sorted((results / "runs" / "humanoid_poses").glob("*/args.json")):
        a = json.loads(args.read_text())
        if a["prompt"] == [prompt] and Path(a["clip_model"]).name == model and run_rule(a) == rule:
            files = sorted(args.parent.glob("eval_*/eval.csv" if step is None else f"eval_{step:09d}/eval.csv"))
            if not files and step is None:
                raise SystemExit(f"error: no evaluation of {prompt!r} ({model}) seed {a['seed']} in {args.parent}")
            if files:
                evaluations[a["seed"]] = files[-1]
    return evaluations


def check_humanoid_states(results: Path) -> tuple[int, list[str]]:
    """(evaluations checked, mismatches): each committed humanoid evaluation's eval.csv against its states.npz (which
    must be there): the pose shares labelled again by HumanoidPoses from every step's qpos, the CLIP return as the sum
    of its rewards."""
    poses, checked, errors = vlmrm_sac.HumanoidPoses(), 0, []
    for evaluation in sorted((results / "runs" / "humanoid_poses").glob("*/eval_*/eval.csv")):
        where, states = f"{evaluation.parent.parent.name}/{evaluation.parent.name}", evaluation.parent / "states.npz"
        if not states.exists():
            errors.append(f"{where}: states.npz is missing (the record eval.csv is checked against)")
            continue
        data, rows = np.load(states), read_csv(evaluation)
        if len(rows) != len(data["qpos"]):
            errors.append(f"{where}: {len(rows)} rows of eval.csv, {len(data['qpos'])} episodes of states.npz")
            continue
        if missing := [f"{p}_share" for p in vlmrm_sac.POSES if f"{p}_share" not in rows[0]]:
            errors.append(f"{where}: eval.csv has no {', '.join(missing)} (label it again: plot.py relabel --eval-dirs ...)")
            continue
        checked += 1
        for row, qpos, clip in zip(rows, data["qpos"], data["clip_rewards"]):
            for column, again in poses.shares(qpos.astype(np.float64)).items():
                if abs(again - float(row[column])) > 1e-9:
                    errors.append(f"{where}: episode {row['episode']}: {column} {row[column]} in eval.csv, {again} from qpos")
            if not math.isclose(float(np.sum(clip, dtype=np.float64)), float(row["clip_return"]), rel_tol=1e-5, abs_tol=1e-4):
                errors.append(f"{where}: episode {row['episode']}: clip_return {row['clip_return']} in eval.csv, {np.sum(clip):.6f} from its rewards")
    return checked, errors


def check_humanoid_row(results: Path, header: list, cells: list, where: str, line: int, tally: Tally) -> set:
    """A row of the humanoid table: the run of its prompt, reward model and seed; its last evaluation, or that of
    the checkpoint its "checkpoint" column names (as 896,000). Returns the evaluation it reports."""
    given = dict(zip(header, cells))
    model, step = given.get("reward model", "humanoid_small").strip("`"), given.get("checkpoint", "").replace(",", "")
    rule = given.get("rule", "projection").strip("`")
    if step and not step.isdigit():
        return tally.errors.append(f"{where}: checkpoint '{given['checkpoint']}' is not a step (as 896,000)")
    step = int(step) if step else None
    evaluation = humanoid_evaluations(results, cells[0].strip('"'), model, step, rule).get(int(cells[1]))
    if evaluation is None:
        return tally.errors.append(f"{where}: no evaluation of seed {cells[1]} with {model}{f' at step {step:,}' if step else ''} "
                                   "in results/runs/humanoid_poses")
    rows = read_csv(evaluation)
    for k, (column, cell) in enumerate(zip(header, cells)):
        if column in ("prompt", "seed", "reward model", "rule", "checkpoint"):  # they found the evaluation
            tally.cells[(line, k)] += len(printed_numbers(cell))
        elif column not in HUMANOID_COLUMNS:
            tally.errors.append(f"{where}: no rule for column '{column}'")
        else:
            tally.compare(f"{where}: {column}", (line, k), printed_numbers(cell), HUMANOID_COLUMNS[column](rows))
    return {evaluation.parent}


def model_eval(results: Path, model: str) -> dict:
    path = results / "mini_clip" / model / "eval.json"
    if not path.exists():
        raise SystemExit(f"error: {path} is missing: the committed record of the model's held-out evaluation")
    return json.loads(path.read_text())


def check_auc_row(results: Path, cells: list, where: str, line: int, tally: Tally):
    """A row of the kneeling reward models' table against the model's eval.json: the kneeling prompt's AUC of kneeling
    against one knee down and its mean reward of "other" states, on the built held-out states and on seed 3's visited
    ones ("-": the model has no visited evaluation)."""
    prompt, data = "a humanoid robot kneeling", model_eval(results, cells[0].strip("`"))
    built, visited = (data[p]["prompts"][prompt] if p in data else None for p in ("held_out", "held_out_visited"))
    one_knee = "one_knee" in built["auc_vs_each_class"]  # without that class, "other" holds one knee too: not the row's
    stat = lambda s, f: f(s) if s and one_knee else None  # noqa: E731  (None: not in the record, a number to mark)
    auc, other = (lambda s: s["auc_vs_each_class"]["one_knee"]), (lambda s: s["mean_reward_by_class"]["other"])
    for k, what, values in ((1, "AUC, built states", [stat(built, auc)]), (2, "AUC, visited states", [stat(visited, auc)]),
                            (3, "mean reward of other states", [stat(built, other), stat(visited, other)])):
        for part, value in zip(cells[k].split(" / "), values):  # "-": not evaluated
            printed = printed_numbers(part)
            tally.compare(f"{where}: {what}", (line, k), printed, [value] if value is not None else [None] * len(printed))
    tally.cells[(line, 0)] += len(printed_numbers(cells[0]))


TABLE1_MODEL = "humanoid_small_table1"  # the model trained with every Table 1 pose (tests/humanoid_clip.py --table1)
TABLE1_COLUMNS = {  # its table's column -> the numbers of a prompt's pose (built held-out states, then visited ones)
    "frames: training / built / visited": lambda m, prompt, pose: [
        m["train_frames_per_class"][pose], m["held_out"]["frames_per_class"][pose], m["held_out_visited"]["frames_per_class"][pose]],
    "zero-shot accuracy: built / visited": lambda m, prompt, pose: [m[h]["accuracy_per_class"][pose] for h in ("held_out", "held_out_visited")],
    "AUC vs rest: built / visited": lambda m, prompt, pose: [m[h]["prompts"][prompt]["auc_vs_rest"] for h in ("held_out", "held_out_visited")],
}


def check_table1_row(results: Path, header: list, cells: list, where: str, line: int, tally: Tally) -> tuple:
    """A row of the Table 1 reward model's table against its eval.json: for the row's prompt, the frames of its pose,
    the zero-shot accuracy of its class and the prompt's AUC of its pose against every other class ("-": no frame of
    the pose, so no number)."""
    prompt = cells[0].strip('"')
    if prompt not in vlmrm_sac.POSE_OF_PROMPT:
        tally.errors.append(f"{where}: {prompt!r} is not a prompt of vlmrm_sac.POSE_OF_PROMPT")
        return ("table1", prompt)
    data = model_eval(results, TABLE1_MODEL)
    tally.cells[(line, 0)] += len(printed_numbers(cells[0]))
    for k, (column, cell) in enumerate(zip(header[1:], cells[1:]), 1):
        if column not in TABLE1_COLUMNS:
            tally.errors.append(f"{where}: no rule for column '{column}'")
            continue
        values = TABLE1_COLUMNS[column](data, prompt, vlmrm_sac.POSE_OF_PROMPT[prompt])
        parts = cell.split(" / ")
        if len(parts) != len(values):
            tally.errors.append(f"{where}: {column}: {len(parts)} parts, expected {len(values)}")
            continue
        for part, value in zip(parts, values):  # a value NaN (no frame of the pose) is printed "-"
            tally.compare(f"{where}: {column}", (line, k), printed_numbers(part), [] if math.isnan(value) else [value])
    return ("table1", prompt)


YARDSTICK_COLUMNS = {  # a yardstick table's column -> its numbers from the CSV row of the model and rule (and eval.json)
    "parameters": lambda r, m: [int(r["parameters"])], "input (px)": lambda r, m: [int(r["image_size"])],
    "training (s)": lambda r, m: [m["data_s"] + m["train_s"]],
    "EPIC": lambda r, m: [float(r["epic"])], "EPIC, visited": lambda r, m: [float(r["epic_visited"])],
    "AUC vs one knee: visited / built / clean": lambda r, m: [float(r[f"auc_vs_one_knee_{s}"]) for s in ("visited", "built", "clean")],
    "AUC vs rest": lambda r, m: [float(r["auc_vs_rest"])],
    "mean reward: kneeling / one knee / other": lambda r, m: [float(r[f"mean_{c}"]) for c in ("kneeling", "one_knee", "other")],
}


def check_yardstick_row(results: Path, header: list, cells: list, where: str, line: int, tally: Tally) -> tuple:
    """A row of a yardstick table: its reward model's row in results/yardstick/kneeling.csv for the row's rule (the
    paper's alpha 0 where the table has no rule column), and the model's training time from its eval.json."""
    given = dict(zip(header, cells))
    model, rule = cells[0].strip("`"), given.get("rule", "projection, alpha 0")
    row = next((r for r in read_csv(results / "yardstick" / "kneeling.csv") if (r["model"], r["rule"]) == (model, rule)), None)
    if row is None:
        tally.errors.append(f"{where}: no yardstick row of {model} with rule '{rule}' in results/yardstick/kneeling.csv")
        return ("yardstick", model, rule)
    for k, (column, cell) in enumerate(zip(header, cells)):
        if column in ("reward model", "rule"):  # they found the row
            tally.cells[(line, k)] += len(printed_numbers(cell))
        elif column not in YARDSTICK_COLUMNS:
            tally.errors.append(f"{where}: no rule for column '{column}'")
        else:
            values = YARDSTICK_COLUMNS[column](row, model_eval(results, model) if column == "training (s)" else {})
            tally.compare(f"{where}: {column}", (line, k), printed_numbers(cell), values)
    return ("yardstick", model, rule)


def check_readme(path: Path, results: Path) -> tuple[Tally, int]:
    """(tally, table rows recomputed) of results/README.md: the rows of its checkable tables and its prose CLAIMS; a
    rule whose row is missing (a summary row, a seed of a per-seed table, a committed evaluation no row reports) fails."""
    text, tally, rows = path.read_text(), Tally(), 0
    summary, produced, seen = summary_rules(results), produced_rules(results), set()
    for section, header, cells, line in markdown_tables(path):
        where = f"{path.name}:{line} [{section}] '{cells[0][:70]}'"
        table = next((k for k in SEED_TABLES if section.startswith(k)), None)
        if section == "Summary" and cells[0] in summary:
            tally.compare(f"{where}: result", (line, 3), printed_numbers(cells[3]), summary[cells[0]]())
            tally.cells[(line, 0)] += len(printed_numbers(cells[0]))
            seen.add(("summary", cells[0]))
        elif section == "Produced here" and (key := next((k for k in produced if cells[0].startswith(k)), None)):
            tally.compare(f"{where}: what", (line, 0), printed_numbers(cells[0]), produced[key]())
            seen.add(("produced", key))
        elif table and header[1] == "seed":
            check_seed_row(results, section, header, cells, where, line, tally)
            seen.add((table, cells[0]))
        elif header[0] == "seed" and section.startswith("What else the frames look like"):
            check_logged_row(results, header, cells, where, line, tally)
            seen.add(("logged", cells[0]))
        elif header[:2] == ["prompt", "seed"] and section.startswith("The humanoid"):
            seen |= check_humanoid_row(results, header, cells, where, line, tally) or set()
        elif header[0] == "reward model" and header[1].startswith("built states: AUC") and section.startswith("The humanoid"):
            check_auc_row(results, cells, where, line, tally)
            seen.add(("auc", cells[0].strip("`")))
        elif header[0] == "prompt" and header[1] in TABLE1_COLUMNS and section.startswith("A reward model that has seen"):
            seen.add(check_table1_row(results, header, cells, where, line, tally))
        elif header[0] == "reward model" and section.startswith("Reward models for kneeling"):
            seen.add(check_yardstick_row(results, header, cells, where, line, tally))
        elif header[0] == "reward model" and section.startswith("Pendulum: a goal of motion"):
            seen |= check_spin_row(results, cells, where, line, tally)
        else:
            continue  # a table without a rule: its numbers carry the mark
        rows += 1
    spin = read_csv(results / "runs" / "pendulum_spin" / "spin.csv")
    expected = ([("summary", k) for k in summary] + [("produced", k) for k in produced]
                + [(t, name) for t, (_, names) in SEED_TABLES.items() for name in names]
                + [("logged", str(s)) for s in load_runs(results, "cartpole_logged_prompts", "logged_prompts")]
                + sorted({(r["model"], r["prompt"]) for r in spin})
                + [("auc", m) for m in ("humanoid_small", "humanoid_small_one_knee", "humanoid_small_visited")]
                + [("table1", prompt) for prompt in vlmrm_sac.POSE_OF_PROMPT]
                + [("yardstick", r["model"], r["rule"]) for r in read_csv(results / "yardstick" / "kneeling.csv")
                   if r["rule"] == "projection, alpha 0"]
                + sorted(e.parent for e in (results / "runs" / "humanoid_poses").glob("*/eval_*/eval.csv")))
    tally.errors += [f"{path.name}: no row reports {f'{e.parent.name}/{e.name}' if isinstance(e, Path) else ': '.join(e)} "
                     f"(a table row is gone, or its rule's name changed)" for e in expected if e not in seen]
    tally.claims(path.name, text, readme_claims(results))
    return tally, rows


def about(value: float, unit: float = 10) -> tuple:
    """The values that "about N" (N rounded to `unit`, printed without decimals) may stand for."""
    return value - unit / 2 + 0.5, value + unit / 2 - 0.5


def readme_claims(results: Path) -> list:
    """results/README.md's prose numbers recomputed from the committed runs: (what, pattern, values)."""
    kneeling = "a humanoid robot kneeling"
    evaluations = lambda step=None: {s: read_csv(f) for s, f in humanoid_evaluations(results, kneeling, "humanoid_small_visited", step).items()}  # noqa: E731
    episodes = lambda rows: succeeded(rows, "kneeling")  # noqa: E731
    last, at_1m = evaluations(), evaluations(896_000)
    runs = load_runs(results, "humanoid_poses", "kneeling_visited")
    success = lambda lo, hi: [100 * np.mean([float(r["success"]) for r in runs[s].episodes if lo < int(r["global_step"]) <= hi])  # noqa: E731
                              for s in sorted(runs)]
    small, one_knee, visited = (model_eval(results, m) for m in ("humanoid_small", "humanoid_small_one_knee", "humanoid_small_visited"))
    held, auc = small["held_out"], lambda prompt: small["held_out"]["prompts"][f"a humanoid robot {prompt}"]["auc_vs_rest"]  # noqa: E731
    table1 = model_eval(results, TABLE1_MODEL)
    frames = lambda held: sum(table1[held]["frames_per_class"].values())  # noqa: E731
    return [
        ("humanoid_small_table1's size and time", r"The model has ([\d,]+) parameters \(([\d.]+) MB\)\. It took (\d+) s for the "
         r"data and ([\d,]+) s of training", [table1["parameters"], table1["model_mb"], table1["data_s"], table1["train_s"]]),
        ("humanoid_small_table1's held-out and training frames", r"Held out: ([\d,]+) built states of the same sampler \(a "
         r"second RNG stream\) and ([\d,]+) visited states \(every (\d+)th step of seed 3's evaluations\)\. \"frames\": of the "
         r"prompt's pose, in training \(all ([\d,]+) frames\)",
         [frames("held_out"), frames("held_out_visited"), table1["args"]["visited_every"], sum(table1["train_frames_per_class"].values())]),
        ("humanoid_small's time and size (eval.json)", r"at ef46240; (\d+) s for the data, (\d+) s of training",
         [small["data_s"], small["train_s"]]),
        ("humanoid_small's parameters", r"for any other state\. ([\d,]+) parameters", [small["parameters"]]),
        ("humanoid_small's held-out accuracy", r"accuracy ([\d.]+) over the 5 sentences \(kneeling ([\d.]+), arms raised ([\d.]+), "
         r"standing ([\d.]+), lying ([\d.]+), other ([\d.]+)\)",
         [held["accuracy"]] + [held["accuracy_per_class"][c] for c in ("kneeling", "arms_raised", "standing", "lying", "other")]),
        ("humanoid_small's AUCs", r"with probability ([\d.]+) \(AUC\), the standing prompt ([\d.]+), arms raised ([\d.]+)\.",
         [auc("kneeling"), auc("standing up"), auc("standing up, with both arms raised")]),
        ("the retrained models' parameters", r"commands in its docstring\), ([\d,]+) parameters each", [one_knee["parameters"]]),
        ("humanoid_small_one_knee's time", r"twice as many of them \((\d+) s data, (\d+) s training\)", [one_knee["data_s"], one_knee["train_s"]]),
        ("humanoid_small_visited's time", r"holding seed 3's out \((\d+) s, (\d+) s\)", [visited["data_s"], visited["train_s"]]),
        ("seed 2's episodes kneeling at 2M", r"Seed 2 kneels in (\d+)% of its episodes", [episodes(last[2])]),
        ("seed 3's episodes kneeling at 1M and 2M", r"seed 3 left one knee down for both knees: (\d+)% to (\d+)% of episodes",
         [episodes(at_1m[3]), episodes(last[3])]),
        ("seed 1's episodes kneeling at 2M", r"Seed 1 stayed where it was at 1M, at (\d+)%", [episodes(last[1])]),
        ("the training success of the last 50k steps, and at 950k-1M",
         r"The training success of the last 50k steps is (\d+)%, (\d+)% and (\d+)% \(at 950k-1M: (\d+)%, (\d+)% and (\d+)%\)",
         success(1_950_000, 2_000_000) + success(950_000, 1_000_000)),
    ]


def check_benchmarks(path: Path, results: Path) -> Tally:
    """The tally of benchmarks.md: the figures its prose derives from its own tables (the tables are timings, which
    left no file: marked) and the humanoid runs' steps/s from their metrics.csv."""
    text, tally, tables = path.read_text(), Tally(), {}  # first header cell + section -> rows
    for section, header, cells, _ in markdown_tables(path):
        tables.setdefault((section, header[0]), []).append(cells)
    first = lambda cell: printed_numbers(cell)[0]  # noqa: E731
    table = lambda section, head: next(rows for (s, h), rows in tables.items() if s.startswith(section) and h.startswith(head))  # noqa: E731
    h200 = table("The paper's run on an H200", "CLIP")
    render = {(r[0], r[1]): first(r[3]) for r in h200}  # (model, overlap) -> rendering's % of the wall time, as printed
    speed = {(r[0], r[1]): first(r[2]) for r in h200}
    pairs = [r for r in table("", "pair") if r[0].isdigit()]
    at480 = next(r for r in table("MuJoCo Warp beside EGL", "size") if r[0] == "480")  # the H200's table comes first
    k_frames = {r[1]: first(r[2]) for r in table("Rewards from a window", "model") if "image" in r[0]}
    threads = {r[0].split()[0]: first(r[2]) for r in table("The humanoid at the paper's scale", "threads")}
    drawn = table("The humanoid at the paper's scale", "code")
    render_percents = sorted(render.values(), key=float)
    gain = lambda on, off: from_rounded(lambda a, b: 100 * (a / b - 1), on, off)  # noqa: E731
    files = [next((results / "runs" / "humanoid_poses").glob(f"*__{exp}__1__*/metrics.csv"), None) for exp in ("kneeling", "standing")]
    if None in files:
        raise SystemExit("error: the metrics.csv of seed 1 of the humanoid kneeling or standing run is missing from results/runs/humanoid_poses")
    sps = [float(np.mean([float(r["sps"]) for r in read_csv(f) if r["sps"] and int(r["global_step"]) > 60_000])) for f in files]
    claims = [
        ("overlap's gain, ViT-B/32", r"264\.2 \(\+([\d.]+)%\)", [gain(speed["ViT-B/32", "on"], speed["ViT-B/32", "off"])]),
        ("overlap's gain, ViT-bigG-14", r"175\.1 \(\+([\d.]+)%\)", [gain(speed["ViT-bigG-14", "on"], speed["ViT-bigG-14", "off"])]),
        ("the renderer's % of the paper's run", r"The EGL renderer takes (\d+)-(\d+)% of the wall time",
         [float(render_percents[0]), float(render_percents[-1])]),
        ("the renderer's %, in the restructure", r"the renderer at (\d+)-(\d+)% of the paper's run",
         [float(render_percents[0]), float(render_percents[-1])]),
        ("the EGL figures beside Warp's command", r"the EGL figures above: rendering (\d+)% \(ViT-bigG-14\) and (\d+)% \(ViT-B/32\)",
         [float(render["ViT-bigG-14", "off"]), float(render["ViT-B/32", "off"])]),
        ("4fc00e0's mean over the pairs", r"\| mean \| ([\d.]+) \|", [from_rounded(lambda *x: np.mean(x), *[first(r[1]) for r in pairs])]),
        ("today's mean over the pairs", r"\| mean \| [\d.]+ \| ([\d.]+) \|", [from_rounded(lambda *x: np.mean(x), *[first(r[2]) for r in pairs])]),
        ("Warp at 480 against one EGL process", r"Warp renders (\d+)x one EGL process",
         [from_rounded(lambda a, b: a / b, first(at480[2]), first(at480[1]))]),
        ("K = 8 against K = 1, image model", r"K = 8: (\d+)% fewer", [from_rounded(lambda a, b: 100 * (1 - a / b), k_frames["8"], k_frames["1"])]),
        ("the humanoid runs' steps/s", r"10k steps after learning starts\): (\d+) and (\d+) env steps/s", sps),
        ("the two runs' steps/s together", r"about (\d+) for the machine", [about(sum(sps))]),
        ("the two runs' steps/s together, again", r"the faster use of the machine \(~(\d+) in all\)", [about(sum(sps))]),
        ("one run on both threads", r"\(second row\) does (\d+) env steps/s", [float(threads["2"])]),
        ("both threads against one", r"(\d+\.\d) times one thread", [from_rounded(lambda a, b: a / b, threads["2"], threads["1"])]),
        ("the wait for the workers", r"The wait for the workers went from (\d+)% to (\d+)% of the time",
         [float(first(r[2])) for r in drawn]),
        ("both threads, in the table above", r"Both rates are below the (\d+\.\d) of the table above", [float(threads["2"])]),
    ]
    tally.claims(path.name, text, claims)
    return tally


@dataclass
class Verify:
    """Every number of results/README.md and results/benchmarks.md, recomputed from the committed files (runs' metrics.csv
    and args.json, evaluations' eval.csv and states.npz, spin.csv, models' eval.json) or from the file's own tables, or
    visibly marked [^unchecked] as not recomputed; exits 1 naming each number that differs, each number neither
    recomputed nor marked, and each table row or committed record that is missing. Prints the counts per file."""

    readme: str = "results/README.md"
    """the results' markdown"""
    benchmarks: Optional[str] = "results/benchmarks.md"
    """the benchmarks' markdown (None: not checked)"""
    results: str = "results"
    """the folder with runs/<group>/<run>/, mini_clip/<model>/ and figures/*.csv that the numbers come from"""
    marked: bool = False
    """also list every marked paragraph and table cell with its numbers"""

    def run(self):
        results, errors = Path(self.results), []
        readme, rows = check_readme(Path(self.readme), results)
        files = [(Path(self.readme), readme, f", {rows} table rows")]
        if self.benchmarks:
            files.append((Path(self.benchmarks), check_benchmarks(Path(self.benchmarks), results), ""))
        for path, tally, more in files:
            counts = tally.account(path.name, path.read_text(), self.marked)
            errors += tally.errors
            print(f"{path}: {counts['numbers']} numbers: {counts['recomputed']} recomputed{more}; "
                  f"{counts['marked']} marked {UNCHECKED} as not recomputed, in {counts['paragraphs marked']} paragraphs and "
                  f"{counts['table cells marked']} table cells")
        spin_rows, more = check_spin_csv(results)
        evaluations, states = check_humanoid_states(results)
        errors += more + states
        print(f"{results / 'runs'}: {spin_rows} rows of spin.csv recomputed from their runs' records, {evaluations} humanoid "
              "evaluations' eval.csv from their states.npz")
        if errors:
            raise SystemExit("numbers that differ from the committed data, or are missing:\n" + "\n".join(errors))
        print("every number agrees with the committed data or carries the mark")


COMMANDS = {"landscape": Landscape, "epic": Epic, "curves": Curves, "prompts": Prompts, "success": Success, "reward-hist": RewardHist,
            "probe": Probe, "sheets": Sheets, "policy-sheets": PolicySheets, "relabel": Relabel, "frames": Frames, "spin": Spin, "poses": Poses, "yardstick": Yardstick,
            "all": All,
            "verify": Verify}

if __name__ == "__main__":
    try:
        tyro.extras.subcommand_cli_from_dict(COMMANDS).run()
    except vlmrm_sac.UserError as e:
        raise SystemExit(f"error: {e}") from None
