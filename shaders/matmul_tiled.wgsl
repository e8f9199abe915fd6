// GPU-shaped twins of matmul.wgsl's products: the same bindings 1..4, parameters and CPU twins
// (src/cpu/matmul_fused.rs adds the fused epilogues). Row-major; out is (m, n), k the contraction.
//   matmul_tiled / matmul_at_tiled / matmul_bt_tiled   a @ b, a.T @ b, a @ b.T; any shape
//   matmul_skinny / matmul_bt_skinny                    a @ b, a @ b.T with m <= 64
//   matmul_at_small_k                                   a.T @ b with k <= 32 (weight gradients)
//   matmul_bt_skinny_bn                                 a @ b.T with m <= 64, then BatchNorm1d
// Strategy (for GPUs: warps of 32, waves of 64, many multiprocessors):
// - tiled: 256 invocations own a 64x64 tile, 4x4 outputs each in four vec4 accumulators (never
//   an indexed array: naga would put it in scratch memory); K is staged 16 at a time in
//   workgroup memory, loaded along whichever axis of each operand is contiguous.
// - skinny: for the batch-32 forward and input gradients, where a 64x64 tile leaves most of the
//   device idle. A workgroup owns all m rows and 32 columns; its 256 invocations are 128 tiles
//   of 4x4 times 2 slices of K (k = s mod 2), summed slice 0 + 1 in workgroup memory: a fixed
//   order, no atomics, so results repeat bit for bit.
// - small_k: the whole K slab of both operands in workgroup memory, one barrier; with BIAS_GRAD
//   the first column of workgroups also sums a's columns in row order (bias_grad's order
//   exactly): in a weight gradient dyᵀ·x, a is dy.
// - skinny_bn: a Linear's forward, its activation, and the training batch norm after them in
//   one dispatch (batch-norm statistics in the product that feeds them: the workgroup owns
//   every row of its 32 columns). The normalised input goes to workgroup memory; after a
//   barrier one invocation per column sums its rows in order (mean, then the squared
//   deviations, as batch_norm_forward_train), and after another all 256 write the output.
// Epilogues (flags): 1 bias, 2 accumulate (as matmul.wgsl); bits 4..6 an activation applied to
// the stored value and written to y (5); bits 8..10 an activation derivative: y = act'(saved
// (6)) * stored value; 4096 writes the bias gradient of a (m) to y (5), 8192 adds it to y. slope is
// leaky_relu's. Loads are guarded and stores masked, so any shape works.

// bn_flags, eps and momentum: matmul_bt_skinny_bn's batch norm (batch_norm.wgsl's flags).
struct Params {
    m: u32, n: u32, k: u32, flags: u32, slope: f32, bn_flags: u32, eps: f32, momentum: f32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// The fused output: the activation (derivative) of out, or the bias gradient.
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
// What the activation derivative reads: x for leaky_relu/relu, y for tanh/sigmoid.
@group(0) @binding(6) var<storage, read> saved: array<f32>;
// matmul_bt_skinny_bn's batch norm, as batch_norm_forward_train binds them: gamma | beta (2n) at
// 6 (`saved`, which no activation derivative reads there), its output (m,n), running mean | var
// (2n), batch mean | 1/sqrt(var + eps) (2n).
@group(0) @binding(7) var<storage, read_write> bn_y: array<f32>;
@group(0) @binding(8) var<storage, read_write> running: array<f32>;
@group(0) @binding(9) var<storage, read_write> bn_saved: array<f32>;

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

// ---- skinny: all m <= 64 rows x 32 columns per workgroup, K split two ways ----

// Columns per workgroup, slices of K, and 4x4 tiles (16 down, 8 across) per workgroup.
const SK_COLS: u32 = 32u;
const SK_SLICES: u32 = 2u;
const SK_TILES: u32 = 128u;
// Slice 1's partial sums: [slice - 1][tile u][row r] (8 KiB).
var<workgroup> partial: array<vec4<f32>, 512>;

struct Tile { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }

// Tile (row, col)'s 4x4 outputs, summed over the K slices: complete in slice 0 (s == 0)
// only. Every invocation of the workgroup must call it (it holds a barrier).
fn skinny_tile(s: u32, u: u32, row: u32, col: u32, b_rs: u32, b_cs: u32) -> Tile {
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var kk = s; kk < p.k; kk += SK_SLICES) {
        let av = load4(true, row, kk, p.m, p.k, p.k, 1u);
        let bv = load4(false, col, kk, p.n, p.k, b_cs, b_rs);
        acc0 = fma(vec4(av.x), bv, acc0);
        acc1 = fma(vec4(av.y), bv, acc1);
        acc2 = fma(vec4(av.z), bv, acc2);
        acc3 = fma(vec4(av.w), bv, acc3);
    }
    if s != 0u {
        let at = ((s - 1u) * SK_TILES + u) * 4u;
        partial[at] = acc0;
        partial[at + 1u] = acc1;
        partial[at + 2u] = acc2;
        partial[at + 3u] = acc3;
    }
    workgroupBarrier();
    if s == 0u {
        for (var q = 0u; q < SK_SLICES - 1u; q++) {
            let at = (q * SK_TILES + u) * 4u;
            acc0 += partial[at];
            acc1 += partial[at + 1u];
            acc2 += partial[at + 2u];
            acc3 += partial[at + 3u];
        }
    }
    return Tile(acc0, acc1, acc2, acc3);
}

fn skinny(wg: vec3<u32>, t: u32, b_rs: u32, b_cs: u32) {
    // Slice s is the fastest index, so the slices of a tile read consecutive k.
    let s = t % SK_SLICES;
    let u = t / SK_SLICES;
    let row = (u / (SK_COLS / 4u)) * 4u;
    let col = wg.x * SK_COLS + (u % (SK_COLS / 4u)) * 4u;
    let v = skinny_tile(s, u, row, col, b_rs, b_cs);
    if s != 0u {
        return;
    }
    finish4(row, col, v.r0);
    finish4(row + 1u, col, v.r1);
    finish4(row + 2u, col, v.r2);
    finish4(row + 3u, col, v.r3);
}

@compute @workgroup_size(256)
fn matmul_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    skinny(wg, t, p.n, 1u);
}

@compute @workgroup_size(256)
fn matmul_bt_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    skinny(wg, t, 1u, p.k);
}

// ---- skinny_bn: skinny, then batch_norm_forward_train over its rows ----

// The batch norm's input: [row][column - the workgroup's first column] (8 KiB).
var<workgroup> bn_x: array<f32, 2048>;
// Each column's batch mean and 1/sqrt(var + eps).
var<workgroup> bn_stats: array<vec2<f32>, 32>;

const UPDATE_RUNNING: u32 = 1u;

// What the batch norm reads at (row, col): the activation's output, or the product's.
fn bn_input(row: u32, col: u32) -> f32 {
    let o = row * p.n + col;
    if ((p.flags >> 4u) & 7u) != 0u {
        return y[o];
    }
    return out[o];
}

fn skinny_bn(wg: vec3<u32>, t: u32, b_rs: u32, b_cs: u32) {
    let s = t % SK_SLICES;
    let u = t / SK_SLICES;
    let row = (u / (SK_COLS / 4u)) * 4u;
    let c0 = wg.x * SK_COLS;
    let col = c0 + (u % (SK_COLS / 4u)) * 4u;
    let v = skinny_tile(s, u, row, col, b_rs, b_cs);
    if s == 0u {
        finish4(row, col, v.r0);
        finish4(row + 1u, col, v.r1);
        finish4(row + 2u, col, v.r2);
        finish4(row + 3u, col, v.r3);
        for (var i = row; i < min(row + 4u, p.m); i++) {
            for (var j = col; j < min(col + 4u, p.n); j++) {
                bn_x[i * SK_COLS + j - c0] = bn_input(i, j);
            }
        }
    }
    workgroupBarrier();
    let ch = c0 + t;
    if t < SK_COLS && ch < p.n {
        let count = f32(p.m);
        var sum = 0.0;
        for (var i = 0u; i < p.m; i++) {
            sum += bn_x[i * SK_COLS + t];
        }
        let mean = sum / count;
        var sq = 0.0;
        for (var i = 0u; i < p.m; i++) {
            let d = bn_x[i * SK_COLS + t] - mean;
            sq += d * d;
        }
        let var_biased = sq / count;
        let invstd = 1.0 / sqrt(var_biased + p.eps);
        bn_stats[t] = vec2(mean, invstd);
        if (p.bn_flags & UPDATE_RUNNING) != 0u {
            let var_unbiased = select(var_biased, sq / (count - 1.0), count > 1.0);
            running[ch] = (1.0 - p.momentum) * running[ch] + p.momentum * mean;
            running[p.n + ch] = (1.0 - p.momentum) * running[p.n + ch] + p.momentum * var_unbiased;
        }
        bn_saved[ch] = mean;
        bn_saved[p.n + ch] = invstd;
    }
    workgroupBarrier();
    for (var e = t; e < p.m * SK_COLS; e += 256u) {
        let j = e % SK_COLS;
        let c = c0 + j;
        if c < p.n {
            let st = bn_stats[j];
            // saved holds gamma | beta here.
            bn_y[(e / SK_COLS) * p.n + c] = (bn_x[e] - st.x) * st.y * saved[c] + saved[p.n + c];
        }
    }
}

@compute @workgroup_size(256)
fn matmul_bt_skinny_bn(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    skinny_bn(wg, t, 1u, p.k);
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
