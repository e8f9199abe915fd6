// The reshapes that lower conv2d and conv_transpose2d to the engine's matmul (ops::conv), NCHW
// row-major f32 with conv2d.wgsl's Params and geometry: x (N, C_in, H, W), y (N, C_out, H_out,
// W_out), K = C_in·KH·KW, P = H_out·W_out, cols (K, N·P), a channel-major y_t (C_out, N·P).
//   im2col        x(1) -> cols(3)           cols[(ci, ky, kx), (b, oy, ox)] =
//                                           x[b, ci, oy·stride + ky - pad, ox·stride + kx - pad]
//                                           (0 in the padding); torch: F.unfold, batch-major
//   col2im        cols(1) bias(2) -> x(3)   its adjoint (F.fold) (+ bias[ci])
//   nchw_to_cnhw  y(1) -> y_t(3)            y.transpose(0, 1)
//   cnhw_to_nchw  y_t(1) bias(2) -> y(3)    y_t.transpose(0, 1) (+ bias[c])
// Strategy: each invocation writes one output row (W_out or W words), so index arithmetic and
// integer division (lavapipe runs those one lane at a time) are paid per row, not per element.
// No workgroup memory or atomics: col2im gathers each element's terms in a fixed (ky, kx) order.
// flags: 1 = add bias.
// Assumes lengths match the params and the grid covers them (checked on the host by ops::conv).

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, h_out: u32, w_out: u32,
    kh: u32, kw: u32, stride: u32, pad: u32, flags: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const HAS_BIAS: u32 = 1u;

// gid.x = b·H_out + oy, gid.y = (ci, ky, kx): one row of W_out columns per invocation.
@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= p.n * p.h_out { return; }
    let k = gid.y;
    let taps = p.kh * p.kw;
    let ci = k / taps;
    let ky = (k - ci * taps) / p.kw;
    let kx = k - ci * taps - ky * p.kw;
    let b = r / p.h_out;
    let iy = i32((r - b * p.h_out) * p.stride + ky) - i32(p.pad);
    let row_inside = iy >= 0 && iy < i32(p.h);
    let x_row = ((b * p.c_in + ci) * p.h + u32(max(iy, 0))) * p.w;
    // cols[k, b·P + oy·W_out + ox] = cols[k·N·P + r·W_out + ox]
    let at = k * p.n * p.h_out * p.w_out + r * p.w_out;
    var ix = i32(kx) - i32(p.pad);
    for (var ox = 0u; ox < p.w_out; ox++) {
        var v = 0.0;
        if row_inside && ix >= 0 && ix < i32(p.w) {
            v = src[x_row + u32(ix)];
        }
        dst[at + ox] = v;
        ix += i32(p.stride);
    }
}

// gid.x = b·H + iy, gid.y = ci: one row of W outputs per invocation. Output (iy, ix) saw only
// every stride-th tap, from ky0 = (iy + pad) % stride, through output oy = (iy + pad - ky) /
// stride; both are stepped instead of divided (and likewise kx0, ox0 as ix grows).
@compute @workgroup_size(64)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= p.n * p.h { return; }
    let ci = gid.y;
    let b = r / p.h;
    let ty = r - b * p.h + p.pad;
    let ky0 = ty % p.stride;
    let oy0 = ty / p.stride;
    let ky_end = min(p.kh, ty + 1u);
    let y_plane = p.h_out * p.w_out;
    let cols = p.n * y_plane;
    let base = b * y_plane;
    let out_row = ((b * p.c_in + ci) * p.h + r - b * p.h) * p.w;
    var kx0 = p.pad % p.stride;
    var ox0 = p.pad / p.stride;
    for (var ix = 0u; ix < p.w; ix++) {
        let kx_end = min(p.kw, ix + p.pad + 1u);
        var acc = 0.0;
        var oy = oy0;
        for (var ky = ky0; ky < ky_end; ky += p.stride) {
            if oy < p.h_out {
                let row = (ci * p.kh + ky) * p.kw;
                let at = base + oy * p.w_out;
                var ox = ox0;
                for (var kx = kx0; kx < kx_end; kx += p.stride) {
                    if ox < p.w_out {
                        acc += src[(row + kx) * cols + at + ox];
                    }
                    ox -= 1u;
                }
            }
            oy -= 1u;
        }
        if (p.flags & HAS_BIAS) != 0u {
            acc += bias[ci];
        }
        dst[out_row + ix] = acc;
        kx0 += 1u;
        if kx0 == p.stride {
            kx0 = 0u;
            ox0 += 1u;
        }
    }
}

// gid.x = b·H_out + oy, gid.y = c: one row of W_out elements per invocation.
@compute @workgroup_size(64)
fn nchw_to_cnhw(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= p.n * p.h_out { return; }
    let c = gid.y;
    let b = r / p.h_out;
    let at_src = ((b * p.c_out + c) * p.h_out + r - b * p.h_out) * p.w_out;
    let at_dst = (c * p.n * p.h_out + r) * p.w_out;
    for (var ox = 0u; ox < p.w_out; ox++) {
        dst[at_dst + ox] = src[at_src + ox];
    }
}

// gid.x = b·H_out + oy, gid.y = c: one row of W_out elements per invocation.
@compute @workgroup_size(64)
fn cnhw_to_nchw(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if r >= p.n * p.h_out { return; }
    let c = gid.y;
    let b = r / p.h_out;
    let at_src = (c * p.n * p.h_out + r) * p.w_out;
    let at_dst = ((b * p.c_out + c) * p.h_out + r - b * p.h_out) * p.w_out;
    if (p.flags & HAS_BIAS) != 0u {
        let bv = bias[c];
        for (var ox = 0u; ox < p.w_out; ox++) {
            dst[at_dst + ox] = src[at_src + ox] + bv;
        }
    } else {
        for (var ox = 0u; ox < p.w_out; ox++) {
            dst[at_dst + ox] = src[at_src + ox];
        }
    }
}
