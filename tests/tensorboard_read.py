"""Reads a run's tb/ folder with TensorBoard's own reader and prints what it holds as JSON:
{"scalars": {tag: [[step, value]]}, "images": {tag: [[step, width, height]]},
 "text": {tag: [[step, plugin, text]]}}. Used by tests/tensorboard.rs."""

import json
import math
import sys

from tensorboard.backend.event_processing import event_accumulator as ea

acc = ea.EventAccumulator(
    sys.argv[1], size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0}
)
acc.Reload()
tags = acc.Tags()


def number(v):
    return v if math.isfinite(v) else str(v)


out = {
    "scalars": {
        t: [[e.step, number(e.value)] for e in acc.Scalars(t)] for t in tags["scalars"]
    },
    "images": {
        t: [[e.step, e.width, e.height] for e in acc.Images(t)] for t in tags["images"]
    },
    "text": {
        t: [
            [
                e.step,
                acc.SummaryMetadata(t).plugin_data.plugin_name,
                e.tensor_proto.string_val[0].decode(),
            ]
            for e in acc.Tensors(t)
        ]
        for t in tags["tensors"]
    },
}
print(json.dumps(out))
