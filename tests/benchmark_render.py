"""MuJoCo's batch renderer (MuJoCo Warp) beside EGL for the paper's humanoid: frames/s, and how much its frames and a
small CLIP's rewards differ from EGL's at the same states. A measurement for the renderer issue, not part of a run.

    pip install mujoco-warp       # MuJoCo's batch renderer and NVIDIA Warp; not needed by vlmrm_sac.py
    python tests/benchmark_render.py --look generated --sizes 64 224 480            # CPU (Warp's CPU device)
    python tests/benchmark_render.py --look-dir path/to/vlmrm --device cuda:0 --batch 1024   # GPU, the paper look

EGL: one env, `make_env` + `render` per frame (the path a run takes now). Warp: the same states (qpos recorded from
gymnasium rollouts) rendered in batches of --batch worlds from a render-only model of the same XML, with the paper
camera written into it as a fixed camera (Warp renders only cameras defined in the model) and a solver Warp takes
(rendering needs only kinematics). Frames/s counts kinematics + render + unpacking to uint8 RGB, after a warm-up
batch (the first compiles the kernels; its time is printed too). The differences are at CLIP's input (the whole
frame resized to 224, as the reward does): mean |difference| in grey levels, and the reward of a small random CLIP
(tests/tiny_models.py) for --prompt, against the spread of its rewards over the states.
"""

import math
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
import tyro

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlmrm_sac as vs  # noqa: E402


@dataclass
class Args:
    look: Literal["paper", "generated", "stock"] = "paper"
    """the humanoid's look (paper: the authors' images, downloaded or --look-dir)"""
    look_dir: Optional[str] = None
    """a folder holding the authors' image files"""
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
    shadows: bool = True
    """Warp's shadows"""
    device: str = "cpu"
    """Warp's device: cpu or cuda:N"""
    egl_frames: int = 32
    """EGL frames timed per size"""
    prompt: str = "a humanoid robot kneeling"
    """the small CLIP's goal prompt"""


def render_model_xml(look: str, images: Optional[dict]) -> str:
    """The look's humanoid XML with the paper camera as a fixed camera named "paper" (MuJoCo's free camera at
    distance 3.5, lookat (0, 0, 1), elevation -10, azimuth 180 is this camera)."""
    root = ET.parse(vs.humanoid_xml(look, images)).getroot()
    cam = vs.PAPER_CAMERA
    az, el = math.radians(cam["azimuth"]), math.radians(cam["elevation"])
    forward = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    pos = cam["lookat"] - cam["distance"] * forward
    right = np.cross(forward, [0, 0, 1])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    ET.SubElement(root.find("worldbody"), "camera", name="paper", pos=" ".join(f"{v:.6f}" for v in pos),
                  xyaxes=" ".join(f"{v:.6f}" for v in (*right, *up)), fovy="45")
    path = Path(tempfile.mkdtemp()) / "humanoid_render.xml"
    path.write_bytes(ET.tostring(root))
    return str(path)


def rollout_states(args: Args, images):
    """qpos (N, nq) of varied states, and EGL's frames of them at each size."""
    env = vs.make_env("Humanoid-v5", 100, max(args.sizes), look=args.look, look_dir=args.look_dir)
    env.reset(seed=0)
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


def egl_frames(args: Args, size: int, qpos: np.ndarray):
    """EGL's frames of the states (N, size, size, 3) and its frames/s for one env."""
    import mujoco

    env = vs.make_env("Humanoid-v5", 100, size, look=args.look, look_dir=args.look_dir)
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


class WarpRenderer:
    def __init__(self, xml: str, size: int, nworld: int, device: str, samples: int, shadows: bool):
        import mujoco
        import mujoco_warp as mjw
        import warp as wp

        self.mjw, self.wp = mjw, wp
        mjm = mujoco.MjModel.from_xml_path(xml)
        mjm.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON  # Warp refuses PGS; rendering needs only kinematics
        self.device = wp.get_device(device)
        with wp.ScopedDevice(self.device):
            self.m = mjw.put_model(mjm)
            self.d = mjw.make_data(mjm, nworld=nworld)
            self.rc = mjw.create_render_context(mjm, nworld=nworld, cam_res=(size, size), render_rgb=True,
                                                render_depth=False, use_textures=True, use_shadows=shadows,
                                                render_skybox=True, cam_active=["paper"], samples_per_pixel=samples)
        self.nworld, self.size = nworld, size

    def render(self, qpos: np.ndarray) -> torch.Tensor:
        """(nworld, size, size, 3) uint8 on the Warp device, as a torch tensor (no copy)."""
        wp = self.wp
        with wp.ScopedDevice(self.device):
            wp.copy(self.d.qpos, wp.array(qpos.astype(np.float32), dtype=float))
            self.mjw.kinematics(self.m, self.d)
            self.mjw.com_pos(self.m, self.d)
            self.mjw.camlight(self.m, self.d)
            self.mjw.refit_bvh(self.m, self.d, self.rc)
            self.mjw.render(self.m, self.d, self.rc)
            packed = wp.to_torch(self.rc.rgb_data)  # (nworld, pixels) 32-bit, bytes B, G, R, A
        bgra = packed.view(torch.uint8).view(self.nworld, self.size, self.size, 4)
        return bgra[..., [2, 1, 0]]


def at_clip_input(frames) -> torch.Tensor:
    """Frames as the reward sees them, before its normalization: the whole frame resized to 224, in grey levels."""
    zero, one = torch.zeros(3, 1, 1), torch.ones(3, 1, 1)
    return vs.preprocess_frames(torch.as_tensor(frames).cpu(), 224, zero, one, "cpu") * 255


def main(args: Args):
    from tiny_models import build_tiny_clip

    images = vs.authors_images(args.look_dir) if args.look == "paper" else None
    xml = render_model_xml(args.look, images)
    qpos = rollout_states(args, images)
    clip = vs.CLIPReward(build_tiny_clip(Path(tempfile.mkdtemp())), [args.prompt])
    print(f"humanoid, look {args.look}, {len(qpos)} states; Warp on {args.device}, {args.samples_per_pixel}^2 "
          f"samples/pixel, shadows {args.shadows}, batches of {args.batch} worlds")
    print("| size | EGL frames/s (1 env) | Warp frames/s | Warp first batch (s) | mean abs diff at 224 (grey levels) | "
          "small CLIP reward: mean abs diff | its spread (std over states) |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        egl, egl_fps = egl_frames(args, size, qpos)
        warp = WarpRenderer(xml, size, args.batch, args.device, args.samples_per_pixel, args.shadows)
        batches = [np.resize(qpos, (args.batch, qpos.shape[1]))]  # the states, repeated to fill a batch
        start = time.perf_counter()
        frames = warp.render(batches[0])
        warp.wp.synchronize()
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.repeats):
            warp.render(batches[0])
        warp.wp.synchronize()
        warp_fps = args.repeats * args.batch / (time.perf_counter() - start)
        ours = frames[:len(qpos)].cpu().numpy()
        if size == args.sizes[-1]:
            import imageio.v3 as iio
            out = Path("figures")
            out.mkdir(exist_ok=True)
            iio.imwrite(out / f"warp_vs_egl_{args.look}_{size}.png", np.concatenate([egl[0], ours[0]], 1))
        diff = (at_clip_input(egl) - at_clip_input(ours)).abs()
        r_egl, r_warp = clip(egl), clip(ours)
        print(f"| {size} | {egl_fps:.1f} | {warp_fps:.1f} | {first:.1f} | {diff.mean():.2f} | "
              f"{(r_egl - r_warp).abs().mean():.4f} | {r_egl.std():.4f} |", flush=True)


if __name__ == "__main__":
    main(tyro.cli(Args))
