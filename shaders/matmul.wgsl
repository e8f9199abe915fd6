// Row-major f32 matrix products; out is (m, n) and k is the contraction length.
//   matmul     a (m,k), b (k,n)    torch: a @ b
//   matmul_at  a (k,m), b (k,n)    torch: a.T @ b        (weight gradients)
//   matmul_bt  a (m,k), b (n,k)    torch: F.linear(a, b) (forward of a Linear with weight b)
//   each binds a(1) b(2) out(3) bias(4); bias (n) is added when flags has HAS_BIAS
//   bias_grad  dy (m,n) -> db (n)         torch: dy.sum(0)
// Strategy: no workgroup memory and no barriers (barriers are slow on CPU-backed drivers such as
// lavapipe). Each invocation owns a 4x4 register tile; loads are clamped in bounds and stores
// masked, so any shape works. flags: 1 = add bias, 2 = accumulate into out.
// Assumes buffer lengths match m, n, k (checked on the host).

struct Params { m: u32, n: u32, k: u32, flags: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;

// A (i, kk) lives at i * a_rs + kk * a_cs; B (kk, j) at kk * b_rs + j * b_cs.
fn tile_product(row0: u32, col0: u32, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32) {
    var ar: vec4<u32>;
    var bc: vec4<u32>;
    for (var i = 0u; i < 4u; i++) {
        ar[i] = min(row0 + i, p.m - 1u) * a_rs;
        bc[i] = min(col0 + i, p.n - 1u) * b_cs;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < p.k; kk++) {
        let ao = kk * a_cs;
        let bo = kk * b_rs;
        let av = vec4<f32>(a[ar.x + ao], a[ar.y + ao], a[ar.z + ao], a[ar.w + ao]);
        let bv = vec4<f32>(b[bo + bc.x], b[bo + bc.y], b[bo + bc.z], b[bo + bc.w]);
        acc[0] += av.x * bv;
        acc[1] += av.y * bv;
        acc[2] += av.z * bv;
        acc[3] += av.w * bv;
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + i;
        if row >= p.m {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + j;
            if col >= p.n {
                break;
            }
            var v = acc[i][j];
            if (p.flags & HAS_BIAS) != 0u {
                v += bias[col];
            }
            let o = row * p.n + col;
            if (p.flags & ACCUMULATE) != 0u {
                v += out[o];
            }
            out[o] = v;
        }
    }
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
