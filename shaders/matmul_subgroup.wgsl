// The vec4 products of matmul.wgsl for devices with subgroups and 64-bit integers: the same
// bindings, parameters and shape conditions, plus n % 8 == 0, so src/gpu/variants.rs can swap
//   matmul_vec4 -> matmul_subgroup, matmul_at_vec4 -> matmul_at_subgroup,
//   matmul_bt_vec4 -> matmul_bt_subgroup
// at plan time, on CPU adapters (lavapipe) with the SUBGROUP and SHADER_INT64 features whose
// subgroups have at least 8 invocations. Each binds a(1) b(2) out(3) bias(4) y(5) saved(6); flags
// as matmul_tiled.wgsl's: 1 = add bias (n), 2 = accumulate into out; bits 4..6 an activation of
// the stored value written to y, bits 8..10 an activation derivative y = act'(saved) * stored
// value (epilogue.wgsl); 4096 (matmul_at_subgroup only, m % 8 == 0) the bias gradient of a, its
// column sums in row order, written to y (m), 8192 added to y. `gpu::plan` fuses the activation
// op or bias_grad that follows a product into it this way.
//
// Strategy: a workgroup is 8 invocations, hence exactly one subgroup (of lanes 0..7 when the
// hardware's subgroups are wider). Invocation i owns columns 8i .. 8i+8 of the workgroup's 64 and
// all its rows (32, or 64 for matmul_at_subgroup). The rows' a values are loaded once per
// subgroup, lane l holding rows l, l+8, l+16, ... (four consecutive rows per lane in
// matmul_at_subgroup, below), and handed to every invocation by subgroupBroadcast; the vec4 kernels instead load all 16 rows of their own tile in every
// invocation. On lavapipe (8 lanes per SIMD step) that halves the loads per FMA and doubles
// GFLOP/s.
// Lavapipe runs every load and store as a loop over the 8 lanes, taken or not, whatever its
// width: so out is written as vec4<u64>, eight floats per store (`pack8`), and the flags are a
// pipeline constant (`FLAGS`), so that a product without bias or accumulation has no such loops.
// Control flow is uniform until the stores: subgroup operations need every lane. Loads are
// clamped in bounds and stores masked, so any shape the variants are given works here.

struct Params { m: u32, n: u32, k: u32, flags: u32, slope: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
// Eight floats of a row of out, as pairs of bits (n % 8 == 0).
@group(0) @binding(3) var<storage, read_write> out8: array<vec4<u64>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// The fused output (eight floats per element): the activation (derivative) of out, or the bias
// gradient.
@group(0) @binding(5) var<storage, read_write> y8: array<vec4<u64>>;
// What the activation derivative reads: x for leaky_relu/relu, y for tanh/sigmoid.
@group(0) @binding(6) var<storage, read> saved8: array<vec4<u64>>;

// p.flags, fixed when the pipeline is created (`gpu::variants::pipeline_flags`).
override FLAGS: u32;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;
const BIAS_GRAD: u32 = 4096u;
const BIAS_GRAD_ACCUMULATE: u32 = 8192u;
// The activation codes of the epilogues, 0 for none.
override ACT_FORWARD: u32 = (FLAGS >> 4u) & 7u;
override ACT_BACKWARD: u32 = (FLAGS >> 8u) & 7u;

// Eight rows of eight consecutive columns (Row8, pack8 and unpack8 are appended from wide.wgsl).
alias Rows8 = array<Row8, 8>;

// acc + Σ_t coef[t] * m[t]: one output row of a 4x4 block product.
fn mad4(acc: vec4<f32>, coef: vec4<f32>, m: mat4x4<f32>) -> vec4<f32> {
    let r = fma(vec4(coef.y), m[1], fma(vec4(coef.x), m[0], acc));
    return fma(vec4(coef.w), m[3], fma(vec4(coef.z), m[2], r));
}

fn mad_row8(acc: Row8, coef: vec4<f32>, m0: mat4x4<f32>, m1: mat4x4<f32>) -> Row8 {
    return Row8(mad4(acc[0], coef, m0), mad4(acc[1], coef, m1));
}

// Eight rows, row r taking its four k coefficients from lane r's `mine` (its a values).
fn mad_rows8(acc: Rows8, mine: vec4<f32>, m0: mat4x4<f32>, m1: mat4x4<f32>) -> Rows8 {
    return Rows8(
        mad_row8(acc[0], subgroupBroadcast(mine, 0u), m0, m1),
        mad_row8(acc[1], subgroupBroadcast(mine, 1u), m0, m1),
        mad_row8(acc[2], subgroupBroadcast(mine, 2u), m0, m1),
        mad_row8(acc[3], subgroupBroadcast(mine, 3u), m0, m1),
        mad_row8(acc[4], subgroupBroadcast(mine, 4u), m0, m1),
        mad_row8(acc[5], subgroupBroadcast(mine, 5u), m0, m1),
        mad_row8(acc[6], subgroupBroadcast(mine, 6u), m0, m1),
        mad_row8(acc[7], subgroupBroadcast(mine, 7u), m0, m1),
    );
}

// acc + s * row.
fn axpy_row8(acc: Row8, s: f32, row: Row8) -> Row8 {
    return Row8(fma(vec4(s), row[0], acc[0]), fma(vec4(s), row[1], acc[1]));
}

// Eight rows: row r gets s[r] * row, with s the eight values of lo then hi.
fn axpy_rows8(acc: Rows8, lo: vec4<f32>, hi: vec4<f32>, row: Row8) -> Rows8 {
    return Rows8(
        axpy_row8(acc[0], lo.x, row), axpy_row8(acc[1], lo.y, row),
        axpy_row8(acc[2], lo.z, row), axpy_row8(acc[3], lo.w, row),
        axpy_row8(acc[4], hi.x, row), axpy_row8(acc[5], hi.y, row),
        axpy_row8(acc[6], hi.z, row), axpy_row8(acc[7], hi.w, row),
    );
}

// Offsets of rows first..first+3 (clamped to last) of a matrix whose rows are `stride` vec4s.
fn rows4(first: u32, last: u32, stride: u32) -> vec4<u32> {
    return min(vec4(first) + vec4(0u, 1u, 2u, 3u), vec4(last)) * stride;
}

// Offsets of the workgroup's a rows row0 + lane + {0, 8, 16, 24} (clamped to m - 1), `stride`
// vec4s each.
fn lane_rows(row0: u32, lane: u32, stride: u32) -> vec4<u32> {
    return min(vec4(row0 + lane % 8u) + vec4(0u, 8u, 16u, 24u), vec4(p.m - 1u)) * stride;
}

// bias[col0 .. col0 + 8] (zeros without HAS_BIAS; col0 + 8 <= n or col0 >= n, as n % 8 == 0).
fn bias8(col0: u32) -> Row8 {
    var r: Row8;
    if (FLAGS & HAS_BIAS) != 0u {
        for (var j = 0u; j < 8u; j++) {
            r[j / 4u][j % 4u] = bias[min(col0 + j, p.n - 1u)];
        }
    }
    return r;
}

// out (row, col0 .. col0+8) = v + b (+ out); col0 is a multiple of 8, skipped when >= n.
fn store8(row: u32, col0: u32, v: Row8, b: Row8) {
    if row < p.m && col0 < p.n {
        let o = (row * p.n + col0) / 8u;
        var r = Row8(v[0] + b[0], v[1] + b[1]);
        if (FLAGS & ACCUMULATE) != 0u {
            let old = unpack8(out8[o]);
            r = Row8(r[0] + old[0], r[1] + old[1]);
        }
        out8[o] = pack8(r);
        if ACT_FORWARD != 0u {
            y8[o] = pack8(Row8(act_forward4(ACT_FORWARD, r[0]), act_forward4(ACT_FORWARD, r[1])));
        }
        if ACT_BACKWARD != 0u {
            let s = unpack8(saved8[o]);
            let d = Row8(act_backward4(ACT_BACKWARD, s[0], r[0]), act_backward4(ACT_BACKWARD, s[1], r[1]));
            y8[o] = pack8(d);
        }
    }
}

// Rows row0 .. row0+8 of columns col0 .. col0+8 (+ bias b), masked to m and n.
fn store_rows8(row0: u32, col0: u32, acc: Rows8, b: Row8) {
    store8(row0, col0, acc[0], b);
    store8(row0 + 1u, col0, acc[1], b);
    store8(row0 + 2u, col0, acc[2], b);
    store8(row0 + 3u, col0, acc[3], b);
    store8(row0 + 4u, col0, acc[4], b);
    store8(row0 + 5u, col0, acc[5], b);
    store8(row0 + 6u, col0, acc[6], b);
    store8(row0 + 7u, col0, acc[7], b);
}

// The 32x8 tile of one invocation, as four blocks of eight rows.
fn store_tile(row0: u32, col0: u32, c0: Rows8, c1: Rows8, c2: Rows8, c3: Rows8) {
    let b = bias8(col0);
    store_rows8(row0, col0, c0, b);
    store_rows8(row0 + 8u, col0, c1, b);
    store_rows8(row0 + 16u, col0, c2, b);
    store_rows8(row0 + 24u, col0, c3, b);
}

// a (m,k), b (n,k): both read along k (k % 4 == 0, n % 8 == 0).
@compute @workgroup_size(8)
fn matmul_bt_subgroup(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) i: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wg.y * 32u;
    let col0 = wg.x * 64u + i * 8u;
    let k4 = p.k / 4u;
    let ra = lane_rows(row0, lane, k4);
    let rb0 = rows4(col0, p.n - 1u, k4);
    let rb1 = rows4(col0 + 4u, p.n - 1u, k4);
    var c0: Rows8;
    var c1: Rows8;
    var c2: Rows8;
    var c3: Rows8;
    for (var kk = 0u; kk < k4; kk++) {
        let m0 = transpose(mat4x4(b4[rb0.x + kk], b4[rb0.y + kk], b4[rb0.z + kk], b4[rb0.w + kk]));
        let m1 = transpose(mat4x4(b4[rb1.x + kk], b4[rb1.y + kk], b4[rb1.z + kk], b4[rb1.w + kk]));
        c0 = mad_rows8(c0, a4[ra.x + kk], m0, m1);
        c1 = mad_rows8(c1, a4[ra.y + kk], m0, m1);
        c2 = mad_rows8(c2, a4[ra.z + kk], m0, m1);
        c3 = mad_rows8(c3, a4[ra.w + kk], m0, m1);
    }
    store_tile(row0, col0, c0, c1, c2, c3);
}

// a (m,k), b (k,n): a read along k, b along n (k % 4 == 0, n % 8 == 0).
@compute @workgroup_size(8)
fn matmul_subgroup(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) i: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wg.y * 32u;
    let col0 = wg.x * 64u + i * 8u;
    let k4 = p.k / 4u;
    let n4 = p.n / 4u;
    let ra = lane_rows(row0, lane, k4);
    let cb = min(vec2(col0 / 4u) + vec2(0u, 1u), vec2(n4 - 1u));
    var c0: Rows8;
    var c1: Rows8;
    var c2: Rows8;
    var c3: Rows8;
    for (var kk = 0u; kk < k4; kk++) {
        let r0 = 4u * kk * n4;
        let r1 = r0 + n4;
        let r2 = r1 + n4;
        let r3 = r2 + n4;
        let m0 = mat4x4(b4[r0 + cb.x], b4[r1 + cb.x], b4[r2 + cb.x], b4[r3 + cb.x]);
        let m1 = mat4x4(b4[r0 + cb.y], b4[r1 + cb.y], b4[r2 + cb.y], b4[r3 + cb.y]);
        c0 = mad_rows8(c0, a4[ra.x + kk], m0, m1);
        c1 = mad_rows8(c1, a4[ra.y + kk], m0, m1);
        c2 = mad_rows8(c2, a4[ra.z + kk], m0, m1);
        c3 = mad_rows8(c3, a4[ra.w + kk], m0, m1);
    }
    store_tile(row0, col0, c0, c1, c2, c3);
}

// a (k,m), b (k,n): both read along their rows (m % 4 == 0, n % 8 == 0). A 64-row tile, so
// that each b load feeds 64 rows (k is the batch in weight gradients: short loops, whose stores
// weigh more): lane l holds a's columns row0 + 4l .. row0 + 4l + 4 (lo) and 32 further (hi).
@compute @workgroup_size(8)
fn matmul_at_subgroup(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) i: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wg.y * 64u;
    let col0 = wg.x * 64u + i * 8u;
    let m4 = p.m / 4u;
    let n4 = p.n / 4u;
    let ca = min(vec2(row0 / 4u + lane % 8u) + vec2(0u, 8u), vec2(m4 - 1u));
    let cb = min(vec2(col0 / 4u) + vec2(0u, 1u), vec2(n4 - 1u));
    var c0: Rows8;
    var c1: Rows8;
    var c2: Rows8;
    var c3: Rows8;
    var c4: Rows8;
    var c5: Rows8;
    var c6: Rows8;
    var c7: Rows8;
    // a's column sums (the bias gradient), in row order as bias_grad adds them.
    var sum_lo = vec4(0.0);
    var sum_hi = vec4(0.0);
    for (var kk = 0u; kk < p.k; kk++) {
        let lo = a4[kk * m4 + ca.x];
        let hi = a4[kk * m4 + ca.y];
        if (FLAGS & BIAS_GRAD) != 0u {
            sum_lo += lo;
            sum_hi += hi;
        }
        let rb = kk * n4;
        let brow = Row8(b4[rb + cb.x], b4[rb + cb.y]);
        c0 = axpy_rows8(c0, subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), brow);
        c1 = axpy_rows8(c1, subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u), brow);
        c2 = axpy_rows8(c2, subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), brow);
        c3 = axpy_rows8(c3, subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u), brow);
        c4 = axpy_rows8(c4, subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), brow);
        c5 = axpy_rows8(c5, subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u), brow);
        c6 = axpy_rows8(c6, subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), brow);
        c7 = axpy_rows8(c7, subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u), brow);
    }
    store_tile(row0, col0, c0, c1, c2, c3);
    store_tile(row0 + 32u, col0, c4, c5, c6, c7);
    if (FLAGS & BIAS_GRAD) != 0u && wg.x == 0u {
        store_bias_grad(row0, lane % 8u, sum_lo, sum_hi);
    }
}

// y (row0 .. row0 + 64) = the column sums, lane l holding columns row0 + 4l .. + 4 (lo) and 32
// further (hi): even lanes store their own four and the next lane's, eight floats at a time
// (m % 8 == 0). Every lane takes part in the shuffles.
fn store_bias_grad(row0: u32, lane: u32, lo: vec4<f32>, hi: vec4<f32>) {
    let next_lo = subgroupShuffleDown(lo, 1u);
    let next_hi = subgroupShuffleDown(hi, 1u);
    if lane % 2u != 0u {
        return;
    }
    store_sum8(row0 + 4u * lane, Row8(lo, next_lo));
    store_sum8(row0 + 32u + 4u * lane, Row8(hi, next_hi));
}

fn store_sum8(col: u32, s: Row8) {
    if col >= p.m {
        return;
    }
    var r = s;
    if (FLAGS & BIAS_GRAD_ACCUMULATE) != 0u {
        let old = unpack8(y8[col / 8u]);
        r = Row8(old[0] + s[0], old[1] + s[1]);
    }
    y8[col / 8u] = pack8(r);
}
