#!/usr/bin/env python3
"""wgpu-gan against PyTorch on this machine: both benchmarks in alternation, best of N rounds.

Runs `cargo bench --bench engine -- <section>` and `benches/pytorch_reference.py` one after the
other, --rounds times, and prints per product (or per recipe) the best figure each reached and
their ratio. Alternating and keeping each side's best is what makes a ratio from a shared or
throttled machine mean something: a slow spell hits one run, not every round of both.

    python3 benches/compare.py                       # matmul GFLOP/s, 3 rounds
    python3 benches/compare.py --section train       # iterations/s of mlp and dcgan
    python3 benches/compare.py --python /tmp/torchenv/bin/python --rounds 5
    python3 benches/compare.py --section train --cpu-only   # the CPU path alone, no lavapipe rows
    python3 benches/compare.py --section train --cpu-only --batches 32,64
    python3 benches/compare.py --section train --cpu-only --models srgan,cyclegan,dvdgan --rounds 2
    python3 benches/compare.py --section train --cpu-only --models cgan,acgan,infogan,wgan-gp --batches 32,64
    python3 benches/compare.py --section train --ours bench.txt --theirs torch.txt   # saved outputs

With --ours and --theirs (the saved output of the engine bench and of pytorch_reference.py, as
scripts/gpu-check.sh writes them on a machine without cargo), nothing is run: one round.

The matmul table marks the products under the lavapipe target (25% of PyTorch CPU's GFLOP/s).
Needs PyTorch importable by --python; exits with a message (status 1) when it is not.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.25
# `cargo bench` matmul rows: [op] m n k kernel * GFLOP/s us [cpu]; the chosen kernel has the *.
MATMUL_ROW = re.compile(r"^(matmul\w*)?\s+(\d+)\s+(\d+)\s+(\d+)\s+(\w+)\s+(\*\s+)?([\d.]+)")
# The recipes both sides time (wgan-gp's name has a hyphen).
MODELS = r"(mlp|dcgan|cgan|acgan|infogan|wgan-gp|srgan|cyclegan|dvdgan)"
TRAIN_ROW = re.compile(r"^" + MODELS + r"\s+(\d+)\s+(adapter, [\w ]+?|CPU path)\s+([\d.]+)\s")
TORCH_MATMUL = re.compile(r"^pytorch (matmul\w*)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)")
TORCH_TRAIN = re.compile(r"^pytorch " + MODELS + r"\s+batch\s+(\d+):\s+([\d.]+) it/s")


def run(cmd, env=None):
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def ours(section, cpu_only, models, text=None):
    rows, op, kernels = {}, None, {}
    if text is None:
        env = dict(os.environ, WGPU_GAN_BENCH_MODELS=models)
        if cpu_only:
            env["WGPU_GAN_BENCH_CPU_ONLY"] = "1"
        text = run(["cargo", "bench", "-q", "--bench", "engine", "--", section], env)
    for line in text.splitlines():
        if section == "matmul" and (m := MATMUL_ROW.match(line)):
            op = m[1] or op
            key = (op, int(m[2]), int(m[3]), int(m[4]))
            if m[6]:
                rows[key], kernels[key] = float(m[7]), m[5]
        elif section == "train" and (m := TRAIN_ROW.match(line)):
            rows[(m[1], int(m[2]), m[3])] = float(m[4])
    return rows, kernels


def theirs(section, python, batches, models, text=None):
    args = ["--models", ""] if section == "matmul" else ["--no-matmul", "--batches", batches, "--models", models]
    rows = {}
    if text is None:
        text = run([python, "benches/pytorch_reference.py", *args])
    for line in text.splitlines():
        if section == "matmul" and (m := TORCH_MATMUL.match(line)):
            rows[(m[1], int(m[2]), int(m[3]), int(m[4]))] = float(m[5])
        elif section == "train" and (m := TORCH_TRAIN.match(line)):
            rows[(m[1], int(m[2]))] = float(m[3])
    return rows


def best(runs):
    out = {}
    for rows in runs:
        for key, value in rows.items():
            out[key] = max(value, out.get(key, 0.0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--section", choices=["matmul", "train"], default="matmul")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--python", default=sys.executable, help="a Python that can import torch")
    ap.add_argument("--cpu-only", action="store_true", help="time the CPU path only, not the adapter")
    ap.add_argument("--batches", default="32,64,256", help="train: the batch sizes PyTorch runs (and the table shows)")
    ap.add_argument("--models", default="mlp,dcgan",
                    help="train: the recipes both sides time (also cgan, acgan, infogan, wgan-gp, each at "
                         "its recipe's batch: 32, wgan-gp 64; srgan, cyclegan, dvdgan: slow)")
    ap.add_argument("--ours", help="saved output of the engine bench (then nothing is run)")
    ap.add_argument("--theirs", help="saved output of benches/pytorch_reference.py")
    a = ap.parse_args()
    if a.ours and a.theirs:
        a.rounds = 1
        rows, kernels = ours(a.section, a.cpu_only, a.models, Path(a.ours).read_text())
        saved = theirs(a.section, a.python, a.batches, a.models, Path(a.theirs).read_text())
        report(a, [rows], [saved], kernels)
        return
    if subprocess.run([a.python, "-c", "import torch"], capture_output=True).returncode != 0:
        sys.exit(f"{a.python} cannot import torch; pass --python with one that can")
    mine, torch_runs, kernels = [], [], {}
    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}", file=sys.stderr)
        rows, kernels = ours(a.section, a.cpu_only, a.models)
        mine.append(rows)
        torch_runs.append(theirs(a.section, a.python, a.batches, a.models))
    report(a, mine, torch_runs, kernels)


def report(a, mine, torch_runs, kernels):
    ours_best, torch_best = best(mine), best(torch_runs)
    if not ours_best or not torch_best:
        side = "cargo bench" if not ours_best else "pytorch_reference.py"
        sys.exit(f"no {a.section} figures parsed from {side}'s output (no adapter, or its format changed)")
    print(f"best of {a.rounds} alternating rounds")
    if a.section == "matmul":
        print(f"{'op':<10} {'m':>5} {'n':>5} {'k':>5}  {'kernel':<20} {'wgpu-gan':>9} {'PyTorch':>8}  ratio")
        for key, value in ours_best.items():
            if key not in torch_best:
                continue
            ratio = value / torch_best[key]
            flag = "" if ratio >= TARGET else "  < 25%"
            print(f"{key[0]:<10} {key[1]:>5} {key[2]:>5} {key[3]:>5}  {kernels[key]:<20} "
                  f"{value:9.2f} {torch_best[key]:8.2f}  {ratio:5.0%}{flag}")
    else:
        print(f"{'model':<8} {'batch':>5}  {'executor':<28} {'it/s':>8} {'PyTorch':>8}  ratio")
        for (model, batch, executor), value in ours_best.items():
            theirs_its = torch_best.get((model, batch))
            if theirs_its:
                print(f"{model:<8} {batch:>5}  {executor:<28} {value:8.3g} {theirs_its:8.3g}  "
                      f"{value / theirs_its:5.2f}")


if __name__ == "__main__":
    main()
