#!/usr/bin/env python3
"""Checks eapo's TensorBoard event files with TensorBoard's own reader, and writes the golden file the Java tests
compare against byte for byte.

  check-tensorboard.py RUN_DIR...      every number of each run's metrics.jsonl must be a scalar of its step in
                                       RUN_DIR/tb (read by TensorBoard's EventAccumulator, which checks the record
                                       CRCs), once per step even after a resume; exit 1 otherwise
  check-tensorboard.py --golden FILE   writes events made by TensorBoard's protobuf classes and record writer

Needs the tensorboard package (pip install tensorboard); eapo's own build cannot install it.
"""
import json
import math
import pathlib
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

SECTIONS = ("train", "eapo", "perf", "eval")


def golden(path):
    """The events TensorBoardEventsTest rebuilds: a file version, a session start, a step of two scalars."""
    with open(path, "wb") as f:
        writer = RecordWriter(f)
        writer.write(event_pb2.Event(wall_time=1700000000.25, file_version="brain.Event:2").SerializeToString())
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        writer.write(event_pb2.Event(wall_time=1700000000.5, step=7, session_log=start).SerializeToString())
        values = [summary_pb2.Summary.Value(tag="train/loss", simple_value=0.25),
                  summary_pb2.Summary.Value(tag="eapo/alpha", simple_value=0.495)]
        writer.write(event_pb2.Event(wall_time=1700000001.75, step=7,
                                     summary=summary_pb2.Summary(value=values)).SerializeToString())
    print(f"wrote {path}")


def check(run_dir):
    run_dir = pathlib.Path(run_dir)
    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    problems, checked = [], 0
    series = {t: acc.Scalars(t) for t in tags}
    for tag, points in series.items():
        steps = [p.step for p in points]
        if len(steps) != len(set(steps)):
            problems.append(f"{tag}: a step appears twice: {steps}")
    for line in lines:
        for key, value in line.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            found = [t for t in tags if t.split("/", 1)[0] in SECTIONS and t.split("/", 1)[1] == key]
            if len(found) != 1:
                problems.append(f"step {line['step']}: {key} is under {len(found)} tags")
                continue
            points = [p for p in series[found[0]] if p.step == line["step"]]
            if len(points) != 1 or not math.isclose(points[0].value, value, rel_tol=1e-6, abs_tol=1e-30):
                problems.append(f"step {line['step']}: {found[0]} = {[p.value for p in points]}, metrics {value}")
            checked += 1
    print(json.dumps({"run": str(run_dir), "tags": len(tags), "steps": len(lines), "values_checked": checked,
                      "problems": problems[:20]}))
    return not problems


def main(args):
    if args[:1] == ["--golden"]:
        golden(args[1])
        return 0
    return 0 if all([check(d) for d in args]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
