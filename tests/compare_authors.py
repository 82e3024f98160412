"""Renders the same states through the authors' env classes and through vlmrm_sac.py's paper look, and reports how
much the frames differ. Needs a copy of the authors' repository (AlignmentResearch/vlmrm at 811d820, MIT licence):

    python tests/compare_authors.py --authors-repo path/to/vlmrm [--out-dir results/frames]

Humanoid-v4 (the paper's) with the paper camera: both reset with the same seed and stepped with the same random
actions (their class reads their humanoid_textured.xml and images from their checkout; ours writes its XML from
gymnasium's stock bodies and reads the images through --look-dir; it acts in [-1, 1] and rescales, so theirs gets
the rescaled actions). MountainCar: their class and ours put at the
same positions. Prints the mean absolute difference per pixel and channel (grey levels, 0-255) and the share of
pixels that differ, and writes one side-by-side frame per env (theirs | ours | difference x10).
"""

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tyro

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import vlmrm_sac  # noqa: E402  (sets MUJOCO_GL and SDL_VIDEODRIVER first)


@dataclass
class Args:
    authors_repo: str
    """a checkout of the authors' repository (its src/vlmrm/envs/ holds their env classes and images)"""
    out_dir: str = "results/frames"
    """where the side-by-side frames go"""
    states: int = 8
    """states compared per env"""
    seed: int = 0


def load_module(path: Path):
    """One of the authors' env modules, loaded from its file (their package's __init__ needs their whole stack)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def humanoid_frames(envs_dir: Path, states: int, seed: int):
    theirs = load_module(envs_dir / "mujoco" / "clip_rewarded_humanoid.py").CLIPRewardedHumanoidEnv(
        episode_length=100, camera_config=vlmrm_sac.PAPER_CAMERA, textured=True, width=480, height=480)
    ours = vlmrm_sac.make_env("Humanoid-v4", 100, 480, look="paper", look_dir=str(envs_dir.parents[2]))
    rng = np.random.default_rng(seed)
    obs_a, _ = theirs.reset(seed=seed)
    obs_b, _ = ours.reset(seed=seed)
    assert np.array_equal(obs_a, obs_b), "the two humanoids start in different states"
    pairs = []
    for t in range(states * 10):
        action = rng.uniform(-1, 1, size=17)  # ours acts in [-1, 1] and rescales to the humanoid's [-0.4, 0.4]
        obs_a, *_ = theirs.step(ours.action(action))
        obs_b, *_ = ours.step(action)
        assert np.array_equal(obs_a, obs_b), f"the two humanoids parted at step {t}"
        if t % 10 == 9:
            pairs.append((theirs.render(), vlmrm_sac.render(ours)))
    return pairs


def mountaincar_frames(envs_dir: Path, states: int):
    theirs = load_module(envs_dir / "classic_control" / "clip_rewarded_mountain_car_continuous.py") \
        .CLIPRewardedContinuousMountainCarEnv(episode_length=200)
    ours = vlmrm_sac.make_env("MountainCarContinuous-v0", 200, look="paper", look_dir=str(envs_dir.parents[2]))
    theirs.reset(seed=0)
    ours.reset(seed=0)
    pairs = []
    for x in np.linspace(-1.2, 0.6, states):
        theirs.state = ours.unwrapped.state = np.array([x, 0.0])
        pairs.append((theirs.render(), ours.render()))
    return pairs


def main(args: Args):
    import imageio.v3 as iio

    envs_dir = Path(args.authors_repo) / "src" / "vlmrm" / "envs"
    for name, pairs in [("humanoid", humanoid_frames(envs_dir, args.states, args.seed)),
                        ("mountaincar", mountaincar_frames(envs_dir, args.states))]:
        diffs = [np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in pairs]
        mean = [float(d.mean()) for d in diffs]
        share = [float((d.max(-1) > 0).mean()) for d in diffs]
        print(f"{name}: {len(pairs)} states, mean |difference| per pixel and channel {np.mean(mean):.3f} grey levels "
              f"(largest state {max(mean):.3f}), pixels that differ {100 * np.mean(share):.2f}% "
              f"(largest {100 * max(share):.2f}%), largest single difference {max(int(d.max()) for d in diffs)}")
        a, b = pairs[len(pairs) // 2]
        strip = np.concatenate([a, b, np.clip(10 * diffs[len(pairs) // 2], 0, 255).astype(np.uint8)], axis=1)
        out = Path(args.out_dir) / f"{name}_authors_vs_ours.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(out, strip)
        print(f"  wrote {out} (theirs | ours | difference x10)")


if __name__ == "__main__":
    main(tyro.cli(Args))
