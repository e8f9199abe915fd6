// Products for shapes a tile does not fit, with matmul_tiled.wgsl's bindings, parameters,
// epilogues and CPU twins (src/cpu/matmul_fused.rs). Row-major; out is (m, n), k the contraction.
//   matmul_direct / matmul_at_direct / matmul_bt_direct   a @ b, a.T @ b, a @ b.T; any shape
// The seed's one-wide D layer has a k = 1 input gradient, an m = 1 weight gradient and an n = 1
// forward; a 64x64 tile of 256 invocations idles on them, and on lavapipe its barriers cost more
// than the product. Strategy: matmul.wgsl's general kernels (8x8 invocations of 4x4 outputs, no
// workgroup memory, no barrier, loads clamped in bounds rather than branched), with the epilogue
// compiled per flags (the `FLAGS` pipeline constant, as matmul_subgroup.wgsl), so a product
// without bias, accumulation or activation has none of their loads and stores.
// Epilogues (flags): 1 bias, 2 accumulate; bits 4..6 an activation applied to the stored value
// and written to y (5); bits 8..10 an activation derivative: y = act'(saved (6)) * stored value;
// 4096 (matmul_at_direct) writes the bias gradient of a (m) to y (5), 8192 adds it to y.

struct Params { m: u32, n: u32, k: u32, flags: u32, slope: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read> saved: array<f32>;

// p.flags, fixed when the pipeline is created (`gpu::variants::pipeline_flags`).
override FLAGS: u32;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;
const BIAS_GRAD: u32 = 4096u;
const BIAS_GRAD_ACCUMULATE: u32 = 8192u;
override ACT_FORWARD: u32 = (FLAGS >> 4u) & 7u;
override ACT_BACKWARD: u32 = (FLAGS >> 8u) & 7u;

// out[row, col] = v (+ bias) (+ out), then the activation epilogues; masked to m and n.
fn finish(row: u32, col: u32, v: f32) {
    if row >= p.m || col >= p.n {
        return;
    }
    var r = v;
    if (FLAGS & HAS_BIAS) != 0u {
        r += bias[col];
    }
    let o = row * p.n + col;
    if (FLAGS & ACCUMULATE) != 0u {
        r += out[o];
    }
    out[o] = r;
    if ACT_FORWARD != 0u {
        y[o] = act_forward(ACT_FORWARD, r);
    }
    if ACT_BACKWARD != 0u {
        y[o] = act_backward(ACT_BACKWARD, saved[o], r);
    }
}

fn finish4(row: u32, col: u32, v: vec4<f32>) {
    finish(row, col, v.x);
    finish(row, col + 1u, v.y);
    finish(row, col + 2u, v.z);
    finish(row, col + 3u, v.w);
}

// A (i, kk) lives at i * a_rs + kk * a_cs; B (kk, j) at kk * b_rs + j * b_cs (product4x4.wgsl).
fn direct(gid: vec3<u32>, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32) {
    let row = gid.y * 4u;
    let col = gid.x * 4u;
    if row >= p.m || col >= p.n {
        return;
    }
    let v = product4x4(row, col, a_rs, a_cs, b_rs, b_cs);
    finish4(row, col, v.r0);
    finish4(row + 1u, col, v.r1);
    finish4(row + 2u, col, v.r2);
    finish4(row + 3u, col, v.r3);
}

@compute @workgroup_size(8, 8)
fn matmul_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
    direct(gid, p.k, 1u, p.n, 1u);
}

@compute @workgroup_size(8, 8)
fn matmul_at_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
    direct(gid, 1u, p.m, p.n, 1u);
    // The bias gradient of a layer whose dy is a (k,m), by the first column of invocations:
    // db[i] = Σ_kk a[kk, i], from 0 in row order like bias_grad.
    if (FLAGS & BIAS_GRAD) == 0u || gid.x != 0u {
        return;
    }
    for (var i = gid.y * 4u; i < min(gid.y * 4u + 4u, p.m); i++) {
        var s = 0.0;
        for (var kk = 0u; kk < p.k; kk++) {
            s += a[kk * p.m + i];
        }
        if (FLAGS & BIAS_GRAD_ACCUMULATE) != 0u {
            s += y[i];
        }
        y[i] = s;
    }
}

@compute @workgroup_size(8, 8)
fn matmul_bt_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
    direct(gid, p.k, 1u, 1u, p.k);
}
