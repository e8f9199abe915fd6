// The per-channel reductions of batch_norm.wgsl and batch_norm_act.wgsl: kernels::SHADERS
// appends this part to both. One workgroup of 256 per channel; invocation t adds the channel's
// values t, t + 256, ... (in (b, s) order) into its own partial sum, then the 256 partial sums
// are added in a fixed tree of halving strides: deterministic, no atomics. Each invocation so
// runs only a 256th of the loop iterations: lavapipe's llvmpipe silently ends all loops of one
// invocation after 65,535 iterations in total, which a single invocation summing a channel of
// more than ~21,800 (forward) or ~32,700 (backward) values used to pass. (A channel now needs
// about 5.6M values in the forward, 8.4M in the backward, to reach that limit again.)

const BN_WG: u32 = 256u;
var<workgroup> bn_part: array<f32, 256>;

// The workgroup's sum of v, added in a fixed tree; every invocation receives it. Call in
// workgroup-uniform control flow.
fn bn_reduce(lid: u32, v: f32) -> f32 {
    bn_part[lid] = v;
    workgroupBarrier();
    for (var s = BN_WG / 2u; s > 0u; s = s / 2u) {
        if lid < s { bn_part[lid] = bn_part[lid] + bn_part[lid + s]; }
        workgroupBarrier();
    }
    let total = bn_part[0];
    workgroupBarrier();
    return total;
}

// The index in x of the channel's k-th value (k < n·hw, walked b-major): (b, ch, s) of (N, C, HW).
fn bn_at(c: u32, hw: u32, ch: u32, k: u32) -> u32 {
    return ((k / hw) * c + ch) * hw + k % hw;
}
