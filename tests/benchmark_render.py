"""MuJoCo's batch renderer (MuJoCo Warp) beside EGL for the paper's humanoid: frames/s, and how much its frames and a
small CLIP's rewards differ from EGL's at the same states. A measurement for the renderer issue, not part of a run.

    python tests/benchmark_render.py --looks paper generated stock --cameras paper stock --sizes 224   # CPU
    python tests/benchmark_render.py --look-dir path/to/vlmrm --device cuda:0 --batch 1024   # GPU, the paper look

EGL: one env, `make_env` + `render` per frame (the path of --renderer egl). Warp: the same states (qpos recorded
from gymnasium rollouts) drawn by the run's own vlmrm_sac.WarpRenderer (--renderer warp) in batches of --batch
worlds. Frames/s counts kinematics + render + unpacking to uint8 RGB, after a warm-up batch (the first compiles
the kernels; its time is printed too). The differences are at CLIP's input (the whole
frame resized to 224, as the reward does): mean |difference| in grey levels, and the reward of a small random CLIP
(tests/tiny_models.py) for --prompt, against the spread of its rewards over the states.
"""

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import tyro

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlmrm_sac as vs  # noqa: E402


@dataclass
class Args:
    looks: tuple[str, ...] = ("paper",)
    """the humanoid's looks to measure: paper (the authors' images, downloaded or --look-dir), generated, stock"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files"""
    cameras: tuple[str, ...] = ("paper",)
    """paper (the fixed front camera) and/or stock (the XML's tracking camera)"""
    sizes: tuple[int, ...] = (64, 224, 480)
    """frame sizes (square)"""
    states: int = 64
    """states compared (random actions from the reset, 5 steps apart)"""
    batch: int = 64
    """worlds rendered per Warp batch (frames/s is measured on batches of this size)"""
    repeats: int = 3
    """timed Warp batches per size"""
    samples_per_pixel: int = 1
    """Warp's sub-pixel samples per axis (n*n renders averaged)"""
    device: str = "cpu"
    """Warp's device: cpu or cuda:N"""
    egl_frames: int = 32
    """EGL frames timed per size"""
    prompt: str = "a humanoid robot kneeling"
    """the small CLIP's goal prompt"""


def run_args(args: Args, look: str, camera: str, size: int) -> vs.Args:
    return vs.Args(env_id="Humanoid-v5", look=look, look_dir=args.look_dir, paper_camera=camera == "paper",
                   render_size=size, device=args.device, renderer="warp")


def rollout_states(args: Args):
    """qpos (N, nq) of varied states: random actions from a few resets."""
    env = vs.make_env("Humanoid-v5", 100, 64, look="stock")
    rng = np.random.default_rng(0)
    qpos = []
    for i in range(args.states):
        if i % 20 == 0:
            env.reset(seed=i)
        for _ in range(5):
            env.step(rng.uniform(-1, 1, 17).astype(np.float32))
        qpos.append(env.unwrapped.data.qpos.copy())
    env.close()
    return np.array(qpos)


def egl_frames(args: Args, run: vs.Args, qpos: np.ndarray):
    """EGL's frames of the states (N, size, size, 3), as a run's env renders them, and its frames/s for one env."""
    import mujoco

    env = vs.make_env("Humanoid-v5", 100, run.render_size, paper_camera=run.paper_camera, look=run.look,
                      look_dir=run.look_dir)
    env.reset(seed=0)
    model, data = env.unwrapped.model, env.unwrapped.data
    frames = []
    for q in qpos:
        data.qpos[:] = q
        mujoco.mj_forward(model, data)
        frames.append(vs.render(env).copy())
    start = time.perf_counter()
    for i in range(args.egl_frames):
        data.qpos[:] = qpos[i % len(qpos)]
        mujoco.mj_forward(model, data)
        vs.render(env)
    fps = args.egl_frames / (time.perf_counter() - start)
    env.close()
    return np.stack(frames), fps


def at_clip_input(frames) -> torch.Tensor:
    """Frames as the reward sees them, before its normalization: the whole frame resized to 224, in grey levels."""
    zero, one = torch.zeros(3, 1, 1), torch.ones(3, 1, 1)
    return vs.preprocess_frames(torch.as_tensor(frames).cpu(), 224, zero, one, "cpu") * 255


def main(args: Args):
    from tiny_models import build_tiny_clip

    qpos = rollout_states(args)
    clip = vs.CLIPReward(build_tiny_clip(Path(tempfile.mkdtemp())), [args.prompt])
    print(f"humanoid, {len(qpos)} states; Warp on {args.device}, {args.samples_per_pixel}^2 samples/pixel, "
          f"batches of {args.batch} worlds")
    print("| look | camera | size | EGL frames/s (1 env) | Warp frames/s | Warp first batch (s) | mean abs diff at 224 "
          "(grey levels) | small CLIP reward: mean abs diff | its spread (std over states) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for look in args.looks:
        for camera in args.cameras:
            for size in args.sizes:
                run = run_args(args, look, camera, size)
                egl, egl_fps = egl_frames(args, run, qpos)
                warp = vs.WarpRenderer(run, args.batch, args.samples_per_pixel)
                batch = np.resize(qpos, (args.batch, qpos.shape[1]))  # the states, repeated to fill a batch
                frames = torch.zeros((args.batch, size, size, 3), dtype=torch.uint8, device=warp.device)
                start = time.perf_counter()
                warp.render(batch, frames)
                first = time.perf_counter() - start
                start = time.perf_counter()
                for _ in range(args.repeats):
                    warp.render(batch, frames)
                warp_fps = args.repeats * args.batch / (time.perf_counter() - start)
                ours = frames[:len(qpos)].cpu().numpy()
                if size == args.sizes[-1]:
                    import imageio.v3 as iio
                    out = Path("figures")
                    out.mkdir(exist_ok=True)
                    iio.imwrite(out / f"warp_vs_egl_{look}_{camera}_{size}.png", np.concatenate([egl[0], ours[0]], 1))
                diff = (at_clip_input(egl) - at_clip_input(ours)).abs()
                r_egl, r_warp = clip(egl), clip(ours)
                print(f"| {look} | {camera} | {size} | {egl_fps:.1f} | {warp_fps:.1f} | {first:.1f} | {diff.mean():.2f} | "
                      f"{(r_egl - r_warp).abs().mean():.4f} | {r_egl.std():.4f} |", flush=True)


if __name__ == "__main__":
    main(tyro.cli(Args))
