#!/usr/bin/env bash
# Every GPU measurement of issue 17 in one call, for a session lent a GPU through the device
# tool (/work/.library/device/README.md). Two halves:
#
#   scripts/gpu-check.sh build    here: the release binary, the engine bench and the GPU == CPU
#                                 test binaries, stripped, into .gpucheck/ (ignored; < 64 MiB)
#   scripts/gpu-check.sh          there (or here, on lavapipe, the same line): runs from .gpucheck/
#
# The device call, with the Vulkan loader brought as the README says (.gl holds its .debs):
#   run(carry=[".gpucheck", ".gl"], timeout_s=540, command=
#     "for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; scripts/gpu-check.sh")
# It prints, and leaves in $OUT (or .gpucheck/out here): info, the op tests, autotuning with the
# chosen kernel and the dispatch count per product, the engine bench's train and matmul
# sections, PyTorch on the same device, and the ratio table (benches/compare.py). Each step has
# its own time limit so that the whole ends inside 8 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=.gpucheck

build() {
  set -e
  grep -qxF "/$BUNDLE/" .git/info/exclude 2>/dev/null || echo "/$BUNDLE/" >>"$(git rev-parse --git-path info/exclude)"
  rm -rf "$BUNDLE" && mkdir -p "$BUNDLE"
  cargo build --release
  cp target/release/wgpu-gan "$BUNDLE/"
  local json
  json=$(cargo bench --no-run --message-format=json 2>/dev/null)
  cp "$(echo "$json" | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "engine" and m.get("executable"):
        print(m["executable"])')" "$BUNDLE/engine"
  json=$(cargo test --release --no-run --test ops --test matmul_tiled --message-format=json 2>/dev/null)
  echo "$json" | python3 -c 'import json,sys,shutil
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        shutil.copy(m["executable"], sys.argv[1] + "/test-" + m["target"]["name"])' "$BUNDLE"
  strip "$BUNDLE"/*
  du -sh "$BUNDLE"
  local bytes
  bytes=$(du -sb "$BUNDLE" | cut -f1)
  [ "$bytes" -lt $((60 * 1024 * 1024)) ] || { echo "$BUNDLE is $bytes bytes: over the 64 MiB carry" >&2; exit 1; }
}

# step NAME SECONDS CMD...: runs CMD within its limit and what is left of the whole check's
# (GPU_CHECK_SECONDS, 450 by default), its output to $work/NAME.txt, the log and the terminal.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 0 ]; then
    echo "!! $name skipped: the check's time is spent" | tee -a "$log"
    return
  fi
  echo "== $name ($(date +%T), at most ${limit}s) ==" | tee -a "$log"
  timeout "$limit" "$@" 2>&1 | tee "$work/$name.txt" | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || echo "!! $name exited $rc" | tee -a "$log"
}

check() {
  [ -x "$BUNDLE/wgpu-gan" ] || { echo "no $BUNDLE/wgpu-gan: run scripts/gpu-check.sh build first" >&2; exit 1; }
  # The device tool brings back at most 8 files from $OUT: one log, and the four bench outputs.
  out=${OUT:-$BUNDLE/out}
  work=$(mktemp -d)
  log=$out/gpu-check.log
  deadline=$((SECONDS + ${GPU_CHECK_SECONDS:-450}))
  mkdir -p "$out" && : >"$log"
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  # A fresh tuning cache: autotuning below fills it, the bench's autotuned rows then use it.
  export XDG_CACHE_HOME=${GPU_CHECK_CACHE:-/tmp/wgpu-gan-gpu-check-cache}
  rm -rf "$XDG_CACHE_HOME/wgpu-gan"
  export WGPU_GAN_REQUIRE_GPU=1 WGPU_GAN_TUNE=off
  local bin=$BUNDLE/wgpu-gan
  step info 30 "$bin" info
  for t in "$BUNDLE"/test-*; do
    step "$(basename "$t")" 90 "$t" --test-threads 4
  done
  # Time every candidate of every product (a larger budget than a training run's 2 s).
  export WGPU_GAN_TUNE_BUDGET_MS=${GPU_CHECK_TUNE_MS:-30000}
  step tune-mlp 90 "$bin" profile --device gpu --model mlp --tune full --warmup 3 --iterations 10
  step tune-dcgan 90 "$bin" profile --device gpu --model dcgan --tune full --warmup 3 --iterations 5
  step tune-table 30 "$bin" info --tune
  unset WGPU_GAN_TUNE_BUDGET_MS
  step bench 200 env WGPU_GAN_BENCH_MODELS=mlp,dcgan "$BUNDLE/engine" train matmul
  local python=${GPU_CHECK_PYTHON:-python3}
  local device=cpu
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && device=cuda
  step pytorch 120 "$python" benches/pytorch_reference.py --device "$device" --iterations 100 --batches 32,64
  cp "$work/bench.txt" "$work/pytorch.txt" "$out/" 2>/dev/null
  for section in train matmul; do
    step "ratio-$section" 30 python3 benches/compare.py --section "$section" --ours "$work/bench.txt" --theirs "$work/pytorch.txt"
  done
  # The new families last: what time is left (their CPU-path rows take seconds per iteration).
  local families=srgan,cyclegan,dvdgan
  step bench-families 90 env WGPU_GAN_BENCH_MODELS=$families "$BUNDLE/engine" train
  step pytorch-families 60 "$python" benches/pytorch_reference.py --device "$device" --no-matmul --models $families --family-seconds 3
  cp "$work/bench-families.txt" "$work/pytorch-families.txt" "$out/" 2>/dev/null
  step ratio-families 30 python3 benches/compare.py --section train --models $families --ours "$work/bench-families.txt" --theirs "$work/pytorch-families.txt"
  echo "== done $(date +%T) after ${SECONDS}s; log in $log ==" | tee -a "$log"
}

case "${1:-check}" in
  build) build ;;
  check) check ;;
  *) echo "usage: scripts/gpu-check.sh [build|check]" >&2; exit 2 ;;
esac
