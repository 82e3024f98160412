"""The paper's figures, and offline reward-model evaluation before any RL.

    python plot.py landscape   --clip-model M   # Fig. 2: CLIP reward vs CartPole angle / MountainCar position
    python plot.py epic        --clip-models M1 M2 --env-id CartPole-v1   # Fig. 4: EPIC distance vs alpha, vs size
    python plot.py curves      --runs "runs/*"  # training curves: CLIP return, ground-truth return, success
    python plot.py prompts     --runs "runs/*"  # runs with --log-prompt: each logged sentence's return, the goal's vote
    python plot.py success     --labels kneeling=runs/x/eval_000100000/labels.csv   # Fig. 5/6/8
    python plot.py reward-hist --clip-models M1 M2 --env-id CartPole-v1   # Fig. 7
    python plot.py probe       --prompt "a humanoid robot kneeling" --baseline-prompt "a humanoid robot"
    python plot.py sheets      --eval-dir runs/x/eval_000100000   # one contact sheet per episode, to label from
    python plot.py frames      # one PNG per look of the environments
    python plot.py all         # every figure whose data is in results/ (no GPU, no model download)
    python plot.py verify      # every number of results/README.md's run tables, recomputed from results/runs

Every subcommand writes PNG and PDF plus the CSV it plotted into --out-dir (default figures/; `all` writes the
committed results/figures).
Frames and labels come from `vlmrm_sac.py --eval-checkpoint` (frames/episode_XXX.npz, labels.csv,
frame_labels.csv: see README's labelling guide) or, for CartPole and MountainCar, from ground truth
over uniformly sampled states.
"""

import csv
import glob
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
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


def ground_truth_states(env_id: str, n: int, seed: int = 0):
    """States sampled uniformly and their binary goal labels, by the paper's success rule."""
    rng = np.random.default_rng(seed)
    family = vlmrm_sac.env_family(env_id)
    if family == "CartPole":
        limit = vlmrm_sac.CARTPOLE_X_LIMIT
        x, theta = rng.uniform(-limit, limit, n), rng.uniform(-math.pi / 2, math.pi / 2, n)
        return np.stack([x, np.zeros(n), theta, np.zeros(n)], 1), np.abs(theta) < vlmrm_sac.CARTPOLE_UPRIGHT
    if family == "MountainCarContinuous":
        x = rng.uniform(*vlmrm_sac.MOUNTAINCAR_X_RANGE, n)
        return np.stack([x, np.zeros(n)], 1), x >= vlmrm_sac.MOUNTAINCAR_GOAL
    raise SystemExit(f"error: no ground-truth goal for {env_id}; use --eval-dir with labelled frames instead")


def labelled_frames(eval_dir: str):
    """Frames and per-frame goal labels from an evaluation directory: frames/episode_XXX.npz plus
    frame_labels.csv (episode, step, goal) for single frames, or labels.csv (episode, goal_share):
    an episode labelled 100 marks all its frames as goal, 0 none; partial shares are left out."""
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


@dataclass
class Success(Figure):
    """Fig. 5/6/8: histograms of the share of steps that show the goal, per task / model / alpha."""

    labels: tuple[str, ...] = ()
    """NAME=PATH pairs of labels.csv files (episode, goal_share in 0/25/50/75/100), one bar group each"""

    def run(self):
        if not self.labels:
            raise SystemExit("error: pass --labels NAME=runs/<run>/eval_<step>/labels.csv ...")
        shares = [0, 25, 50, 75, 100]
        fig, ax = plt.subplots(figsize=(2 + 1.6 * len(self.labels), 3.4))
        rows, width = [], 0.8 / len(self.labels)
        for k, pair in enumerate(self.labels):
            name, _, path = pair.partition("=")
            values = [int(float(r["goal_share"])) for r in read_csv(path) if r["goal_share"].strip() != ""]
            if not values or any(v not in shares for v in values):
                raise SystemExit(f"error: {path}: goal_share must be filled in with 0, 25, 50, 75 or 100 for some episodes")
            counts = [values.count(s) / len(values) for s in shares]
            success = float(np.mean([v >= 50 for v in values]))
            ax.bar(np.arange(5) + k * width, counts, width, label=f"{name} (success {success:.0%}, n={len(values)})")
            rows += [{"name": name, "goal_share": s, "fraction": c, "episodes": len(values), "success_rate": success}
                     for s, c in zip(shares, counts)]
        ax.set_xticks(np.arange(5) + width * (len(self.labels) - 1) / 2, [f"{s}%" for s in shares])
        ax.set(xlabel="share of steps that show the goal", ylabel="fraction of episodes")
        ax.legend(fontsize=7)
        self.save(fig, "success", rows)


@dataclass
class Poses(Figure):
    """Fig. 5 for the humanoid, labelled from the state: per prompt, the share of each evaluated episode's steps in
    the prompt's pose (HumanoidPoses, the eval.csv's <pose>_share columns), in the paper's 0/25/50/75/100% bins, and
    the prompt x pose table of success rates (an episode succeeds in a pose shown in at least half of its steps)."""

    evals: tuple[str, ...] = ()
    """NAME=PATTERN pairs: a prompt's name and the eval directories (globs) of its runs, e.g. kneeling='runs/*kneel*/eval_*'
    (a run's last evaluation counts)"""
    poses: tuple[str, ...] = ("kneeling", "standing")
    """the poses of the table's columns (vlmrm_sac.POSES); the histogram shows each prompt's own pose"""

    def run(self):
        if not self.evals:
            raise SystemExit("error: pass --evals NAME=runs/<run>/eval_<step> ... (Humanoid evaluations)")
        bins = [0, 25, 50, 75, 100]
        fig, ax = plt.subplots(figsize=(2 + 1.6 * len(self.evals), 3.4), layout="constrained")
        rows, width = [], 0.8 / len(self.evals)
        for k, pair in enumerate(self.evals):
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
            shares = np.array([float(r[f"{pose}_share"]) for r in episodes])
            counts = [float(np.mean(np.round(shares * 4) * 25 == b)) for b in bins]  # the nearest quarter, as labelled
            ax.bar(np.arange(5) + k * width, counts, width,
                   label=f"{name} ({np.mean(shares >= 0.5):.0%} success, {len(files)} run(s), n={len(shares)})")
            for p in self.poses:
                p_shares = np.array([float(r[f"{p}_share"]) for r in episodes])
                rows.append({"prompt": name, "pose": p, "success_rate": float(np.mean(p_shares >= 0.5)),
                             "mean_share": float(p_shares.mean()), "runs": len(files), "episodes": len(p_shares),
                             **{f"fraction_{b}": float(np.mean(np.round(p_shares * 4) * 25 == b)) for b in bins}})
        ax.set_xticks(np.arange(5) + width * (len(self.evals) - 1) / 2, [f"{b}%" for b in bins])
        ax.set(xlabel="share of the episode's steps in the prompt's pose (state labels)", ylabel="fraction of episodes")
        ax.legend(fontsize=7)
        self.save(fig, "poses", rows)
        print("prompt x pose success: " + "; ".join(f"{r['prompt']} -> {r['pose']} {r['success_rate']:.0%}" for r in rows))


def reward_setup(a: dict) -> tuple[str, str]:
    """(reward model, rule) of a run's args.json, named as tests/reward_yardstick.py names its rows."""
    model, rule = Path(a["clip_model"]).name, a.get("reward_rule", "projection")
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
                  out_dir=self.out_dir, note="reward: small CLIPs trained on this project's frames (results/mini_clip/"
                  f"humanoid_small, or the one named)").run()
            made.append("poses_humanoid")
        if Path(self.results, "yardstick", "kneeling.csv").exists():
            Yardstick(data=str(Path(self.results, "yardstick", "kneeling.csv")), results=self.results, out_dir=self.out_dir,
                      note="reward models: small CLIPs trained on this project's frames (results/mini_clip)").run()
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
# Verify: the numbers of results/README.md's tables, recomputed from the committed runs
# ======================================================================================
# Each checked cell's numbers are parsed from the markdown and compared with the same statistic recomputed from
# results/runs (metrics.csv, args.json, spin.csv) or results/figures/*.csv, at the precision the markdown prints:
# a number passes when it is within half a unit of its last printed digit of the recomputed value. A table row
# whose numbers come from a measurement that left no file says "no file" and is skipped by name, never silently.


def markdown_tables(path: Path):
    """(section heading, header cells, row cells, line number) of every table row of a markdown file."""
    section, header = "", None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            yield section, header, cells, n


NUMBER = r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?"  # not the 1 of "CartPole-v1" or of "b6570ae"


def printed_numbers(text: str) -> list[str]:
    """The numbers of a cell as printed, in order: "-1,233.5%" -> "-1233.5", "3.8k" -> "3.8" (thousands as printed)."""
    return [m.replace(",", "") for m in re.findall(NUMBER, text)]


def seed_numbers(part: str) -> list[str]:
    """One seed's part of a per-seed cell, "197 (from 3.8k)" -> ["197", "3.8"]: its leading number and the step of a
    "(from ...k", "(at ...k" or "(first at ...k"; other remarks in parentheses, and what follows a ";", are prose."""
    return printed_numbers(re.sub(r"\((?!from |at |first at )[^)]*\)", "", re.sub(r";[^)]*", "", part)))


def agrees(printed: str, value: Optional[float]) -> bool:
    """A printed number agrees with a recomputed value if it is the value rounded to the printed digits; None
    stands for a number of the prose (a count in words' place, a setting), which is not re-derived."""
    if value is None:
        return True
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - value) <= 0.5 * 10 ** -decimals + 1e-9


def mismatch(what: str, printed: list[str], expected: list) -> list[str]:
    if len(printed) == len(expected) and all(agrees(p, v) for p, v in zip(printed, expected)):
        return []
    shown = ", ".join("*" if v is None else f"{v:.4g}" for v in expected) or "nothing"
    return [f"{what}: found {', '.join(printed) or 'nothing'}, expected {shown}"]


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
    """{seed: Run} of results/runs/<group>/ whose args.json names `exp_name`."""
    runs = {}
    for d in sorted((results / "runs" / group).glob("*/metrics.csv")):
        args = json.loads((d.parent / "args.json").read_text())
        if args["exp_name"] == exp_name:
            rows = read_csv(d)
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


def check_seed_row(results: Path, section: str, header: list, cells: list) -> list[str]:
    """The mismatches of one per-seed row: each column's cell against its statistic, seed by seed."""
    last, rows = next(v for k, v in SEED_TABLES.items() if section.startswith(k))
    if cells[0] not in rows:
        return ["no rule for this row"]
    runs, errors = load_runs(results, *rows[cells[0]]), []
    for column, cell in zip(header[2:], cells[2:]):
        if column not in SEED_COLUMNS:
            errors.append(f"no rule for column '{column}'")
            continue
        for seed, part in zip(map(int, printed_numbers(cells[1])), cell.split(" / ")):
            printed, expected = seed_numbers(part), SEED_COLUMNS[column](runs[seed], last)
            if column == "episodes that reached the flag (of 300)" and len(printed) == 1:
                expected = expected[:1]  # the first one's step not printed
            errors += mismatch(f"{column}, seed {seed}", printed, expected)
    return errors


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
        shares = [mean(late(R(g, e))) for g, e in groups]
        return [*shares, gt_frozen]

    def paper_settings():
        run = next(iter(R("mountaincar_paper_settings_clip", "vlmrm_sac").values()))
        return [run.reached()[0], len(run.episodes)]

    def ratio_to_frozen(group, exp):
        share = mean(late(R(group, exp)))
        return [share, gt_frozen, 100 * share / gt_frozen]

    kneeling, standing = "a humanoid robot kneeling", "a humanoid robot standing up"

    def share(prompt, pose, model="humanoid_small", steps=False):  # of evaluated episodes in a pose (or of steps)
        return mean([100 * np.mean([float(r[f"{pose}_share"]) if steps else float(r[f"{pose}_share"]) >= 0.5 for r in rows])
                     for rows in humanoid_evaluations(results, prompt, model).values()])

    def humanoid():  # per prompt: the share of evaluated episodes in its own pose, and in the other prompt's
        return [None, share(kneeling, "kneeling"), share(kneeling, "standing"), share(standing, "standing"),
                share(standing, "kneeling")]

    def humanoid_visited():
        model = "humanoid_small_visited"
        return [None, share(kneeling, "kneeling", model), share(kneeling, "standing", model),
                share(kneeling, "kneeling", model, steps=True)]

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


def check_logged_row(results: Path, header: list, cells: list) -> list[str]:
    """A seed of the logged-prompts table: each column's "first 40 episodes -> last 40"."""
    run, errors = load_runs(results, "cartpole_logged_prompts", "logged_prompts")[int(cells[0])], []
    for column, cell in zip(header[1:], cells[1:]):
        scale = 100 if column == "goal's vote share" else 1
        errors += mismatch(column, printed_numbers(cell), [scale * run.mean(LOGGED_COLUMNS[column], first=40),
                                                           scale * run.mean(LOGGED_COLUMNS[column], 40)])
    return errors


def check_spin_csv(results: Path) -> tuple[int, list[str], list[str]]:
    """(rows checked, rows skipped as "no file", mismatches) of runs/pendulum_spin/spin.csv against spin_row of
    each run's committed records (tests/spin_experiment.py copies them; runs made before it did have none)."""
    folder, checked, skipped, errors = results / "runs" / "pendulum_spin", 0, [], []
    for row in read_csv(folder / "spin.csv"):
        if not (folder / row["run"] / "angular_velocity.npy").exists():
            skipped.append(f"spin.csv '{row['run']}' (no committed angular_velocity.npy)")
            continue
        checked += 1
        again = {k: str(v) for k, v in spin_row(folder / row["run"]).items()}
        if any(float(again[k]) != float(row[k]) for k in ("share_of_prompt_direction", "mean_angular_velocity")) or \
                (again["model"], again["prompt"], again["seed"]) != (row["model"], row["prompt"], row["seed"]):
            errors.append(f"spin.csv: {row['run']}: recorded {dict(row)}, recomputed {again}")
    return checked, skipped, errors


def check_spin_row(results: Path, cells: list) -> list[str]:
    """A row of the spin table against runs/pendulum_spin/spin.csv, seed by seed."""
    model = "xclip" if cells[0].startswith("X-CLIP") else "clip"
    rows = [r for r in read_csv(results / "runs" / "pendulum_spin" / "spin.csv")
            if (r["model"], r["prompt"]) == (model, cells[1].split()[-1])]
    rows.sort(key=lambda r: int(r["seed"]))
    return (mismatch("late steps turning the prompt's way", printed_numbers(cells[2]), [100 * float(r["share_of_prompt_direction"]) for r in rows])
            + mismatch("mean angular velocity", printed_numbers(cells[3]), [float(r["mean_angular_velocity"]) for r in rows]))


HUMANOID_COLUMNS = {  # header -> its numbers from one run's evaluation (eval.csv rows)
    "episodes kneeling (of 100)": lambda rows: [100 * np.mean([float(r["kneeling_share"]) >= 0.5 for r in rows])],
    "episodes standing (of 100)": lambda rows: [100 * np.mean([float(r["standing_share"]) >= 0.5 for r in rows])],
    "steps kneeling / standing": lambda rows: [100 * np.mean([float(r[f"{p}_share"]) for r in rows]) for p in ("kneeling", "standing")],
    "CLIP return": lambda rows: [np.mean([float(r["clip_return"]) for r in rows])],
}


def humanoid_evaluations(results: Path, prompt: str, model: str, step: Optional[int] = None) -> dict:
    """{seed: its last eval.csv's rows, or that of its checkpoint at `step` if it has one} of the committed humanoid runs
    (results/runs/humanoid_poses/) of `prompt` rewarded by the CLIP in results/mini_clip/`model`, found by each
    run's args.json."""
    evaluations = {}
    for args in sorted((results / "runs" / "humanoid_poses").glob("*/args.json")):
        a = json.loads(args.read_text())
        if a["prompt"] == [prompt] and Path(a["clip_model"]).name == model:
            files = sorted(args.parent.glob("eval_*/eval.csv" if step is None else f"eval_{step:09d}/eval.csv"))
            if not files and step is None:
                raise SystemExit(f"error: no evaluation of {prompt!r} ({model}) seed {a['seed']} in {args.parent}")
            if files:
                evaluations[a["seed"]] = read_csv(files[-1])
    return evaluations


def check_humanoid_states(results: Path) -> tuple[int, list[str]]:
    """(evaluations checked, mismatches): each committed humanoid evaluation's eval.csv against its states.npz: the
    pose shares labelled again by HumanoidPoses from every step's qpos, the CLIP return as the sum of its rewards."""
    poses, checked, errors = vlmrm_sac.HumanoidPoses(), 0, []
    for states in sorted((results / "runs" / "humanoid_poses").glob("*/eval_*/states.npz")):
        data, rows = np.load(states), read_csv(states.parent / "eval.csv")
        where = f"{states.parent.parent.name}/{states.parent.name}"
        if len(rows) != len(data["qpos"]):
            errors.append(f"{where}: {len(rows)} rows of eval.csv, {len(data['qpos'])} episodes of states.npz")
            continue
        checked += 1
        for row, qpos, clip in zip(rows, data["qpos"], data["clip_rewards"]):
            for column, again in poses.shares(qpos.astype(np.float64)).items():
                if abs(again - float(row[column])) > 1e-9:
                    errors.append(f"{where}: episode {row['episode']}: {column} {row[column]} in eval.csv, {again} from qpos")
            if not math.isclose(float(np.sum(clip, dtype=np.float64)), float(row["clip_return"]), rel_tol=1e-5, abs_tol=1e-4):
                errors.append(f"{where}: episode {row['episode']}: clip_return {row['clip_return']} in eval.csv, {np.sum(clip):.6f} from its rewards")
    return checked, errors


def check_humanoid_row(results: Path, header: list, cells: list) -> list[str]:
    """A row of the humanoid table: the run of its prompt, reward model and seed; its last evaluation, or that of
    the checkpoint its "checkpoint" column names (as 896,000)."""
    given = dict(zip(header, cells))
    model, step = given.get("reward model", "humanoid_small").strip("`"), given.get("checkpoint", "").replace(",", "")
    if step and not step.isdigit():
        return [f"checkpoint '{given['checkpoint']}' is not a step (as 896,000)"]
    step = int(step) if step else None
    rows, errors = humanoid_evaluations(results, cells[0].strip('"'), model, step).get(int(cells[1])), []
    if rows is None:
        return [f"no evaluation of seed {cells[1]} with {model}{f' at step {step:,}' if step else ''} in results/runs/humanoid_poses"]
    for column, cell in zip(header[2:], cells[2:]):
        if column in ("reward model", "checkpoint"):
            continue
        if column not in HUMANOID_COLUMNS:
            errors.append(f"no rule for column '{column}'")
        else:
            errors += mismatch(column, printed_numbers(cell), HUMANOID_COLUMNS[column](rows))
    return errors


YARDSTICK_COLUMNS = {  # a yardstick table's column -> its numbers from the CSV row of the model and rule (and eval.json)
    "parameters": lambda r, m: [int(r["parameters"])], "input (px)": lambda r, m: [int(r["image_size"])],
    "training (s)": lambda r, m: [m["data_s"] + m["train_s"]],
    "EPIC": lambda r, m: [float(r["epic"])], "EPIC, visited": lambda r, m: [float(r["epic_visited"])],
    "AUC vs one knee: visited / built / clean": lambda r, m: [float(r[f"auc_vs_one_knee_{s}"]) for s in ("visited", "built", "clean")],
    "AUC vs rest": lambda r, m: [float(r["auc_vs_rest"])],
    "mean reward: kneeling / one knee / other": lambda r, m: [float(r[f"mean_{c}"]) for c in ("kneeling", "one_knee", "other")],
}


def check_yardstick_row(results: Path, header: list, cells: list) -> list[str]:
    """A row of a yardstick table: its reward model's row in results/yardstick/kneeling.csv for the row's rule (the
    paper's alpha 0 where the table has no rule column), and the model's training time from its eval.json."""
    given = dict(zip(header, cells))
    model, rule = cells[0].strip("`"), given.get("rule", "projection, alpha 0")
    row = next((r for r in read_csv(results / "yardstick" / "kneeling.csv") if (r["model"], r["rule"]) == (model, rule)), None)
    if row is None:
        return [f"no yardstick row of {model} with rule '{rule}' in results/yardstick/kneeling.csv"]
    trained = results / "mini_clip" / model / "eval.json"
    made = json.loads(trained.read_text()) if trained.exists() else {}
    errors = []
    for column, cell in zip(header[1:], cells[1:]):
        if column == "rule" or (column == "training (s)" and not made and cell == "-"):
            continue
        if column not in YARDSTICK_COLUMNS:
            errors.append(f"no rule for column '{column}'")
        else:
            errors += mismatch(column, printed_numbers(cell), YARDSTICK_COLUMNS[column](row, made))
    return errors


def check_readme(path: Path, results: Path):
    """(rows checked, rows skipped as "no file", mismatches) of results/README.md."""
    summary, produced, checked, skipped, errors = summary_rules(results), produced_rules(results), 0, [], []
    for section, header, cells, line in markdown_tables(path):
        where = f"{path.name}:{line} [{section}] '{cells[0][:70]}'"
        if "no file" in " ".join(cells):
            skipped.append(where)
            continue
        if section == "Summary":
            rule = summary.get(cells[0])
            found = rule and mismatch("result", printed_numbers(cells[3]), rule())
        elif section == "Produced here":
            rule = next((r for k, r in produced.items() if cells[0].startswith(k)), None)
            found = rule and mismatch("what", printed_numbers(cells[0]), rule())
        elif header[1] == "seed" and any(section.startswith(k) for k in SEED_TABLES):
            rule, found = True, check_seed_row(results, section, header, cells)
        elif header[0] == "seed" and section.startswith("What else the frames look like"):
            rule, found = True, check_logged_row(results, header, cells)
        elif header[0] == "prompt" and header[1] == "seed" and section.startswith("The humanoid"):
            rule, found = True, check_humanoid_row(results, header, cells)
        elif header[0] == "reward model" and section.startswith("Reward models for kneeling"):
            rule, found = True, check_yardstick_row(results, header, cells)
        elif header[0] == "reward model" and section.startswith("Pendulum: a goal of motion"):
            rule, found = True, check_spin_row(results, cells)
        else:
            continue  # a table of settings, models or figures: no run data behind it
        if not rule:
            found = ["no rule for this row: add one to plot.py's verify, or say 'no file' in the row"]
        checked += 1
        errors += [f"{where}: {e}" for e in found]
    return checked, skipped, errors


def check_benchmarks(path: Path, results: Optional[Path] = None) -> tuple[int, list[str]]:
    """(figures checked, mismatches) of benchmarks.md: the figures its prose derives from its own tables (the
    tables themselves are timings, which left no file)."""
    text = path.read_text()
    tables = {}  # first header cell + section -> rows
    for section, header, cells, _ in markdown_tables(path):
        tables.setdefault((section, header[0]), []).append(cells)
    h200 = next(rows for (s, h), rows in tables.items() if s.startswith("The paper's run on an H200") and h.startswith("CLIP"))
    render = {(r[0], r[1]): float(printed_numbers(r[3])[0]) for r in h200}  # (model, overlap) -> rendering share %
    speed = {(r[0], r[1]): float(printed_numbers(r[2])[0]) for r in h200}
    pairs = next(rows for (s, h), rows in tables.items() if h == "pair")
    warp = next(rows for (s, h), rows in tables.items() if s.startswith("MuJoCo Warp beside EGL") and h == "size")
    at480 = next(r for r in warp if r[0] == "480")  # the H200's table comes first
    k_frames = {r[1]: float(printed_numbers(r[2])[0]) for r in next(rows for (s, h), rows in tables.items() if s.startswith("Rewards from a window") and h == "model") if "image" in r[0]}
    low, high = min(render.values()), max(render.values())
    # (what, regex of the printed figures, the figures recomputed from the tables); the tables print rounded inputs,
    # so a figure may be one unit of its last digit off
    claims = [
        ("overlap's gain, ViT-B/32", r"264\.2 \(\+([\d.]+)%\)", [100 * (speed["ViT-B/32", "on"] / speed["ViT-B/32", "off"] - 1)]),
        ("overlap's gain, ViT-bigG-14", r"175\.1 \(\+([\d.]+)%\)", [100 * (speed["ViT-bigG-14", "on"] / speed["ViT-bigG-14", "off"] - 1)]),
        ("the renderer's share of the paper's run", r"The EGL renderer takes (\d+)-(\d+)% of the wall time", [low, high]),
        ("the renderer's share, in the restructure", r"the renderer at (\d+)-(\d+)% of the paper's run", [low, high]),
        ("the EGL figures beside Warp's command", r"the EGL figures above: rendering (\d+)% \(ViT-bigG-14\) and (\d+)% \(ViT-B/32\)",
         [render["ViT-bigG-14", "off"], render["ViT-B/32", "off"]]),
        ("4fc00e0's mean over the pairs", r"\| mean \| ([\d.]+) \|", [float(np.mean([float(r[1]) for r in pairs if r[0].isdigit()]))]),
        ("today's mean over the pairs", r"\| mean \| [\d.]+ \| ([\d.]+) \|", [float(np.mean([float(r[2]) for r in pairs if r[0].isdigit()]))]),
        ("Warp at 480 against one EGL process", r"Warp renders (\d+)x one EGL process",
         [float(printed_numbers(at480[2])[0]) / float(printed_numbers(at480[1])[0])]),
        ("K = 8 against K = 1, image model", r"K = 8: (\d+)% fewer", [100 * (1 - k_frames["8"] / k_frames["1"])]),
    ]
    if results:  # figures of the committed runs
        files = [next((results / "runs" / "humanoid_poses").glob(f"*__{exp}__1__*/metrics.csv")) for exp in ("kneeling", "standing")]
        sps = [float(np.mean([float(r["sps"]) for r in read_csv(f) if r["sps"] and int(r["global_step"]) > 60_000])) for f in files]
        claims.append(("the humanoid runs' steps/s", r"10k steps after learning starts\): (\d+) and (\d+) env steps/s", sps))
    errors = []
    for what, pattern, values in claims:
        found = re.findall(pattern, text)
        if not found:
            errors.append(f"{path.name}: {what}: no text matches {pattern!r}")
        for printed in found:
            printed = [printed] if isinstance(printed, str) else list(printed)
            if any(abs(float(p) - v) > 10 ** -(len(p.split(".")[1]) if "." in p else 0) for p, v in zip(printed, values)):
                errors.append(f"{path.name}: {what}: found {', '.join(printed)}, expected {', '.join(f'{v:.3g}' for v in values)}")
    return len(claims), errors


@dataclass
class Verify:
    """Every number of results/README.md's run tables (the summary, the per-seed tables) and the figures
    benchmarks.md derives from its own tables, recomputed from the committed files; exits 1 naming each row whose
    printed number differs. Rows that say "no file" (timings, measurements that left none) are listed as skipped."""

    readme: str = "results/README.md"
    """the markdown whose tables are checked"""
    benchmarks: Optional[str] = "results/benchmarks.md"
    """the benchmarks' markdown (None: not checked)"""
    results: str = "results"
    """the folder with runs/<group>/<run>/ and figures/*.csv that the numbers come from"""

    def run(self):
        checked, skipped, errors = check_readme(Path(self.readme), Path(self.results))
        spin_rows, spin_skipped, more = check_spin_csv(Path(self.results))
        skipped, errors = skipped + spin_skipped, errors + more
        evaluations, more = check_humanoid_states(Path(self.results))
        errors += more
        derived = 0
        if self.benchmarks:
            derived, more = check_benchmarks(Path(self.benchmarks), Path(self.results))
            errors += more
        for where in skipped:
            print(f"skipped (no file): {where}")
        print(f"checked {checked} table rows of {self.readme}, {spin_rows} rows of spin.csv, {evaluations} humanoid "
              "evaluations against their states"
              + (f" and {derived} derived figures of {self.benchmarks}" if self.benchmarks else ""))
        if errors:
            raise SystemExit("numbers that differ from the committed data:\n" + "\n".join(errors))
        print("every number checked agrees with the committed data")


COMMANDS = {"landscape": Landscape, "epic": Epic, "curves": Curves, "prompts": Prompts, "success": Success, "reward-hist": RewardHist,
            "probe": Probe, "sheets": Sheets, "frames": Frames, "spin": Spin, "poses": Poses, "yardstick": Yardstick,
            "all": All,
            "verify": Verify}

if __name__ == "__main__":
    try:
        tyro.extras.subcommand_cli_from_dict(COMMANDS).run()
    except vlmrm_sac.UserError as e:
        raise SystemExit(f"error: {e}") from None
