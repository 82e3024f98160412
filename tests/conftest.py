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

from tiny_models import build_tiny_clip, build_tiny_siglip


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> str:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny_clip"))


@pytest.fixture(scope="session")
def tiny_siglip(tmp_path_factory) -> str:
    return build_tiny_siglip(tmp_path_factory.mktemp("tiny_siglip"))


def pytest_collection_modifyitems(items):
    """The learning checks (slow-marked, 1-3 minutes each) run first, the rest keep their order: collected last,
    they were handed out last, and the two workers could finish one to two minutes apart."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # a stable sort
