// Batch normalisation over x laid out (N, C, HW): HW = 1 for BatchNorm1d on (N, C), H*W for
// BatchNorm2d on NCHW. gamma_beta is (2C) = gamma | beta; running and saved are (2C) too:
// running = mean | var, saved = batch mean | 1/sqrt(var + eps).
//   batch_norm_forward_train  x(1) gamma_beta(2) -> y(3) running(4) saved(5)
//   batch_norm_forward_eval   x(1) gamma_beta(2) running(3) -> y(4)
//   batch_norm_backward       x(1) dy(2) gamma_beta(3) saved(4) -> dx(5) grad_gamma_beta(6)
// Semantics: torch.nn.BatchNorm{1,2}d. Training normalises with the biased batch variance and
// feeds the unbiased one to running_var: running = (1 - momentum) * running + momentum * batch.
// Strategy: the training forward and the backward run one workgroup of 256 per channel (the grid
// split over y past 65,535 channels), reducing with channel_sum.wgsl's fixed tree (no atomics,
// deterministic) and writing the channel's elements strided over the workgroup; eval is one
// invocation per element. The `_serial` variants (src/gpu/variants.rs: CPU adapters, channels of
// at most 16,384 values) run one invocation per channel with no barrier, which lavapipe makes
// very slow: its loops stay under the 65,535 iterations after which it ends them. flags: 1 = update running statistics, 2 = accumulate into
// grad_gamma_beta.

struct Params { n: u32, c: u32, hw: u32, flags: u32, eps: f32, momentum: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> b2: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> b4: array<f32>;
@group(0) @binding(5) var<storage, read_write> b5: array<f32>;
@group(0) @binding(6) var<storage, read_write> b6: array<f32>;

const UPDATE_RUNNING: u32 = 1u;
const ACCUMULATE: u32 = 2u;

@compute @workgroup_size(256)
fn batch_norm_forward_train(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = wg.x + wg.y * g.x;
    if ch >= p.c { return; }
    let len = p.n * p.hw;
    let count = f32(len);
    var sum = 0.0;
    for (var k = l.x; k < len; k += BN_WG) { sum += x[bn_at(p.c, p.hw, ch, k)]; }
    let mean = bn_reduce(l.x, sum) / count;
    var sq = 0.0;
    for (var k = l.x; k < len; k += BN_WG) { let d = x[bn_at(p.c, p.hw, ch, k)] - mean; sq += d * d; }
    let sq_total = bn_reduce(l.x, sq);
    let var_biased = sq_total / count;
    let invstd = 1.0 / sqrt(var_biased + p.eps);
    let gamma = b2[ch];
    let beta = b2[p.c + ch];
    for (var k = l.x; k < len; k += BN_WG) {
        let i = bn_at(p.c, p.hw, ch, k);
        b3[i] = (x[i] - mean) * invstd * gamma + beta;
    }
    if l.x != 0u { return; }
    if (p.flags & UPDATE_RUNNING) != 0u {
        let var_unbiased = select(var_biased, sq_total / (count - 1.0), count > 1.0);
        b4[ch] = (1.0 - p.momentum) * b4[ch] + p.momentum * mean;
        b4[p.c + ch] = (1.0 - p.momentum) * b4[p.c + ch] + p.momentum * var_unbiased;
    }
    b5[ch] = mean;
    b5[p.c + ch] = invstd;
}

@compute @workgroup_size(64)
fn batch_norm_forward_eval(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n * p.c * p.hw { return; }
    let ch = (i / p.hw) % p.c;
    let invstd = 1.0 / sqrt(b3[p.c + ch] + p.eps);
    b4[i] = (x[i] - b3[ch]) * invstd * b2[ch] + b2[p.c + ch];
}

@compute @workgroup_size(256)
fn batch_norm_backward(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = wg.x + wg.y * g.x;
    if ch >= p.c { return; }
    let len = p.n * p.hw;
    let count = f32(len);
    let mean = b4[ch];
    let invstd = b4[p.c + ch];
    var part_dy = 0.0;
    var part_dy_xhat = 0.0;
    for (var k = l.x; k < len; k += BN_WG) {
        let i = bn_at(p.c, p.hw, ch, k);
        let dy = b2[i];
        part_dy += dy;
        part_dy_xhat += dy * (x[i] - mean) * invstd;
    }
    let sum_dy = bn_reduce(l.x, part_dy);
    let sum_dy_xhat = bn_reduce(l.x, part_dy_xhat);
    let k_ch = b3[ch] * invstd / count;
    for (var k = l.x; k < len; k += BN_WG) {
        let i = bn_at(p.c, p.hw, ch, k);
        let xhat = (x[i] - mean) * invstd;
        b5[i] = k_ch * (count * b2[i] - sum_dy - xhat * sum_dy_xhat);
    }
    if l.x != 0u { return; }
    if (p.flags & ACCUMULATE) != 0u {
        b6[ch] += sum_dy_xhat;
        b6[p.c + ch] += sum_dy;
    } else {
        b6[ch] = sum_dy_xhat;
        b6[p.c + ch] = sum_dy;
    }
}

// x's index of value s of sample b in channel ch.
fn bn_index(b: u32, ch: u32, s: u32) -> u32 {
    return (b * p.c + ch) * p.hw + s;
}

@compute @workgroup_size(64)
fn batch_norm_forward_train_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = gid.x + gid.y * g.x * 64u;
    if ch >= p.c { return; }
    let count = f32(p.n * p.hw);
    var sum = 0.0;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) { sum += x[bn_index(b, ch, s)]; }
    }
    let mean = sum / count;
    var sq = 0.0;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) { let d = x[bn_index(b, ch, s)] - mean; sq += d * d; }
    }
    let var_biased = sq / count;
    let invstd = 1.0 / sqrt(var_biased + p.eps);
    let gamma = b2[ch];
    let beta = b2[p.c + ch];
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) {
            let i = bn_index(b, ch, s);
            b3[i] = (x[i] - mean) * invstd * gamma + beta;
        }
    }
    if (p.flags & UPDATE_RUNNING) != 0u {
        let var_unbiased = select(var_biased, sq / (count - 1.0), count > 1.0);
        b4[ch] = (1.0 - p.momentum) * b4[ch] + p.momentum * mean;
        b4[p.c + ch] = (1.0 - p.momentum) * b4[p.c + ch] + p.momentum * var_unbiased;
    }
    b5[ch] = mean;
    b5[p.c + ch] = invstd;
}

@compute @workgroup_size(64)
fn batch_norm_backward_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let ch = gid.x + gid.y * g.x * 64u;
    if ch >= p.c { return; }
    let count = f32(p.n * p.hw);
    let mean = b4[ch];
    let invstd = b4[p.c + ch];
    var sum_dy = 0.0;
    var sum_dy_xhat = 0.0;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) {
            let i = bn_index(b, ch, s);
            let dy = b2[i];
            sum_dy += dy;
            sum_dy_xhat += dy * (x[i] - mean) * invstd;
        }
    }
    let k_ch = b3[ch] * invstd / count;
    for (var b = 0u; b < p.n; b++) {
        for (var s = 0u; s < p.hw; s++) {
            let i = bn_index(b, ch, s);
            let xhat = (x[i] - mean) * invstd;
            b5[i] = k_ch * (count * b2[i] - sum_dy - xhat * sum_dy_xhat);
        }
    }
    if (p.flags & ACCUMULATE) != 0u {
        b6[ch] += sum_dy_xhat;
        b6[p.c + ch] += sum_dy;
    } else {
        b6[ch] = sum_dy_xhat;
        b6[p.c + ch] = sum_dy;
    }
}
