// batch_norm_backward (batch_norm.wgsl) with the derivative of the activation before the batch
// norm fused in: the same bindings 1..6 and arithmetic, then for every element it writes
//   dx2 (7) = act'(saved2 (8)) * dx     (activation.wgsl's backward formulas)
// where saved2 is x for leaky_relu/relu and y for tanh/sigmoid: one dispatch instead of two
// (gpu::plan fuses a batch_norm_backward followed by an activation backward of its dx).
// Layout (N, C, HW) and strategy as in batch_norm.wgsl: one workgroup of 256 per channel,
// reducing with channel_sum.wgsl's fixed tree; the `_serial` variant is batch_norm.wgsl's serial
// backward (one invocation per channel, for CPU adapters and short channels) with the same
// epilogue.
// Params: batch_norm's, then leaky_relu's slope and the activation code (1 leaky_relu, 2 relu,
// 3 tanh, 4 sigmoid).

struct Params { n: u32, c: u32, hw: u32, flags: u32, eps: f32, momentum: f32, slope: f32, act: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma_beta: array<f32>;
@group(0) @binding(4) var<storage, read> saved: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_gamma_beta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx2: array<f32>;
@group(0) @binding(8) var<storage, read> saved2: array<f32>;

const ACCUMULATE: u32 = 2u;

fn act_backward(s: f32, d: f32) -> f32 {
    switch p.act {
        case 1u: { return select(p.slope, 1.0, s > 0.0) * d; }
        case 2u: { return select(0.0, d, s > 0.0); }
        case 3u: { return (1.0 - s * s) * d; }
        default: { return s * (1.0 - s) * d; }
    }
}

@compute @workgroup_size(256)
fn batch_norm_backward_act(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = wg.x + wg.y * g.x;
    if ch >= p.c { return; }
    let len = p.n * p.hw;
    let count = f32(len);
    let mean = saved[ch];
    let invstd = saved[p.c + ch];
    var part_dy = 0.0;
    var part_dy_xhat = 0.0;
    for (var k = l.x; k < len; k += BN_WG) {
        let i = bn_at(p.c, p.hw, ch, k);
        let d = dy[i];
        part_dy += d;
        part_dy_xhat += d * (x[i] - mean) * invstd;
    }
    let sum_dy = bn_reduce(l.x, part_dy);
    let sum_dy_xhat = bn_reduce(l.x, part_dy_xhat);
    let k_ch = gamma_beta[ch] * invstd / count;
    for (var k = l.x; k < len; k += BN_WG) {
        let i = bn_at(p.c, p.hw, ch, k);
        let xhat = (x[i] - mean) * invstd;
        let v = k_ch * (count * dy[i] - sum_dy - xhat * sum_dy_xhat);
        dx[i] = v;
        dx2[i] = act_backward(saved2[i], v);
    }
    if l.x != 0u { return; }
    if (p.flags & ACCUMULATE) != 0u {
        grad_gamma_beta[ch] += sum_dy_xhat;
        grad_gamma_beta[p.c + ch] += sum_dy;
    } else {
        grad_gamma_beta[ch] = sum_dy_xhat;
        grad_gamma_beta[p.c + ch] = sum_dy;
    }
}

@compute @workgroup_size(64)
fn batch_norm_backward_act_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = gid.x + gid.y * g.x * 64u;
    if ch >= p.c { return; }
    let count = f32(p.n * p.hw);
    let mean = saved[ch];
    let invstd = saved[p.c + ch];
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) {
            let i = (b * p.c + ch) * p.hw + s;
            let d = dy[i];
            sum_dy += d;
            sum_dy_xhat += d * (x[i] - mean) * invstd;
        }
    }
    let k_ch = gamma_beta[ch] * invstd / count;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) {
            let i = (b * p.c + ch) * p.hw + s;
            let xhat = (x[i] - mean) * invstd;
            let v = k_ch * (count * dy[i] - sum_dy - xhat * sum_dy_xhat);
            dx[i] = v;
            dx2[i] = act_backward(saved2[i], v);
        }
    }
    if (p.flags & ACCUMULATE) != 0u {
        grad_gamma_beta[ch] += sum_dy_xhat;
        grad_gamma_beta[p.c + ch] += sum_dy;
    } else {
        grad_gamma_beta[ch] = sum_dy_xhat;
        grad_gamma_beta[p.c + ch] = sum_dy;
    }
}
