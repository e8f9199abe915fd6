// GPU-shaped twins of matmul.wgsl's products: the same bindings 1..4, parameters and CPU twins
// (src/cpu/matmul_fused.rs adds the fused epilogues). Row-major; out is (m, n), k the contraction.
//   matmul_tiled / matmul_at_tiled / matmul_bt_tiled   a @ b, a.T @ b, a @ b.T; any shape
//   matmul_skinny / matmul_bt_skinny                    a @ b, a @ b.T with m <= 64
//   matmul_at_small_k                                   a.T @ b with k <= 32 (weight gradients)
// Strategy (for GPUs: warps of 32, waves of 64, many multiprocessors):
// - tiled: 256 invocations own a 64x64 tile, 4x4 outputs each in four vec4 accumulators (never
//   an indexed array: naga would put it in scratch memory); K is staged 16 at a time in
//   workgroup memory, loaded along whichever axis of each operand is contiguous.
// - skinny: for the batch-32 forward and input gradients, where a 64x64 tile leaves most of the
//   device idle. A workgroup owns all m rows and 16 columns; its 256 invocations are 64 tiles of
//   4x4 times 4 slices of K (k = s mod 4), summed slice 0 + 1 + 2 + 3 in workgroup memory: a
//   fixed order, no atomics, so results repeat bit for bit.
// - small_k: the whole K slab of both operands in workgroup memory, one barrier; with BIAS_GRAD
//   the first column of workgroups also sums a's columns in row order (bias_grad's order
//   exactly): in a weight gradient dyᵀ·x, a is dy.
// Epilogues (flags): 1 bias, 2 accumulate (as matmul.wgsl); bits 4..6 an activation applied to
// the stored value and written to y (5); bits 8..10 an activation derivative: y = act'(saved
// (6)) * stored value; 4096 writes the bias gradient of a (m) to y (5), 8192 adds it to y. slope is
// leaky_relu's. Loads are guarded and stores masked, so any shape works.

struct Params { m: u32, n: u32, k: u32, flags: u32, slope: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// The fused output: the activation (derivative) of out, or the bias gradient.
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
// What the activation derivative reads: x for leaky_relu/relu, y for tanh/sigmoid.
@group(0) @binding(6) var<storage, read> saved: array<f32>;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;
const BIAS_GRAD: u32 = 4096u;
const BIAS_GRAD_ACCUMULATE: u32 = 8192u;

// out[row, col] = v (+ bias) (+ out), then the fused activation epilogues; masked to m and n.
fn finish(row: u32, col: u32, v: f32) {
    if row >= p.m || col >= p.n {
        return;
    }
    var r = v;
    if (p.flags & HAS_BIAS) != 0u {
        r += bias[col];
    }
    let o = row * p.n + col;
    if (p.flags & ACCUMULATE) != 0u {
        r += out[o];
    }
    out[o] = r;
    let fwd = (p.flags >> 4u) & 7u;
    if fwd != 0u {
        y[o] = act_forward(fwd, r);
    }
    let bwd = (p.flags >> 8u) & 7u;
    if bwd != 0u {
        y[o] = act_backward(bwd, saved[o], r);
    }
}

fn finish4(row: u32, col: u32, v: vec4<f32>) {
    finish(row, col, v.x);
    finish(row, col + 1u, v.y);
    finish(row, col + 2u, v.z);
    finish(row, col + 3u, v.w);
}

// Element (i, kk) of a matrix of r rows and c columns at i * rs + kk * cs; 0 outside.
fn load(src_is_a: bool, i: u32, kk: u32, r: u32, c: u32, rs: u32, cs: u32) -> f32 {
    if i >= r || kk >= c {
        return 0.0;
    }
    if src_is_a {
        return a[i * rs + kk * cs];
    }
    return b[i * rs + kk * cs];
}

// Four consecutive rows i0..i0+4 of op(a) at contraction index kk (or columns of op(b)).
fn load4(src_is_a: bool, i0: u32, kk: u32, r: u32, c: u32, rs: u32, cs: u32) -> vec4<f32> {
    return vec4(
        load(src_is_a, i0, kk, r, c, rs, cs),
        load(src_is_a, i0 + 1u, kk, r, c, rs, cs),
        load(src_is_a, i0 + 2u, kk, r, c, rs, cs),
        load(src_is_a, i0 + 3u, kk, r, c, rs, cs),
    );
}

// ---- tiled: 64x64 per workgroup of 16x16 invocations, K in steps of 16 ----

const BK: u32 = 16u;
// [kk][16 vec4]: rows (a) or columns (b) 4q..4q+4 of the tile at contraction index kk.
var<workgroup> stage_a: array<vec4<f32>, 256>;
var<workgroup> stage_b: array<vec4<f32>, 256>;

// Slot t of a BK-deep stage: (kk, q), walking kk fastest when the operand is contiguous along k
// (cs_k == 1), else q, so that neighbouring invocations read neighbouring addresses.
fn slot(t: u32, k_contiguous: bool) -> vec2<u32> {
    if k_contiguous {
        return vec2(t % BK, t / BK);
    }
    return vec2(t / 16u, t % 16u);
}

// A (i, kk) lives at i * a_rs + kk * a_cs; B (kk, j) at kk * b_rs + j * b_cs.
fn tiled(wg: vec3<u32>, t: u32, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32) {
    let row0 = wg.y * 64u;
    let col0 = wg.x * 64u;
    let tx = t % 16u;
    let ty = t / 16u;
    let sa = slot(t, a_cs == 1u);
    let sb = slot(t, b_rs == 1u);
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        stage_a[sa.x * 16u + sa.y] = load4(true, row0 + 4u * sa.y, k0 + sa.x, p.m, p.k, a_rs, a_cs);
        stage_b[sb.x * 16u + sb.y] = load4(false, col0 + 4u * sb.y, k0 + sb.x, p.n, p.k, b_cs, b_rs);
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let av = stage_a[kk * 16u + ty];
            let bv = stage_b[kk * 16u + tx];
            acc0 = fma(vec4(av.x), bv, acc0);
            acc1 = fma(vec4(av.y), bv, acc1);
            acc2 = fma(vec4(av.z), bv, acc2);
            acc3 = fma(vec4(av.w), bv, acc3);
        }
        workgroupBarrier();
    }
    let row = row0 + 4u * ty;
    let col = col0 + 4u * tx;
    finish4(row, col, acc0);
    finish4(row + 1u, col, acc1);
    finish4(row + 2u, col, acc2);
    finish4(row + 3u, col, acc3);
}

@compute @workgroup_size(256)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    tiled(wg, t, p.k, 1u, p.n, 1u);
}

@compute @workgroup_size(256)
fn matmul_at_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    tiled(wg, t, 1u, p.m, p.n, 1u);
}

@compute @workgroup_size(256)
fn matmul_bt_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    tiled(wg, t, p.k, 1u, 1u, p.k);
}

// ---- skinny: all m <= 64 rows x 16 columns per workgroup, K split four ways ----

// Slices 1..3's partial sums: [slice - 1][tile u][row r] (12 KiB).
var<workgroup> partial: array<vec4<f32>, 768>;

fn skinny(wg: vec3<u32>, t: u32, b_rs: u32, b_cs: u32) {
    // Slice s is the fastest index, so the four slices of a tile read four consecutive k.
    let s = t % 4u;
    let u = t / 4u;
    let row = (u / 4u) * 4u;
    let col = wg.x * 16u + (u % 4u) * 4u;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var kk = s; kk < p.k; kk += 4u) {
        let av = load4(true, row, kk, p.m, p.k, p.k, 1u);
        let bv = load4(false, col, kk, p.n, p.k, b_cs, b_rs);
        acc0 = fma(vec4(av.x), bv, acc0);
        acc1 = fma(vec4(av.y), bv, acc1);
        acc2 = fma(vec4(av.z), bv, acc2);
        acc3 = fma(vec4(av.w), bv, acc3);
    }
    if s != 0u {
        let at = ((s - 1u) * 64u + u) * 4u;
        partial[at] = acc0;
        partial[at + 1u] = acc1;
        partial[at + 2u] = acc2;
        partial[at + 3u] = acc3;
    }
    workgroupBarrier();
    if s != 0u {
        return;
    }
    for (var q = 0u; q < 3u; q++) {
        let at = (q * 64u + u) * 4u;
        acc0 += partial[at];
        acc1 += partial[at + 1u];
        acc2 += partial[at + 2u];
        acc3 += partial[at + 3u];
    }
    finish4(row, col, acc0);
    finish4(row + 1u, col, acc1);
    finish4(row + 2u, col, acc2);
    finish4(row + 3u, col, acc3);
}

@compute @workgroup_size(256)
fn matmul_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    skinny(wg, t, p.n, 1u);
}

@compute @workgroup_size(256)
fn matmul_bt_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    skinny(wg, t, 1u, p.k);
}

// ---- small_k: a (k,m)ᵀ · b (k,n) with k <= 32, the whole slab staged once ----

// [kk][16 vec4] as above, for all 32 values of kk (16 KiB together).
var<workgroup> tile_a: array<vec4<f32>, 512>;
var<workgroup> tile_b: array<vec4<f32>, 512>;

@compute @workgroup_size(256)
fn matmul_at_small_k(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let row0 = wg.y * 64u;
    let col0 = wg.x * 64u;
    // Both operands are contiguous along their columns (rows of out, columns of out).
    for (var q = t; q < 512u; q += 256u) {
        let kk = q / 16u;
        let c = (q % 16u) * 4u;
        tile_a[q] = load4(true, row0 + c, kk, p.m, p.k, 1u, p.m);
        tile_b[q] = load4(false, col0 + c, kk, p.n, p.k, 1u, p.n);
    }
    workgroupBarrier();
    let tx = t % 16u;
    let ty = t / 16u;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var kk = 0u; kk < p.k; kk++) {
        let av = tile_a[kk * 16u + ty];
        let bv = tile_b[kk * 16u + tx];
        acc0 = fma(vec4(av.x), bv, acc0);
        acc1 = fma(vec4(av.y), bv, acc1);
        acc2 = fma(vec4(av.z), bv, acc2);
        acc3 = fma(vec4(av.w), bv, acc3);
    }
    let row = row0 + 4u * ty;
    let col = col0 + 4u * tx;
    finish4(row, col, acc0);
    finish4(row + 1u, col, acc1);
    finish4(row + 2u, col, acc2);
    finish4(row + 3u, col, acc3);
    // The bias gradient of a layer whose dy is a (k,m): db[i] = Σ_kk a[kk, i], from 0 in row
    // order like bias_grad.
    let i = row0 + t;
    if (p.flags & BIAS_GRAD) != 0u && wg.x == 0u && t < 64u && i < p.m {
        var s = 0.0;
        for (var kk = 0u; kk < p.k; kk++) {
            s += tile_a[kk * 16u + t / 4u][t % 4u];
        }
        if (p.flags & BIAS_GRAD_ACCUMULATE) != 0u {
            s += y[i];
        }
        y[i] = s;
    }
}
