// Counter-based randomness (Philox4x32-10) and the on-GPU batch gather. Every value is a pure
// function of (seed, counters[slot], stream, element), so runs are reproducible and a resumed run
// continues the same streams; counters[slot] is the iteration counter the program increments.
//   normal_fill   counters(1) -> out(2)   out[i] = mean + std * N(0, 1)    (Box-Muller)
//   uniform_fill  counters(1) -> out(2)   out[i] = lo + (hi - lo) * U[0, 1)
//   uniform_labels counters(1) -> out(2)  out[i] = a class drawn uniformly from [0, count), as f32
//   gather_batch  counters(1) dataset(3) labels(4) -> x(2) y(5)
//     picks `batch` samples uniformly with replacement (numpy randint, as the seed does) and
//     scales pixels to [-1, 1] as (v - 127.5) / 127.5; dataset and labels are bytes packed
//     little-endian into u32 words; y receives the label as f32.
// One invocation per output element.

struct Params { n: u32, seed_lo: u32, seed_hi: u32, stream: u32, slot: u32, a: f32, b: f32, count: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dataset: array<u32>;
@group(0) @binding(4) var<storage, read> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> out_labels: array<f32>;

// philox() is appended from philox.wgsl.

fn draw(i: u32, lane: u32) -> vec4<u32> {
    return philox(vec4<u32>(i, counters[p.slot], p.stream, lane), vec2<u32>(p.seed_lo, p.seed_hi));
}

fn unit(bits: u32) -> f32 {
    return f32(bits >> 8u) * 5.9604645e-8; // 2^-24
}

fn linear_index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

@compute @workgroup_size(64)
fn normal_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n { return; }
    let r = draw(i, 0u);
    let u1 = f32((r.x >> 8u) + 1u) * 5.9604645e-8; // (0, 1]: log never sees 0
    let u2 = unit(r.y);
    out[i] = p.a + p.b * sqrt(-2.0 * log(u1)) * cos(6.2831855 * u2);
}

@compute @workgroup_size(64)
fn uniform_fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n { return; }
    out[i] = p.a + (p.b - p.a) * unit(draw(i, 0u).x);
}

// Class labels for conditioned fakes (cgan); lane 2 keeps them apart from the other draws.
@compute @workgroup_size(64)
fn uniform_labels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n { return; }
    out[i] = f32(draw(i, 2u).x % p.count);
}

fn byte_at(words_index: u32, packed: u32) -> u32 {
    return (packed >> (8u * (words_index & 3u))) & 0xffu;
}

// Here n = batch * image_len, a = image_len (as f32 bits are not needed: count and image_len
// are integers), b unused; count = dataset size.
@compute @workgroup_size(64)
fn gather_batch(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n { return; }
    let image_len = bitcast<u32>(p.a);
    let row = i / image_len;
    let col = i % image_len;
    let sample = draw(row, 1u).x % p.count;
    let k = sample * image_len + col;
    out[i] = (f32(byte_at(k, dataset[k / 4u])) - 127.5) / 127.5;
    if col == 0u {
        out_labels[row] = f32(byte_at(sample, labels[sample / 4u]));
    }
}
