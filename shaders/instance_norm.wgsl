// Instance normalisation over x laid out (planes, HW) row-major: planes = N·C of an NCHW tensor,
// each normalised over its own H·W values with the biased variance; no affine parameters and
// no running statistics.
//   instance_norm_forward   x(1) -> y(2)          torch: F.instance_norm(x, eps=eps)
//                                                 (nn.InstanceNorm2d(C), affine=False)
//   instance_norm_backward  x(1) dy(2) -> dx(3)   dx = invstd / HW · (HW·dy - Σdy - x̂·Σ(dy·x̂))
// Strategy: one workgroup of 256 per plane (the grid split over y past 65,535 planes).
// Invocation t sums the values t, t + 256, ... in order, then the 256 partial sums are added in
// a fixed tree (halving strides): deterministic, no atomics, and each invocation runs few loop
// iterations (lavapipe's llvmpipe silently ends an invocation's loops after 65,535 iterations in
// all, so a plain loop over a large plane would be cut short). The backward recomputes the
// plane's statistics from x the same way instead of keeping them: no saved-statistics buffer.
// The `_serial` variants (src/gpu/variants.rs: CPU adapters, planes of at most 16,383 values)
// run one invocation per plane in order, with no barrier, which lavapipe makes very slow (the
// tree's barriers were 58% of a CycleGAN iteration there); the backward loops over the plane
// four times, under the 65,535 iterations after which lavapipe ends an invocation's loops.
// Assumes lengths match the params (checked on the host by ops::instance_norm).

struct Params { planes: u32, hw: u32, eps: f32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const WG: u32 = 256u;
var<workgroup> part: array<f32, 256>;

// The workgroup's sum of v, added in a fixed tree; every invocation receives it.
fn reduce(lid: u32, v: f32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if lid < s { part[lid] = part[lid] + part[lid + s]; }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier();
    return total;
}

// (mean, 1 / sqrt(var + eps)) of the plane starting at `row`.
fn stats(lid: u32, row: u32) -> vec2<f32> {
    let count = f32(p.hw);
    var sum = 0.0;
    for (var s = lid; s < p.hw; s += WG) { sum += x[row + s]; }
    let mean = reduce(lid, sum) / count;
    var sq = 0.0;
    for (var s = lid; s < p.hw; s += WG) { let d = x[row + s] - mean; sq += d * d; }
    return vec2<f32>(mean, 1.0 / sqrt(reduce(lid, sq) / count + p.eps));
}

// b2 is y.
@compute @workgroup_size(256)
fn instance_norm_forward(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let plane = wg.x + wg.y * g.x;
    if plane >= p.planes { return; }
    let row = plane * p.hw;
    let st = stats(l.x, row);
    for (var s = l.x; s < p.hw; s += WG) {
        b2[row + s] = (x[row + s] - st.x) * st.y;
    }
}

// b2 is dy.
@compute @workgroup_size(256)
fn instance_norm_backward(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let plane = wg.x + wg.y * g.x;
    if plane >= p.planes { return; }
    let row = plane * p.hw;
    let st = stats(l.x, row);
    let count = f32(p.hw);
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var s = l.x; s < p.hw; s += WG) {
        let dy = b2[row + s];
        sum_dy += dy;
        sum_dy_xhat += dy * (x[row + s] - st.x) * st.y;
    }
    let total_dy = reduce(l.x, sum_dy);
    let total_dy_xhat = reduce(l.x, sum_dy_xhat);
    let k = st.y / count;
    for (var s = l.x; s < p.hw; s += WG) {
        let xhat = (x[row + s] - st.x) * st.y;
        dx[row + s] = k * (count * b2[row + s] - total_dy - xhat * total_dy_xhat);
    }
}

// (mean, 1 / sqrt(var + eps)) of the plane starting at `row`, summed in order.
fn serial_stats(row: u32) -> vec2<f32> {
    let count = f32(p.hw);
    var sum = 0.0;
    for (var s = 0u; s < p.hw; s++) { sum += x[row + s]; }
    let mean = sum / count;
    var sq = 0.0;
    for (var s = 0u; s < p.hw; s++) { let d = x[row + s] - mean; sq += d * d; }
    return vec2<f32>(mean, 1.0 / sqrt(sq / count + p.eps));
}

@compute @workgroup_size(64)
fn instance_norm_forward_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let plane = gid.x + gid.y * g.x * 64u;
    if plane >= p.planes { return; }
    let row = plane * p.hw;
    let st = serial_stats(row);
    for (var s = 0u; s < p.hw; s++) {
        b2[row + s] = (x[row + s] - st.x) * st.y;
    }
}

@compute @workgroup_size(64)
fn instance_norm_backward_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let plane = gid.x + gid.y * g.x * 64u;
    if plane >= p.planes { return; }
    let row = plane * p.hw;
    let st = serial_stats(row);
    let count = f32(p.hw);
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var s = 0u; s < p.hw; s++) {
        let dy = b2[row + s];
        sum_dy += dy;
        sum_dy_xhat += dy * (x[row + s] - st.x) * st.y;
    }
    let k = st.y / count;
    for (var s = 0u; s < p.hw; s++) {
        let xhat = (x[row + s] - st.x) * st.y;
        dx[row + s] = k * (count * b2[row + s] - sum_dy - xhat * sum_dy_xhat);
    }
}
