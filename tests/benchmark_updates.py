"""SAC gradient steps per second on this machine for the humanoid (observations 348, actions 17, batch 512, 2x256):
the update as vlmrm_sac.SAC runs it, beside the same update with Adam's foreach or fused implementation and under
torch.compile. Prints each rate and whether its parameters after the same steps equal the committed update's
(bit for bit). Prints figures; it is not a test.

    OMP_NUM_THREADS=1 python tests/benchmark_updates.py --threads 1 [--compile]
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import tyro

import vlmrm_sac as vs


def main(threads: int = 1, steps: int = 60, warm: int = 10, compile: bool = False):
    """threads: torch CPU threads; steps: gradient steps timed after `warm` untimed ones; compile: also torch.compile."""
    torch.set_num_threads(threads)
    args = vs.Args(device="cpu")
    space = vs.gym.spaces.Box(-1, 1, (17,), np.float32)
    g = torch.Generator().manual_seed(0)
    buffer = vs.ReplayBuffer(100_000, 348, (17,), torch.float32, "cpu")
    buffer.add(obs=torch.randn(100_000, 348, generator=g), next_obs=torch.randn(100_000, 348, generator=g),
               actions=torch.rand(100_000, 17, generator=g) * 2 - 1, rewards=torch.rand(100_000, generator=g),
               dones=(torch.rand(100_000, generator=g) < 0.01).float())
    torch.manual_seed(1)
    batches = [buffer.sample(512) for _ in range(warm + steps)]

    def agent(adam=None):
        torch.manual_seed(0)
        a = vs.SAC(348, space, args, "cpu")
        if adam:  # the same optimizers, another implementation of Adam's step
            for name in ("q_optimizer", "actor_optimizer", "ent_optimizer"):
                group = getattr(a, name).param_groups[0]
                setattr(a, name, torch.optim.Adam(group["params"], lr=group["lr"], eps=group["eps"], **adam))
        return a

    def rate(a, update):
        torch.manual_seed(2)
        for i in range(warm):
            update(batches[i], args, i)
        start = time.perf_counter()
        for i in range(warm, warm + steps):
            update(batches[i], args, i)
        return steps / (time.perf_counter() - start)

    committed = agent()
    print(f"# SAC updates/s, batch 512, humanoid sizes, {threads} thread(s), {os.cpu_count()} cores")
    print(f"committed (Adam's for-loop on the CPU): {rate(committed, committed.update):.1f}")
    variants = {"Adam foreach": dict(adam=dict(foreach=True)), "Adam fused": dict(adam=dict(fused=True))}
    if compile:  # the whole update (its backward passes inside the graph), or each network's forward in place
        variants["torch.compile(update)"] = dict(compiled="update")
        variants["Module.compile() of the networks"] = dict(compiled="networks")
    for name, v in variants.items():
        a = agent(v.get("adam"))
        if v.get("compiled") == "networks":
            for net in (a.actor, a.qf1, a.qf2, a.qf1_target, a.qf2_target):
                net.compile()
        start = time.perf_counter()
        try:
            r = rate(a, torch.compile(a.update) if v.get("compiled") == "update" else a.update)
        except RuntimeError as e:  # a variant that cannot run this update says so in one line
            print(f"{name}: fails ({str(e).splitlines()[0][:120]})")
            continue
        same = all(torch.equal(p, q) for p, q in zip(committed.parameters(), a.parameters()))
        print(f"{name}: {r:.1f} (parameters equal to the committed update's: {same}; with warm-up {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    tyro.cli(main)
