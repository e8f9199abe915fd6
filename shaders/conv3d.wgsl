// The reshapes that lower conv3d to the engine's matmul (ops::conv3d), row-major f32:
// x (N, C_in, T, H, W), w (C_out, C_in, K, K, K), K3 = C_in·K³, P = T_out·H_out·W_out,
// cols (K3, N·P). torch: nn.Conv3d(c_in, c_out, k, stride, padding) with zero padding.
//   im2col3d  x(1) -> cols(3)          cols[(ci, kt, ky, kx), (b, ot, oy, ox)] =
//                                      x[b, ci, ot·s + kt - pad, oy·s + ky - pad, ox·s + kx - pad]
//                                      (0 in the padding)
//   col2im3d  cols(1) bias(2) -> x(3)  its adjoint (+ bias[ci] with flags & 1)
// The channel transposes around the matmul are im2col.wgsl's, on a flattened (T_out·H_out)
// geometry. Strategy: one invocation per output element, 64 to a workgroup, the grid split over
// y past 65,535 groups. No atomics: col2im3d gathers each element's terms in (kt, ky, kx) order.
// Assumes lengths match the params (checked on the host by ops::conv3d).

struct Params {
    n: u32, c_in: u32, t: u32, h: u32,
    w: u32, c_out: u32, t_out: u32, h_out: u32,
    w_out: u32, k: u32, stride: u32, pad: u32,
    flags: u32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const HAS_BIAS: u32 = 1u;

// Input coordinate of output o under tap kk, or -1 in the padding.
fn tap(o: u32, kk: u32, size: u32) -> i32 {
    let i = i32(o * p.stride + kk) - i32(p.pad);
    return select(-1, i, i >= 0 && i < i32(size));
}

@compute @workgroup_size(64)
fn im2col3d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    let plane = p.t_out * p.h_out * p.w_out;
    let np = p.n * plane;
    let taps = p.k * p.k * p.k;
    if i >= p.c_in * taps * np { return; }
    let k3 = i / np;
    let column = i - k3 * np;
    let ci = k3 / taps;
    let t3 = k3 - ci * taps;
    let kt = t3 / (p.k * p.k);
    let ky = (t3 / p.k) % p.k;
    let kx = t3 % p.k;
    let b = column / plane;
    let pos = column - b * plane;
    let ot = pos / (p.h_out * p.w_out);
    let oy = (pos / p.w_out) % p.h_out;
    let ox = pos % p.w_out;
    let it = tap(ot, kt, p.t);
    let iy = tap(oy, ky, p.h);
    let ix = tap(ox, kx, p.w);
    var v = 0.0;
    if it >= 0 && iy >= 0 && ix >= 0 {
        v = src[(((b * p.c_in + ci) * p.t + u32(it)) * p.h + u32(iy)) * p.w + u32(ix)];
    }
    dst[i] = v;
}

// Output coordinate that tap kk of input coordinate i feeds along an axis of `out`, or -1.
fn feeds(i: u32, kk: u32, out: u32) -> i32 {
    let num = i32(i + p.pad) - i32(kk);
    if num < 0 || u32(num) % p.stride != 0u { return -1; }
    let o = u32(num) / p.stride;
    return select(-1, i32(o), o < out);
}

@compute @workgroup_size(64)
fn col2im3d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n * p.c_in * p.t * p.h * p.w { return; }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let it = (i / (p.w * p.h)) % p.t;
    let ci = (i / (p.w * p.h * p.t)) % p.c_in;
    let b = i / (p.w * p.h * p.t * p.c_in);
    let plane = p.t_out * p.h_out * p.w_out;
    let np = p.n * plane;
    var acc = 0.0;
    for (var kt = 0u; kt < p.k; kt++) {
        let ot = feeds(it, kt, p.t_out);
        if ot < 0 { continue; }
        for (var ky = 0u; ky < p.k; ky++) {
            let oy = feeds(iy, ky, p.h_out);
            if oy < 0 { continue; }
            for (var kx = 0u; kx < p.k; kx++) {
                let ox = feeds(ix, kx, p.w_out);
                if ox < 0 { continue; }
                let row = ((ci * p.k + kt) * p.k + ky) * p.k + kx;
                let col = b * plane + (u32(ot) * p.h_out + u32(oy)) * p.w_out + u32(ox);
                acc += src[row * np + col];
            }
        }
    }
    if (p.flags & HAS_BIAS) != 0u {
        acc += bias[ci];
    }
    dst[i] = acc;
}
