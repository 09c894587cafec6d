"""Dumps what TensorBoard's own reader (EventAccumulator) finds in a log folder, as JSON.

Usage: python read-tensorboard.py LOGDIR  ->  {run: {"scalars": {tag: [[step, value], ...]},
"histograms": {tag: [[step, min, max, num, sum, bucket_count_total], ...]}, "text": {tag: [[step, text], ...]}}}
Used by the @tensorloop/loggers tests; needs only the `tensorboard` package.
"""
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.util import tensor_util

KEEP_ALL = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0, ea.COMPRESSED_HISTOGRAMS: 0}


def read_run(path):
    acc = ea.EventAccumulator(path, size_guidance=KEEP_ALL)
    acc.Reload()
    tags = acc.Tags()
    out = {"scalars": {}, "histograms": {}, "text": {}}
    for tag in tags["scalars"]:
        out["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
    for tag in tags["histograms"]:
        out["histograms"][tag] = [
            [e.step, e.histogram_value.min, e.histogram_value.max, e.histogram_value.num,
             e.histogram_value.sum, sum(e.histogram_value.bucket)]
            for e in acc.Histograms(tag)
        ]
    for tag in tags["tensors"]:
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        kind = "text" if plugin == "text" else "other_tensors"
        out.setdefault(kind, {})[tag] = [
            [e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode("utf-8") if kind == "text" else plugin]
            for e in acc.Tensors(tag)
        ]
    # Everything else the reader knows about (images, audio, graphs...): we write none of it.
    # (distributions are derived from the histograms.)
    out["other_tags"] = {k: v for k, v in tags.items() if k not in ("scalars", "histograms", "distributions", "tensors") and v}
    return out


def main():
    logdir = sys.argv[1]
    runs = sorted(d for d in os.listdir(logdir) if os.path.isdir(os.path.join(logdir, d)))
    json.dump({run: read_run(os.path.join(logdir, run)) for run in runs}, sys.stdout)


if __name__ == "__main__":
    main()
