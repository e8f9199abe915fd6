#!/usr/bin/env bash
# The big-folder acceptance run (issue 18): dcgan64 on 50,000 synthetic 64x64 RGB PNGs, whose
# 586 MiB of bytes stream through the ring (over the 128 MiB budget). Reports the folder's load
# time cold and cached, trains a few iterations on the CPU path and on the wgpu adapter
# (lavapipe here), and checks that a 2,000-image subset gives the same losses streamed (budget
# forced down) as resident. Not part of `cargo test`: it takes minutes and ~1 GB of disk.
#
# usage: scripts/dcgan64_50k.sh [WORK_DIR]   (default /tmp/wgpu-gan-50k; images are kept there)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/wgpu-gan-50k}"
bin="${CARGO_TARGET_DIR:-target}/release/wgpu-gan"
cargo build --release -q
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export WGPU_GAN_CACHE_DIR="$work/cache"
images="$work/images"
if [ ! -d "$images" ]; then
  echo "== writing 50,000 PNGs to $images =="
  python3 scripts/synthetic_png_folder.py "$images" 50000
fi
flags=(--model dcgan64 --channels 3 --log-every 1 --sample-every 1000 --checkpoint-every 1000 --tensorboard false)
train() { # device steps out [extra...]
  local device=$1 steps=$2 out=$3; shift 3
  rm -rf "$out"
  /usr/bin/time -f "peak RSS %M KiB, wall %e s" "$bin" train "${flags[@]}" --device "$device" \
    --steps "$steps" --out "$out" "$@" 2>&1 | grep -E "decoded|cached|loaded|dataset:|^step|peak RSS|error"
}
echo "== cold: cache cleared, CPU path, 2 iterations =="
rm -rf "$WGPU_GAN_CACHE_DIR"
train cpu 2 "$work/run-cpu" --data-folder "$images"
echo "== cached: CPU path, 2 iterations =="
train cpu 2 "$work/run-cpu" --data-folder "$images"
echo "== cached: --device gpu, 2 iterations =="
train gpu 2 "$work/run-gpu" --data-folder "$images"

echo "== 2,000-image subset: resident against streamed (budget forced to 1 MB) =="
subset="$work/subset"
rm -rf "$subset" && mkdir -p "$subset"
ln -s "$images/000" "$images/001" "$subset/"
for device in cpu gpu; do
  steps=$([ "$device" = cpu ] && echo 3 || echo 1)
  train "$device" "$steps" "$work/sub-resident" --data-folder "$subset"
  WGPU_GAN_STREAM_BUDGET=1000000 train "$device" "$steps" "$work/sub-streamed" --data-folder "$subset"
  if cmp -s <(cut -d, -f1-5 "$work/sub-resident/losses.csv") <(cut -d, -f1-5 "$work/sub-streamed/losses.csv"); then
    echo "$device: streamed losses.csv equals resident ($steps iterations)"
  else
    echo "$device: streamed losses.csv DIFFERS from resident" && exit 1
  fi
done
