// Spectral normalisation of a weight W viewed (rows = out, cols = in·k·k...), row-major f32
// (torch.nn.utils.spectral_norm with one power iteration per step, eps 1e-12):
//   spectral_norm_power     W(1) u(2) -> u(2) v(3) sigma(4)
//     v = normalize(Wᵀ u), u = normalize(W v), sigma = uᵀ W v (normalize(x) = x / max(|x|, eps))
//   spectral_norm_sigma     W(1) u(7) v(8) -> sigma(4)    sigma = uᵀ W v, no iteration (G's step
//                           reuses the u and v of the last D step on the updated W)
//   spectral_norm_scale     W(1) sigma(5) -> w_sn(6)   w_sn = W / sigma
//   spectral_norm_backward  W(1) u(7) v(8) sigma(5) g(9) -> dw(6)
//     dw (+)= g / sigma - (Σ g·W) / sigma² · u vᵀ: the gradient through W / sigma with u and v
//     held constant (torch runs the iteration under no_grad), g = dL / d w_sn
// Strategy: power, sigma and backward run as one workgroup of 64 (dispatch 1x1x1): lane l handles
// indices l, l + 64, ...; each reduction sums a lane's terms in index order, then lane 0 sums the
// 64 partials in lane order (cpu::spectral_norm does the same). scale is one invocation per
// element. flags & 1 (ACCUMULATE) adds to dw. Assumes lengths match rows and cols.

struct Params { rows: u32, cols: u32, flags: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> sigma: array<f32>;
@group(0) @binding(5) var<storage, read> sigma_in: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> u_in: array<f32>;
@group(0) @binding(8) var<storage, read> v_in: array<f32>;
@group(0) @binding(9) var<storage, read> g: array<f32>;

const LANES: u32 = 64u;
const ACCUMULATE: u32 = 1u;

var<workgroup> partial: array<f32, 64>;
var<workgroup> total: f32;

// Sets `total` to the lane-ordered sum of every lane's `s`. Call from uniform control flow.
fn reduce(lane: u32, s: f32) {
    partial[lane] = s;
    workgroupBarrier();
    if lane == 0u {
        var t = 0.0;
        for (var l = 0u; l < LANES; l++) {
            t += partial[l];
        }
        total = t;
    }
    workgroupBarrier();
}

@compute @workgroup_size(64)
fn spectral_norm_power(@builtin(local_invocation_index) lane: u32) {
    // v = Wᵀ u, then v /= max(|v|, eps).
    var s = 0.0;
    for (var j = lane; j < p.cols; j += LANES) {
        var acc = 0.0;
        for (var i = 0u; i < p.rows; i++) {
            acc += w[i * p.cols + j] * u[i];
        }
        v[j] = acc;
        s += acc * acc;
    }
    reduce(lane, s);
    let nv = max(sqrt(total), p.eps);
    for (var j = lane; j < p.cols; j += LANES) {
        v[j] = v[j] / nv;
    }
    storageBarrier();
    workgroupBarrier();
    // u = W v, then u /= max(|u|, eps); sigma = uᵀ (W v).
    s = 0.0;
    for (var i = lane; i < p.rows; i += LANES) {
        var acc = 0.0;
        for (var j = 0u; j < p.cols; j++) {
            acc += w[i * p.cols + j] * v[j];
        }
        u[i] = acc;
        s += acc * acc;
    }
    reduce(lane, s);
    let nu = max(sqrt(total), p.eps);
    s = 0.0;
    for (var i = lane; i < p.rows; i += LANES) {
        let raw = u[i];
        let unit = raw / nu;
        u[i] = unit;
        s += unit * raw;
    }
    reduce(lane, s);
    if lane == 0u {
        sigma[0] = total;
    }
}

// The same sum, in the same order, as the last step of spectral_norm_power.
@compute @workgroup_size(64)
fn spectral_norm_sigma(@builtin(local_invocation_index) lane: u32) {
    var s = 0.0;
    for (var i = lane; i < p.rows; i += LANES) {
        var acc = 0.0;
        for (var j = 0u; j < p.cols; j++) {
            acc += w[i * p.cols + j] * v_in[j];
        }
        s += u_in[i] * acc;
    }
    reduce(lane, s);
    if lane == 0u {
        sigma[0] = total;
    }
}

@compute @workgroup_size(64)
fn spectral_norm_scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {
    let i = gid.x + gid.y * n.x * 64u;
    if i >= p.rows * p.cols { return; }
    out[i] = w[i] / sigma_in[0];
}

@compute @workgroup_size(64)
fn spectral_norm_backward(@builtin(local_invocation_index) lane: u32) {
    let len = p.rows * p.cols;
    var s = 0.0;
    for (var k = lane; k < len; k += LANES) {
        s += g[k] * w[k];
    }
    reduce(lane, s);
    let sg = sigma_in[0];
    let c = total / (sg * sg);
    for (var k = lane; k < len; k += LANES) {
        let i = k / p.cols;
        let j = k - i * p.cols;
        var d = g[k] / sg - c * u_in[i] * v_in[j];
        if (p.flags & ACCUMULATE) != 0u {
            d += out[k];
        }
        out[k] = d;
    }
}
