// 2-D convolution (cross-correlation) on NCHW row-major f32: x (N, C_in, H, W), w (C_out, C_in,
// KH, KW), y (N, C_out, H_out, W_out), H_out = (H + 2 pad - KH) / stride + 1 (W_out likewise).
//   conv2d_forward      x(1) w(2) bias(3) -> y(4)  torch: F.conv2d(x, w, bias, stride, padding)
//   conv2d_input_grad   dy(1) w(2) -> dx(4)        the autograd gradient wrt x
//   conv2d_weight_grad  x(1) dy(2) -> dw(4)        the autograd gradient wrt w
//   conv2d_bias_grad    dy(1) -> db(4)             dy.sum((0, 2, 3)); conv_transpose2d's too
// Strategy: no workgroup memory, barriers or atomics. One invocation per output element loops
// over its terms in a fixed order (forward ci, ky, kx; input grad co, ky, kx; weight grad b, oy,
// ox; bias grad b, oy, ox), so results are deterministic. The linear index is rebuilt from a 2-D
// grid when the count exceeds 65,535 workgroups. flags: 1 = add bias, 2 = accumulate into dw/db.
// Assumes lengths match the params (checked on the host by ops::conv).

// Params, bindings, index(), taps() and reach() are appended from conv_common.wgsl.

@compute @workgroup_size(64)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let plane = p.h_out * p.w_out;
    if i >= p.n * p.c_out * plane { return; }
    let ox = i % p.w_out;
    let oy = (i / p.w_out) % p.h_out;
    let co = (i / plane) % p.c_out;
    let b = i / (plane * p.c_out);
    let y0 = i32(oy * p.stride) - i32(p.pad);
    let x0 = i32(ox * p.stride) - i32(p.pad);
    let ty = taps(y0, p.kh, p.h);
    let tx = taps(x0, p.kw, p.w);
    var acc = 0.0;
    for (var ci = 0u; ci < p.c_in; ci++) {
        let x_plane = (b * p.c_in + ci) * p.h;
        let w_plane = (co * p.c_in + ci) * p.kh;
        for (var ky = ty.x; ky < ty.y; ky++) {
            let x_row = (x_plane + u32(y0 + i32(ky))) * p.w;
            let w_row = (w_plane + ky) * p.kw;
            for (var kx = tx.x; kx < tx.y; kx++) {
                acc += in_a[x_row + u32(x0 + i32(kx))] * in_b[w_row + kx];
            }
        }
    }
    if (p.flags & HAS_BIAS) != 0u {
        acc += bias[co];
    }
    out[i] = acc;
}

// dy at 1, w at 2. Output (oy, ox) sees input (iy, ix) through tap ky when oy * stride + ky =
// iy + pad, so only every stride-th tap, starting at (iy + pad) % stride, contributes.
@compute @workgroup_size(64)
fn conv2d_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let plane = p.h * p.w;
    if i >= p.n * p.c_in * plane { return; }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let ci = (i / plane) % p.c_in;
    let b = i / (plane * p.c_in);
    let ty = iy + p.pad;
    let tx = ix + p.pad;
    let ky_end = min(p.kh, ty + 1u);
    let kx_end = min(p.kw, tx + 1u);
    // The first contributing taps and their outputs; each further tap is one output back
    // (stepped, not divided: lavapipe runs integer division one lane at a time).
    let ky0 = ty % p.stride;
    let kx0 = tx % p.stride;
    let oy0 = ty / p.stride;
    let ox0 = tx / p.stride;
    var acc = 0.0;
    for (var co = 0u; co < p.c_out; co++) {
        let dy_plane = (b * p.c_out + co) * p.h_out;
        let w_plane = (co * p.c_in + ci) * p.kh;
        var oy = oy0;
        for (var ky = ky0; ky < ky_end; ky += p.stride) {
            if oy < p.h_out {
                let dy_row = (dy_plane + oy) * p.w_out;
                let w_row = (w_plane + ky) * p.kw;
                var ox = ox0;
                for (var kx = kx0; kx < kx_end; kx += p.stride) {
                    if ox < p.w_out {
                        acc += in_a[dy_row + ox] * in_b[w_row + kx];
                    }
                    ox -= 1u;
                }
            }
            oy -= 1u;
        }
    }
    out[i] = acc;
}

// x at 1, dy at 2. One invocation per weight (co, ci, ky, kx).
@compute @workgroup_size(64)
fn conv2d_weight_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let taps_n = p.kh * p.kw;
    if i >= p.c_out * p.c_in * taps_n { return; }
    let kx = i % p.kw;
    let ky = (i / p.kw) % p.kh;
    let ci = (i / taps_n) % p.c_in;
    let co = i / (taps_n * p.c_in);
    let ry = reach(ky, p.h, p.h_out);
    let rx = reach(kx, p.w, p.w_out);
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let x_plane = (b * p.c_in + ci) * p.h;
        let dy_plane = (b * p.c_out + co) * p.h_out;
        for (var oy = ry.x; oy < ry.y; oy++) {
            let x_row = (x_plane + oy * p.stride + ky - p.pad) * p.w;
            let dy_row = (dy_plane + oy) * p.w_out;
            for (var ox = rx.x; ox < rx.y; ox++) {
                acc += in_b[dy_row + ox] * in_a[x_row + ox * p.stride + kx - p.pad];
            }
        }
    }
    if (p.flags & ACCUMULATE) != 0u {
        acc += out[i];
    }
    out[i] = acc;
}

// dy at 1. One invocation per channel; also the bias gradient of conv_transpose2d, whose params
// give dy's shape in the same fields (n, c_out, h_out, w_out).
@compute @workgroup_size(64)
fn conv2d_bias_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let co = index(gid, g);
    if co >= p.c_out { return; }
    let plane = p.h_out * p.w_out;
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let base = (b * p.c_out + co) * plane;
        for (var s = 0u; s < plane; s++) {
            acc += in_a[base + s];
        }
    }
    if (p.flags & ACCUMULATE) != 0u {
        acc += out[co];
    }
    out[co] = acc;
}
