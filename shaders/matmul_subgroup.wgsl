// The vec4 products of matmul.wgsl for devices with subgroups: the same bindings, parameters,
// shape conditions and 32x64 workgroup tile, so src/gpu/variants.rs can swap
//   matmul_vec4 -> matmul_subgroup, matmul_at_vec4 -> matmul_at_subgroup,
//   matmul_bt_vec4 -> matmul_bt_subgroup
// at plan time, on devices with the SUBGROUP feature whose subgroups have at least 8 invocations.
// Each binds a(1) b(2) out(3) bias(4); flags: 1 = add bias (n), 2 = accumulate into out.
//
// Strategy: a workgroup is 8 invocations, hence exactly one subgroup (of lanes 0..7 when the
// hardware's subgroups are wider). Invocation i owns columns 8i .. 8i+8 of the workgroup's 64 and
// all 32 rows. The 32 rows' a values are loaded once per subgroup, lane l holding rows l, l+8,
// l+16 and l+24, and handed to every invocation by subgroupBroadcast; the vec4 kernels instead
// load all 16 rows of their own tile in every invocation. On lavapipe (8 lanes per SIMD step)
// that halves the loads per FMA and doubles GFLOP/s.
// Control flow is uniform until the stores: subgroup operations need every lane. Loads are
// clamped in bounds and stores masked, so any shape the vec4 kernels accept works here.

struct Params { m: u32, n: u32, k: u32, flags: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;

// Eight consecutive columns of one row, and eight rows of them.
alias Row8 = array<vec4<f32>, 2>;
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

// bias[col0 .. col0 + 8] (zeros without HAS_BIAS; col0 + 8 <= n or col0 >= n, as n % 4 == 0).
fn bias8(col0: u32) -> Row8 {
    var r: Row8;
    if (p.flags & HAS_BIAS) != 0u {
        for (var j = 0u; j < 8u; j++) {
            r[j / 4u][j % 4u] = bias[min(col0 + j, p.n - 1u)];
        }
    }
    return r;
}

// out (row, col .. col+4) = v (+ out); col is a multiple of 4, skipped when >= n.
fn store4(row: u32, col: u32, v: vec4<f32>) {
    if col >= p.n {
        return;
    }
    let o = (row * p.n + col) / 4u;
    var r = v;
    if (p.flags & ACCUMULATE) != 0u {
        r += out4[o];
    }
    out4[o] = r;
}

// Rows row0 .. row0+8 of columns col0 .. col0+8, masked to m and n.
fn store_rows8(row0: u32, col0: u32, acc: Rows8) {
    let b = bias8(col0);
    for (var r = 0u; r < 8u; r++) {
        if row0 + r < p.m {
            store4(row0 + r, col0, acc[r][0] + b[0]);
            store4(row0 + r, col0 + 4u, acc[r][1] + b[1]);
        }
    }
}

// The 32x8 tile of one invocation, as four blocks of eight rows.
fn store_tile(row0: u32, col0: u32, c0: Rows8, c1: Rows8, c2: Rows8, c3: Rows8) {
    if col0 < p.n {
        store_rows8(row0, col0, c0);
        store_rows8(row0 + 8u, col0, c1);
        store_rows8(row0 + 16u, col0, c2);
        store_rows8(row0 + 24u, col0, c3);
    }
}

// a (m,k), b (n,k): both read along k (k % 4 == 0, n % 4 == 0).
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

// a (m,k), b (k,n): a read along k, b along n (k % 4 == 0, n % 4 == 0).
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

// a (k,m), b (k,n): both read along their rows (m % 4 == 0, n % 4 == 0); lane l holds a's
// columns row0 + 4l .. row0 + 4l + 4 of each k.
@compute @workgroup_size(8)
fn matmul_at_subgroup(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) i: u32,
    @builtin(subgroup_invocation_id) lane: u32,
) {
    let row0 = wg.y * 32u;
    let col0 = wg.x * 64u + i * 8u;
    let m4 = p.m / 4u;
    let n4 = p.n / 4u;
    let ca = min(row0 / 4u + lane % 8u, m4 - 1u);
    let cb = min(vec2(col0 / 4u) + vec2(0u, 1u), vec2(n4 - 1u));
    var c0: Rows8;
    var c1: Rows8;
    var c2: Rows8;
    var c3: Rows8;
    for (var kk = 0u; kk < p.k; kk++) {
        let mine = a4[kk * m4 + ca];
        let rb = kk * n4;
        let brow = Row8(b4[rb + cb.x], b4[rb + cb.y]);
        c0 = axpy_rows8(c0, subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), brow);
        c1 = axpy_rows8(c1, subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u), brow);
        c2 = axpy_rows8(c2, subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), brow);
        c3 = axpy_rows8(c3, subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u), brow);
    }
    store_tile(row0, col0, c0, c1, c2, c3);
}
