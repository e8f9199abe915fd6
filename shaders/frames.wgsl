// Picking frames of clips (DVD-GAN's spatial discriminator sees K frames of each clip), row-major
// f32: x (B, T, F) holds B clips of T frames of F values (F = C·H·W), indices (B, K) holds frame
// numbers as f32 (cast to integers; each in [0, T)), y (B, K, F), clip-major: row b·K + k.
//   gather_frames           x(1) indices(2) -> y(3)    y[b, k] = x[b, indices[b, k]]
//   gather_frames_backward  dy(1) indices(2) -> dx(3)  dx[b, t] = Σ_k [indices[b, k] = t] dy[b, k]
//                                                      (k ascending; 0 for frames not picked)
//   random_frames           counters(4) -> indices(3)  K distinct frames of each clip, in the order
//                                                      drawn: a partial Fisher-Yates shuffle of
//                                                      0..T, draw k = Philox (b·K + k, counters[slot],
//                                                      stream, lane 4).x, picking k + draw % (T - k)
//                                                      (one invocation per clip; T <= 64)
// The backward is a gather over k, not a scatter, so it needs no float atomics. One invocation
// per output element, 64 to a workgroup, the grid split over y past 65,535 groups. Assumes
// lengths match the params and indices are in range (checked on the host by ops::frames).

struct Params {
    clips: u32, frames: u32, picked: u32, frame_len: u32,
    seed_lo: u32, seed_hi: u32, stream: u32, slot: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> counters: array<u32>;

// philox() is appended from philox.wgsl.

@compute @workgroup_size(64)
fn gather_frames(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.clips * p.picked * p.frame_len { return; }
    let row = i / p.frame_len;
    let b = row / p.picked;
    let t = u32(indices[row]);
    dst[i] = src[(b * p.frames + t) * p.frame_len + i - row * p.frame_len];
}

@compute @workgroup_size(64)
fn gather_frames_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.clips * p.frames * p.frame_len { return; }
    let row = i / p.frame_len;
    let col = i - row * p.frame_len;
    let b = row / p.frames;
    let t = row - b * p.frames;
    var acc = 0.0;
    for (var k = 0u; k < p.picked; k++) {
        if u32(indices[b * p.picked + k]) == t {
            acc += src[(b * p.picked + k) * p.frame_len + col];
        }
    }
    dst[i] = acc;
}

@compute @workgroup_size(64)
fn random_frames(@builtin(global_invocation_id) gid: vec3<u32>) {
    let b = gid.x;
    if b >= p.clips { return; }
    var order: array<u32, 64>;
    for (var t = 0u; t < p.frames; t++) {
        order[t] = t;
    }
    for (var k = 0u; k < p.picked; k++) {
        let r = philox(vec4<u32>(b * p.picked + k, counters[p.slot], p.stream, 4u), vec2<u32>(p.seed_lo, p.seed_hi));
        let j = k + r.x % (p.frames - k);
        let picked = order[j];
        order[j] = order[k];
        order[k] = picked;
        dst[b * p.picked + k] = f32(picked);
    }
}
