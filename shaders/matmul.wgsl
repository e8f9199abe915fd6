// Row-major f32 matrix products; out is (m, n) and k is the contraction length.
//   matmul     a (m,k), b (k,n)    torch: a @ b
//   matmul_at  a (k,m), b (k,n)    torch: a.T @ b        (weight gradients)
//   matmul_bt  a (m,k), b (n,k)    torch: F.linear(a, b) (forward of a Linear with weight b)
//   each binds a(1) b(2) out(3) bias(4); bias (n) is added when flags has HAS_BIAS
//   <op>_vec4  the same products reading and writing whole vec4s; src/ops/tiling.rs picks them
//              when the row lengths they split into vec4s (see each) are multiples of 4, and
//              devices with subgroups run matmul_subgroup.wgsl's twins instead (gpu::variants)
//   bias_grad  dy (m,n) -> db (n)         torch: dy.sum(0)
// Strategy: no workgroup memory and no barriers (barriers are slow on CPU-backed drivers such as
// lavapipe). Each invocation owns a register tile, 4x4 in the general kernels and 16x16 in the
// vec4 ones; loads are clamped in bounds and stores masked, so any shape works. For llvmpipe,
// which runs 8 invocations along x per SIMD step and loops over lanes for every load and store
// instruction: x is a multiple of 8, loads are vec4 where possible, and hot loops over constants
// are written out (it does not unroll them, and dynamic indexing moves an array out of registers).
// flags: 1 = add bias, 2 = accumulate into out. Assumes buffer lengths match m, n, k.

struct Params { m: u32, n: u32, k: u32, flags: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// The same bindings as vec4s, for the _vec4 entry points (each entry point uses one view).
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;

// ---- general kernels: 4x4 outputs per invocation, scalar loads ----

// out[row, col..col+4] (those < n) = v (+ bias) (+ out).
fn store_row4(row: u32, col: u32, v: vec4<f32>) {
    if row >= p.m {
        return;
    }
    for (var j = 0u; j < 4u && col + j < p.n; j++) {
        var r = v[j];
        if (p.flags & HAS_BIAS) != 0u {
            r += bias[col + j];
        }
        let o = row * p.n + col + j;
        if (p.flags & ACCUMULATE) != 0u {
            r += out[o];
        }
        out[o] = r;
    }
}

// A (i, kk) lives at i * a_rs + kk * a_cs; B (kk, j) at kk * b_rs + j * b_cs (product4x4.wgsl).
fn tile_product(row0: u32, col0: u32, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32) {
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let v = product4x4(row0, col0, a_rs, a_cs, b_rs, b_cs);
    store_row4(row0, col0, v.r0);
    store_row4(row0 + 1u, col0, v.r1);
    store_row4(row0 + 2u, col0, v.r2);
    store_row4(row0 + 3u, col0, v.r3);
}

@compute @workgroup_size(8, 8)
fn matmul(@builtin(global_invocation_id) gid: vec3<u32>) {
    tile_product(gid.y * 4u, gid.x * 4u, p.k, 1u, p.n, 1u);
}

@compute @workgroup_size(8, 8)
fn matmul_at(@builtin(global_invocation_id) gid: vec3<u32>) {
    tile_product(gid.y * 4u, gid.x * 4u, 1u, p.m, p.n, 1u);
}

@compute @workgroup_size(8, 8)
fn matmul_bt(@builtin(global_invocation_id) gid: vec3<u32>) {
    tile_product(gid.y * 4u, gid.x * 4u, p.k, 1u, 1u, p.k);
}

// ---- vec4 kernels: 16x16 outputs per invocation, vec4 loads and stores ----

alias Row16 = array<vec4<f32>, 4>;
alias Rows8 = array<Row16, 8>;

// acc + Σ_t coef[t] * m[t]: one output row of a 4x4 block product.
fn mad4(acc: vec4<f32>, coef: vec4<f32>, m: mat4x4<f32>) -> vec4<f32> {
    let r = fma(vec4(coef.y), m[1], fma(vec4(coef.x), m[0], acc));
    return fma(vec4(coef.w), m[3], fma(vec4(coef.z), m[2], r));
}

// acc[g] + Σ_t coef[t] * m_g[t] over the four column groups g.
fn mad_row(
    acc: Row16, coef: vec4<f32>, m0: mat4x4<f32>, m1: mat4x4<f32>, m2: mat4x4<f32>, m3: mat4x4<f32>
) -> Row16 {
    return Row16(
        mad4(acc[0], coef, m0), mad4(acc[1], coef, m1), mad4(acc[2], coef, m2), mad4(acc[3], coef, m3)
    );
}

// Eight output rows: row r takes coefficients a4[ra[r] + kk] (four k values of a's row r).
fn mad_rows8(
    acc: Rows8, ra0: vec4<u32>, ra1: vec4<u32>, kk: u32,
    m0: mat4x4<f32>, m1: mat4x4<f32>, m2: mat4x4<f32>, m3: mat4x4<f32>
) -> Rows8 {
    return Rows8(
        mad_row(acc[0], a4[ra0.x + kk], m0, m1, m2, m3),
        mad_row(acc[1], a4[ra0.y + kk], m0, m1, m2, m3),
        mad_row(acc[2], a4[ra0.z + kk], m0, m1, m2, m3),
        mad_row(acc[3], a4[ra0.w + kk], m0, m1, m2, m3),
        mad_row(acc[4], a4[ra1.x + kk], m0, m1, m2, m3),
        mad_row(acc[5], a4[ra1.y + kk], m0, m1, m2, m3),
        mad_row(acc[6], a4[ra1.z + kk], m0, m1, m2, m3),
        mad_row(acc[7], a4[ra1.w + kk], m0, m1, m2, m3),
    );
}

// acc + s * row.
fn axpy_row(acc: Row16, s: f32, row: Row16) -> Row16 {
    let v = vec4(s);
    return Row16(
        fma(v, row[0], acc[0]), fma(v, row[1], acc[1]), fma(v, row[2], acc[2]), fma(v, row[3], acc[3])
    );
}

// Eight output rows: row r gets s[r] * row, with s the eight values of lo then hi.
fn axpy_rows8(acc: Rows8, lo: vec4<f32>, hi: vec4<f32>, row: Row16) -> Rows8 {
    return Rows8(
        axpy_row(acc[0], lo.x, row),
        axpy_row(acc[1], lo.y, row),
        axpy_row(acc[2], lo.z, row),
        axpy_row(acc[3], lo.w, row),
        axpy_row(acc[4], hi.x, row),
        axpy_row(acc[5], hi.y, row),
        axpy_row(acc[6], hi.z, row),
        axpy_row(acc[7], hi.w, row),
    );
}

// Offsets of rows first..first+3 (clamped to last) of a matrix whose rows are `stride` vec4s.
fn rows4(first: u32, last: u32, stride: u32) -> vec4<u32> {
    return min(vec4(first) + vec4(0u, 1u, 2u, 3u), vec4(last)) * stride;
}

// Four consecutive vec4 indices from first, clamped to last.
fn cols4(first: u32, last: u32) -> vec4<u32> {
    return min(vec4(first) + vec4(0u, 1u, 2u, 3u), vec4(last));
}

// bias[col0 .. col0 + 16] (zeros past n or without HAS_BIAS).
fn bias16(col0: u32) -> Row16 {
    var r: Row16;
    if (p.flags & HAS_BIAS) != 0u {
        for (var j = 0u; j < 16u; j++) {
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

fn store_row16(row: u32, col0: u32, v: Row16, bias_row: Row16) {
    if row >= p.m {
        return;
    }
    store4(row, col0, v[0] + bias_row[0]);
    store4(row, col0 + 4u, v[1] + bias_row[1]);
    store4(row, col0 + 8u, v[2] + bias_row[2]);
    store4(row, col0 + 12u, v[3] + bias_row[3]);
}

// Rows row0 .. row0+16 (lo then hi) of columns col0 .. col0+16, masked to m and n.
fn store_16x16(row0: u32, col0: u32, lo: Rows8, hi: Rows8) {
    let bias_row = bias16(col0);
    store_row16(row0, col0, lo[0], bias_row);
    store_row16(row0 + 1u, col0, lo[1], bias_row);
    store_row16(row0 + 2u, col0, lo[2], bias_row);
    store_row16(row0 + 3u, col0, lo[3], bias_row);
    store_row16(row0 + 4u, col0, lo[4], bias_row);
    store_row16(row0 + 5u, col0, lo[5], bias_row);
    store_row16(row0 + 6u, col0, lo[6], bias_row);
    store_row16(row0 + 7u, col0, lo[7], bias_row);
    store_row16(row0 + 8u, col0, hi[0], bias_row);
    store_row16(row0 + 9u, col0, hi[1], bias_row);
    store_row16(row0 + 10u, col0, hi[2], bias_row);
    store_row16(row0 + 11u, col0, hi[3], bias_row);
    store_row16(row0 + 12u, col0, hi[4], bias_row);
    store_row16(row0 + 13u, col0, hi[5], bias_row);
    store_row16(row0 + 14u, col0, hi[6], bias_row);
    store_row16(row0 + 15u, col0, hi[7], bias_row);
}

// A workgroup of 8 invocations covers 32 rows x 64 columns; invocation i owns the 16x16 tile at
// rows 16 (i % 2), columns 16 (i / 2). Returns (row0, col0).
fn tile_origin(wg: vec3<u32>, i: u32) -> vec2<u32> {
    return vec2(wg.y * 32u + (i % 2u) * 16u, wg.x * 64u + (i / 2u) * 16u);
}

// a (m,k) · b (n,k)ᵀ, with k and n multiples of 4.
@compute @workgroup_size(8)
fn matmul_bt_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) i: u32) {
    let origin = tile_origin(wg, i);
    let row0 = origin.x;
    let col0 = origin.y;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let k4 = p.k / 4u;
    let ra0 = rows4(row0, p.m - 1u, k4);
    let ra1 = rows4(row0 + 4u, p.m - 1u, k4);
    let ra2 = rows4(row0 + 8u, p.m - 1u, k4);
    let ra3 = rows4(row0 + 12u, p.m - 1u, k4);
    let rb0 = rows4(col0, p.n - 1u, k4);
    let rb1 = rows4(col0 + 4u, p.n - 1u, k4);
    let rb2 = rows4(col0 + 8u, p.n - 1u, k4);
    let rb3 = rows4(col0 + 12u, p.n - 1u, k4);
    var lo: Rows8;
    var hi: Rows8;
    for (var kk = 0u; kk < k4; kk++) {
        // Column t of m_g: element 4 kk + t of b's rows col0 + 4g .. +4.
        let m0 = transpose(mat4x4(b4[rb0.x + kk], b4[rb0.y + kk], b4[rb0.z + kk], b4[rb0.w + kk]));
        let m1 = transpose(mat4x4(b4[rb1.x + kk], b4[rb1.y + kk], b4[rb1.z + kk], b4[rb1.w + kk]));
        let m2 = transpose(mat4x4(b4[rb2.x + kk], b4[rb2.y + kk], b4[rb2.z + kk], b4[rb2.w + kk]));
        let m3 = transpose(mat4x4(b4[rb3.x + kk], b4[rb3.y + kk], b4[rb3.z + kk], b4[rb3.w + kk]));
        lo = mad_rows8(lo, ra0, ra1, kk, m0, m1, m2, m3);
        hi = mad_rows8(hi, ra2, ra3, kk, m0, m1, m2, m3);
    }
    store_16x16(row0, col0, lo, hi);
}

// a (m,k) · b (k,n), with k and n multiples of 4.
@compute @workgroup_size(8)
fn matmul_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) i: u32) {
    let origin = tile_origin(wg, i);
    let row0 = origin.x;
    let col0 = origin.y;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    let k4 = p.k / 4u;
    let n4 = p.n / 4u;
    let ra0 = rows4(row0, p.m - 1u, k4);
    let ra1 = rows4(row0 + 4u, p.m - 1u, k4);
    let ra2 = rows4(row0 + 8u, p.m - 1u, k4);
    let ra3 = rows4(row0 + 12u, p.m - 1u, k4);
    let cb = cols4(col0 / 4u, n4 - 1u);
    var lo: Rows8;
    var hi: Rows8;
    for (var kk = 0u; kk < k4; kk++) {
        // Column t of m_g: row 4 kk + t of b, columns col0 + 4g .. +4.
        let r0 = 4u * kk * n4;
        let r1 = r0 + n4;
        let r2 = r1 + n4;
        let r3 = r2 + n4;
        let m0 = mat4x4(b4[r0 + cb.x], b4[r1 + cb.x], b4[r2 + cb.x], b4[r3 + cb.x]);
        let m1 = mat4x4(b4[r0 + cb.y], b4[r1 + cb.y], b4[r2 + cb.y], b4[r3 + cb.y]);
        let m2 = mat4x4(b4[r0 + cb.z], b4[r1 + cb.z], b4[r2 + cb.z], b4[r3 + cb.z]);
        let m3 = mat4x4(b4[r0 + cb.w], b4[r1 + cb.w], b4[r2 + cb.w], b4[r3 + cb.w]);
        lo = mad_rows8(lo, ra0, ra1, kk, m0, m1, m2, m3);
        hi = mad_rows8(hi, ra2, ra3, kk, m0, m1, m2, m3);
    }
    store_16x16(row0, col0, lo, hi);
}

// a (k,m)ᵀ · b (k,n), with m and n multiples of 4; any k.
@compute @workgroup_size(8)
fn matmul_at_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) i: u32) {
    let origin = tile_origin(wg, i);
    let row0 = origin.x;
    let col0 = origin.y;
    if row0 >= p.m || col0 >= p.n {
        return;
    }
    // Row kk of a holds this tile's 16 output rows as the vec4s at ca, row kk of b its columns at cb.
    let m4 = p.m / 4u;
    let n4 = p.n / 4u;
    let ca = cols4(row0 / 4u, m4 - 1u);
    let cb = cols4(col0 / 4u, n4 - 1u);
    var lo: Rows8;
    var hi: Rows8;
    for (var kk = 0u; kk < p.k; kk++) {
        let ra = kk * m4;
        let rb = kk * n4;
        let brow = Row16(b4[rb + cb.x], b4[rb + cb.y], b4[rb + cb.z], b4[rb + cb.w]);
        lo = axpy_rows8(lo, a4[ra + ca.x], a4[ra + ca.y], brow);
        hi = axpy_rows8(hi, a4[ra + ca.z], a4[ra + ca.w], brow);
    }
    store_16x16(row0, col0, lo, hi);
}

// dy is bound at 1 and db at 3. One invocation per column; rows summed in order so the result is deterministic.
@compute @workgroup_size(64)
fn bias_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.n {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.m; i++) {
        s += a[i * p.n + j];
    }
    if (p.flags & ACCUMULATE) != 0u {
        s += out[j];
    }
    out[j] = s;
}
