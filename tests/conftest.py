"""Shared test setup: offline, headless, and tiny CLIP-like models built in code (no weights can be downloaded)."""

import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
# The tests' networks and CLIPs are small: one thread each. Torch's default (one per core) gains nothing on
# them and, with another process busy, spin-waits: a 13 s run then took 280 s on 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ["WANDB_MODE"] = "offline"  # --track in tests writes W&B's run files locally, never to the network
os.environ.setdefault("WANDB_SILENT", "true")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # import vlmrm_sac, plot

import pytest

from tiny_models import build_tiny_clip, build_tiny_siglip, build_tiny_xclip


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_xclip(tmp_path_factory) -> str:
    return build_tiny_xclip(tmp_path_factory.mktemp("tiny_xclip"))


@pytest.fixture(scope="session")
def tiny_siglip(tmp_path_factory) -> str:
    return build_tiny_siglip(tmp_path_factory.mktemp("tiny_siglip"))


@pytest.fixture
def authors_like(tmp_path, monkeypatch) -> str:
    """A folder of stand-ins for the authors' five image files (theirs cannot be downloaded here), with the same
    names, sizes and alpha channels, and vlmrm_sac's checksums set to theirs for this test: the paper look's code
    runs on them as on the real files."""
    import hashlib

    import imageio.v3 as iio
    import numpy as np

    import vlmrm_sac as vs

    rng = np.random.default_rng(0)
    generated = {name: iio.imread(vs.GENERATED_LOOK / name) for name in ("sky.png", "tiles.png", "robot.png")}
    sky = generated["sky.png"][256:512, 256:512]  # one face of the generated sky, as one square image
    car = np.zeros((33, 70, 4), np.uint8)
    car[4:29, 3:67] = (200, 20, 20, 255)  # a red car, transparent around it
    background = np.concatenate([iio.imread(vs.GENERATED_LOOK / "mountain_car_background.png"),
                                 rng.integers(247, 256, (400, 600, 1), dtype=np.uint8)], -1)
    files = {"sky.png": sky, "tiles.png": generated["tiles.png"], "robot.png": generated["robot.png"],
             "mountain_car_background.png": background, "mountain_car.png": car}
    folder = tmp_path / "authors_like"
    folder.mkdir()
    table = {}
    for name, image in files.items():
        iio.imwrite(folder / name, image)
        table[name] = (vs.AUTHORS_IMAGES[name][0], hashlib.sha256((folder / name).read_bytes()).hexdigest())
    monkeypatch.setattr(vs, "AUTHORS_IMAGES", table)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return str(folder)


def pytest_collection_modifyitems(items):
    """The learning checks (slow-marked, 1-3 minutes each) run first, the rest keep their order: collected last,
    they were handed out last, and the two workers could finish one to two minutes apart."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort
