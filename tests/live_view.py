"""Reading a run's live view back, as TensorBoard and W&B would: its event files (with tensorboard's own reader) and
its offline W&B run files (the records W&B syncs), to compare with metrics.csv."""

import collections
import json
from pathlib import Path

import vlmrm_sac as vs


def read_events(run: Path) -> tuple[dict, list]:
    """({tag: [(step, value), ...]} of every scalar, [step, ...] of the video frames) in the run's event files, as
    TensorBoard's reader of new-style summaries loads them (it hides what a resumed run's purge_step purges)."""
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(run), size_guidance={"tensors": 0})
    events.Reload()
    plugin = {tag: events.SummaryMetadata(tag).plugin_data.plugin_name for tag in events.Tags()["tensors"]}
    scalars = {tag: [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in events.Tensors(tag)]
               for tag, name in plugin.items() if name == "scalars"}
    return scalars, [e.step for e in events.Tensors("videos/last_frame")] if "videos/last_frame" in plugin else []


def tracked(rows: list[dict]) -> list[dict]:
    """metrics.csv's rows as the live view gets them: {name: value, "global_step": step}, rows without values left out."""
    out = []
    for row in rows:
        values = {vs.live_name(k): float(v) for k, v in row.items() if vs.live_name(k) and v != ""}
        if values:
            out.append({**values, "global_step": int(row["global_step"])})
    return out


def loss_row_steps(rows: list[dict]) -> set:
    """The steps of metrics.csv's rows with losses: the live loss points fall between them, never on them."""
    return {row["global_step"] for row in tracked(rows) if any(k.startswith("losses/") for k in row)}


def is_live_loss_point(row: dict, rows: list[dict]) -> bool:
    return all(k.startswith("losses/") for k in row if k != "global_step") and row["global_step"] not in loss_row_steps(rows)


def assert_events_match(run: Path, rows: list[dict]):
    """Every metrics.csv row's values are in the event files at its step, once; the live loss points between rows are
    at other steps, each once."""
    scalars, _ = read_events(run)
    got = collections.Counter((tag, step, value) for tag, points in scalars.items() for step, value in points)
    want = collections.Counter((name, row["global_step"], value) for row in tracked(rows) for name, value in row.items()
                               if name != "global_step")
    in_rows = {(name, step) for name, step, _ in want}
    assert collections.Counter({k: n for k, n in got.items() if k[:2] in in_rows}) == want
    live = collections.Counter(k[:2] for k in got.elements() if k[:2] not in in_rows)
    assert all(tag.startswith("losses/") for tag, _ in live) and set(live.values()) <= {1}, live
    assert not {step for _, step in live} & loss_row_steps(rows)


def wandb_records(path: Path):
    """The records of a .wandb file (a LevelDB log: 32 KiB blocks of chunks with a 7-byte header)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a whole record, or its last chunk
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def read_wandb(run: Path) -> list[dict]:
    """Each offline W&B run of the run directory, in order: {"id", "config", "history": [row, ...]}."""
    sessions = []
    for folder in sorted((run / "wandb").glob("offline-run-*")):
        session = {"config": {}, "history": []}
        for record in wandb_records(next(folder.glob("*.wandb"))):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                session["id"] = record.run.run_id
                session["config"].update({item.key: json.loads(item.value_json) for item in record.run.config.update
                                          if item.key != "_wandb"})
            elif kind == "config":
                session["config"].update({item.key: json.loads(item.value_json) for item in record.config.update
                                          if item.key != "_wandb"})
            elif kind == "history":
                row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
                session["history"].append({k: v for k, v in row.items() if not k.startswith("_")})
        sessions.append(session)
    return sessions
