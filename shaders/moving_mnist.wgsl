// Moving MNIST (Srivastava et al. 2015) made on the device: clips (B, T, 1, S, S) row-major f32 in
// [-1, 1] (row b·T + t is clip b, frame t), from square single-channel digit images (count, side,
// side) packed as bytes, little-endian, four to a u32 word (random.wgsl's layout).
//   moving_mnist  counters(1) dataset(3) labels(4) -> clips(2) clip_labels(5)
// Each of a clip's `digits` digits is image r.x % count, box-averaged down to digit_size² (each
// cell the rounded mean of its source bytes); it starts at a uniform position over the canvas
// and moves `speed` px per frame in a uniform direction; at an edge its position is clamped and
// that velocity component flipped. Digits overlap by max; pixels scale as (v - 127.5) / 127.5.
// clip_labels (B, digits) receive each digit's class as f32.
// Randomness: one Philox draw per (clip, digit), counter (b·digits + d, counters[slot], stream,
// lane 3), so a clip is a pure function of (seed, iteration, index). Positions are fixed point,
// 1/256 px, in integers: only the velocity's rounding, floor(256·speed·cos θ + 0.5), touches
// floats, so the CPU twin follows the same path. One invocation per output pixel.

struct Params {
    clips: u32, frames: u32, size: u32, digits: u32,
    digit_size: u32, count: u32, side: u32, slot: u32,
    seed_lo: u32, seed_hi: u32, stream: u32, speed: f32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read_write> clips: array<f32>;
@group(0) @binding(3) var<storage, read> dataset: array<u32>;
@group(0) @binding(4) var<storage, read> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> clip_labels: array<f32>;

// philox() is appended from philox.wgsl.

fn byte(words: u32, k: u32) -> u32 {
    return (words >> (8u * (k & 3u))) & 0xffu;
}

// Source rows (or columns) [lo, hi) of digit cell c: at least one.
fn cell(c: u32) -> vec2<u32> {
    let lo = c * p.side / p.digit_size;
    let hi = max((c + 1u) * p.side / p.digit_size, lo + 1u);
    return vec2<u32>(lo, hi);
}

// The rounded mean of the source bytes under digit cell (cy, cx) of image `sample`.
fn digit_pixel(sample: u32, cy: u32, cx: u32) -> u32 {
    let rows = cell(cy);
    let cols = cell(cx);
    var sum = 0u;
    for (var y = rows.x; y < rows.y; y++) {
        for (var x = cols.x; x < cols.y; x++) {
            let k = (sample * p.side + y) * p.side + x;
            sum += byte(dataset[k / 4u], k);
        }
    }
    let n = (rows.y - rows.x) * (cols.y - cols.x);
    return (sum + n / 2u) / n;
}

// Position (1/256 px) after `steps` frames from `start` with velocity `vel`, bouncing in [0, span].
fn travel(start: i32, vel: i32, span: i32, steps: u32) -> i32 {
    var pos = start;
    var v = vel;
    for (var s = 0u; s < steps; s++) {
        pos += v;
        if pos < 0 {
            pos = 0;
            v = -v;
        } else if pos > span {
            pos = span;
            v = -v;
        }
    }
    return pos;
}

@compute @workgroup_size(64)
fn moving_mnist(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    let plane = p.size * p.size;
    if i >= p.clips * p.frames * plane { return; }
    let x = i % p.size;
    let y = (i / p.size) % p.size;
    let t = (i / plane) % p.frames;
    let b = i / (plane * p.frames);
    let span = i32((p.size - p.digit_size) * 256u);
    var v = 0u;
    for (var d = 0u; d < p.digits; d++) {
        let r = philox(vec4<u32>(b * p.digits + d, counters[p.slot], p.stream, 3u), vec2<u32>(p.seed_lo, p.seed_hi));
        let sample = r.x % p.count;
        let theta = 6.2831855 * f32(r.w >> 8u) * 5.9604645e-8;
        let vx = i32(floor(256.0 * p.speed * cos(theta) + 0.5));
        let vy = i32(floor(256.0 * p.speed * sin(theta) + 0.5));
        let px = travel(i32(r.y % u32(span + 1)), vx, span, t);
        let py = travel(i32(r.z % u32(span + 1)), vy, span, t);
        let cx = i32(x) - (px + 128) / 256;
        let cy = i32(y) - (py + 128) / 256;
        if cx >= 0 && cy >= 0 && cx < i32(p.digit_size) && cy < i32(p.digit_size) {
            v = max(v, digit_pixel(sample, u32(cy), u32(cx)));
        }
        if i - b * plane * p.frames == 0u {
            clip_labels[b * p.digits + d] = f32(byte(labels[sample / 4u], sample));
        }
    }
    clips[i] = (f32(v) - 127.5) / 127.5;
}
