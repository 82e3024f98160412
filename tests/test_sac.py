"""One SAC gradient step checked against the same step written out here, independently, from SB3 2.0's SAC (the
authors'): its losses, the critics' and the actor's new weights, and the entropy coefficient's. A changed sign,
discount, done mask, entropy term or order of the steps in vlmrm_sac.SAC.update makes these fail."""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import vlmrm_sac as vs

B, OBS, ACT, GAMMA, TAU, LR = 16, 3, 2, 0.9, 0.1, 1e-2


def make_batch(discrete: bool, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    actions = torch.randint(0, 3, (B,), generator=g) if discrete else torch.rand(B, ACT, generator=g) * 2 - 1
    return {"obs": torch.randn(B, OBS, generator=g), "next_obs": torch.randn(B, OBS, generator=g), "actions": actions,
            "rewards": torch.randn(B, generator=g), "dones": (torch.arange(B) % 4 == 3).float()}  # some episode ends


def make_agent(discrete: bool, **kw):
    space = gym.spaces.Discrete(3) if discrete else gym.spaces.Box(-1.0, 1.0, (ACT,), np.float32)
    args = vs.Args(hidden_size=8, gamma=GAMMA, tau=TAU, q_lr=LR, policy_lr=LR, **kw)
    torch.manual_seed(0)
    return vs.SAC(OBS, space, args, "cpu"), args


def adam_step(params, loss, eps):
    """A first Adam step of `params` on `loss`, by torch.optim.Adam (a library optimizer, not the code under test)."""
    optimizer = torch.optim.Adam(params, lr=LR, eps=eps)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def sb3_step(agent, batch, discrete: bool, seed: int):
    """The expected result of one step of `agent` (a copy is stepped): SB3's train() order, its losses written out."""
    a = copy.deepcopy(agent)
    eps = 1e-4 if discrete else 1e-8
    torch.manual_seed(seed)
    alpha = a.log_ent_coef.exp().detach()
    obs, next_obs = batch["obs"], batch["next_obs"]

    def policy(o):  # (actions or None, log pi per action or per sample, probs or None)
        if discrete:
            logits = a.actor.net(o)
            return None, F.log_softmax(logits, -1), F.softmax(logits, -1)
        mean, log_std = a.actor.net(o).chunk(2, -1)
        log_std = log_std.clamp(-20, 2)
        u = mean + log_std.exp() * torch.randn_like(mean)
        normal = torch.distributions.Normal(mean, log_std.exp())
        return torch.tanh(u), (normal.log_prob(u) - torch.log(1 - torch.tanh(u) ** 2 + 1e-6)).sum(-1), None

    # 1. one sample of the current policy; the entropy coefficient's loss on log(alpha), its step first
    actions_pi, log_pi, probs = policy(obs)
    mean_log_pi = (probs * log_pi).sum(-1) if discrete else log_pi
    ent_loss = -(a.log_ent_coef * (mean_log_pi + a.target_entropy).detach()).mean()
    adam_step([a.log_ent_coef], ent_loss, eps)
    # 2. the critics: target from the smaller target Q at the next state, no bootstrap where done
    with torch.no_grad():
        next_actions, next_log_pi, next_probs = policy(next_obs)
        if discrete:
            next_q = torch.min(a.qf1_target.net(next_obs), a.qf2_target.net(next_obs))
            next_v = (next_probs * (next_q - alpha * next_log_pi)).sum(-1)
        else:
            x = torch.cat([next_obs, next_actions], -1)
            next_v = torch.min(a.qf1_target.net(x), a.qf2_target.net(x)).squeeze(-1) - alpha * next_log_pi
        y = batch["rewards"] + GAMMA * (1 - batch["dones"]) * next_v
    if discrete:
        q1 = a.qf1.net(obs)[torch.arange(B), batch["actions"]]
        q2 = a.qf2.net(obs)[torch.arange(B), batch["actions"]]
    else:
        x = torch.cat([obs, batch["actions"]], -1)
        q1, q2 = a.qf1.net(x).squeeze(-1), a.qf2.net(x).squeeze(-1)
    qf_loss = 0.5 * (((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean())
    adam_step([*a.qf1.parameters(), *a.qf2.parameters()], qf_loss, eps)
    # 3. the actor, on the sample of step 1, scored by the updated critics
    if discrete:
        with torch.no_grad():
            q = torch.min(a.qf1.net(obs), a.qf2.net(obs))
        pi_loss = (probs * (alpha * log_pi - q)).sum(-1).mean()
    else:
        x = torch.cat([obs, actions_pi], -1)
        pi_loss = (alpha * log_pi - torch.min(a.qf1.net(x), a.qf2.net(x)).squeeze(-1)).mean()
    adam_step(list(a.actor.parameters()), pi_loss, eps)
    # 4. Polyak averaging of the target critics
    with torch.no_grad():
        for target, source in [(a.qf1_target, a.qf1), (a.qf2_target, a.qf2)]:
            for t, s in zip(target.parameters(), source.parameters()):
                t.copy_((1 - TAU) * t + TAU * s)
    return a, {"qf_loss": qf_loss, "actor_loss": pi_loss, "ent_coef_loss": ent_loss, "entropy": -mean_log_pi.mean()}


@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "discrete"])
def test_one_update_equals_sb3s_step_written_out(discrete):
    agent, args = make_agent(discrete)
    batch = make_batch(discrete)
    expected, losses = sb3_step(agent, batch, discrete, seed=7)
    torch.manual_seed(7)
    out = agent.update(batch, args, 0)
    for k, v in losses.items():
        torch.testing.assert_close(out[k], v.detach(), msg=k)
    for name, p in agent.state_dict().items():
        torch.testing.assert_close(p, expected.state_dict()[name], msg=name)


@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "discrete"])
def test_the_entropy_coefficient_moves_the_right_way(discrete):
    """A policy less random than the target raises the coefficient (more reward for entropy); more random, lowers it."""
    for target, direction in [(100.0, 1), (-100.0, -1)]:
        agent, args = make_agent(discrete)
        agent.target_entropy = target
        before = agent.log_ent_coef.item()
        agent.update(make_batch(discrete), args, 0)
        assert np.sign(agent.log_ent_coef.item() - before) == direction


def test_a_fixed_entropy_coefficient_stays_and_auto_x_starts_at_x():
    agent, args = make_agent(False, ent_coef="0.2")
    agent.update(make_batch(False), args, 0)
    assert agent.log_ent_coef.exp().item() == pytest.approx(0.2) and agent.ent_optimizer is None
    agent, _ = make_agent(False, ent_coef="auto_0.1")
    assert agent.autotune and agent.log_ent_coef.exp().item() == pytest.approx(0.1)
    assert make_agent(False)[0].log_ent_coef.exp().item() == 1.0  # auto: SB3's start


def test_the_target_networks_move_only_every_target_network_frequency_steps():
    agent, args = make_agent(False, target_network_frequency=2)
    before = copy.deepcopy(agent.qf1_target.state_dict())
    agent.update(make_batch(False), args, 1)
    assert all(torch.equal(before[k], v) for k, v in agent.qf1_target.state_dict().items())
    agent.update(make_batch(False), args, 2)
    assert not all(torch.equal(before[k], v) for k, v in agent.qf1_target.state_dict().items())
