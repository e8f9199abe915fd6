// The 4x4 register-tile product of matmul.wgsl's general kernels and of matmul_direct.wgsl
// (kernels::SHADERS appends this part to both; each declares `p` with m and n, and `a` and `b`
// as arrays of f32): rows row0..row0+4 and columns col0..col0+4 of the product, with A (i, kk)
// at i * a_rs + kk * a_cs and B (kk, j) at kk * b_rs + j * b_cs. Loads are clamped in bounds,
// not branched: rows and columns past m and n repeat the last one, which the caller's stores
// drop.
struct Acc4 { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }

fn product4x4(row0: u32, col0: u32, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32) -> Acc4 {
    let ar = min(vec4(row0) + vec4(0u, 1u, 2u, 3u), vec4(p.m - 1u)) * a_rs;
    let bc = min(vec4(col0) + vec4(0u, 1u, 2u, 3u), vec4(p.n - 1u)) * b_cs;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var kk = 0u; kk < p.k; kk++) {
        let ao = kk * a_cs;
        let bo = kk * b_rs;
        let av = vec4(a[ar.x + ao], a[ar.y + ao], a[ar.z + ao], a[ar.w + ao]);
        let bv = vec4(b[bo + bc.x], b[bo + bc.y], b[bo + bc.z], b[bo + bc.w]);
        acc0 = fma(vec4(av.x), bv, acc0);
        acc1 = fma(vec4(av.y), bv, acc1);
        acc2 = fma(vec4(av.z), bv, acc2);
        acc3 = fma(vec4(av.w), bv, acc3);
    }
    return Acc4(acc0, acc1, acc2, acc3);
}
