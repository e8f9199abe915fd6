// Transposed 2-D convolution on NCHW row-major f32: x (N, C_in, H, W), w (C_in, C_out, KH, KW)
// (PyTorch's ConvTranspose2d layout), y (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 pad
// + KH + output_padding (W_out likewise). Input (iy, ix) reaches output (oy, ox) through tap
// (ky, kx) when oy = iy * stride - pad + ky. The kernels read H_out from the params and clip
// every tap range to it, so the output_padding rows at the bottom and right need no code of
// their own.
//   conv_transpose2d_forward      x(1) w(2) bias(3) -> y(4)
//                                 torch: F.conv_transpose2d(x, w, bias, stride, padding, output_padding)
//   conv_transpose2d_input_grad   dy(1) w(2) -> dx(4)   the autograd gradient wrt x
//   conv_transpose2d_weight_grad  x(1) dy(2) -> dw(4)   the autograd gradient wrt w
//   the bias gradient is conv2d_bias_grad in conv2d.wgsl
// Strategy: no workgroup memory, barriers or atomics. One invocation per output element loops
// over its terms in a fixed order (forward ci, ky, kx; input grad co, ky, kx; weight grad b, iy,
// ix), so results are deterministic. The linear index is rebuilt from a 2-D grid when the count
// exceeds 65,535 workgroups. flags: 1 = add bias, 2 = accumulate into dw.
// Assumes lengths match the params (checked on the host by ops::conv).

// Params, bindings, index(), taps() and reach() are appended from conv_common.wgsl.

// x at 1, w at 2. Only every stride-th tap, starting at (oy + pad) % stride, reaches (oy, ox).
@compute @workgroup_size(64)
fn conv_transpose2d_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let plane = p.h_out * p.w_out;
    if i >= p.n * p.c_out * plane { return; }
    let ox = i % p.w_out;
    let oy = (i / p.w_out) % p.h_out;
    let co = (i / plane) % p.c_out;
    let b = i / (plane * p.c_out);
    let ty = oy + p.pad;
    let tx = ox + p.pad;
    let ky_end = min(p.kh, ty + 1u);
    let kx_end = min(p.kw, tx + 1u);
    var acc = 0.0;
    for (var ci = 0u; ci < p.c_in; ci++) {
        let x_plane = (b * p.c_in + ci) * p.h;
        let w_plane = (ci * p.c_out + co) * p.kh;
        for (var ky = ty % p.stride; ky < ky_end; ky += p.stride) {
            let iy = (ty - ky) / p.stride;
            if iy >= p.h { continue; }
            let x_row = (x_plane + iy) * p.w;
            let w_row = (w_plane + ky) * p.kw;
            for (var kx = tx % p.stride; kx < kx_end; kx += p.stride) {
                let ix = (tx - kx) / p.stride;
                if ix >= p.w { continue; }
                acc += in_a[x_row + ix] * in_b[w_row + kx];
            }
        }
    }
    if (p.flags & HAS_BIAS) != 0u {
        acc += bias[co];
    }
    out[i] = acc;
}

// dy at 1, w at 2: dx (b, ci, iy, ix) gathers dy over the taps that input pixel fed.
@compute @workgroup_size(64)
fn conv_transpose2d_input_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let plane = p.h * p.w;
    if i >= p.n * p.c_in * plane { return; }
    let ix = i % p.w;
    let iy = (i / p.w) % p.h;
    let ci = (i / plane) % p.c_in;
    let b = i / (plane * p.c_in);
    let y0 = i32(iy * p.stride) - i32(p.pad);
    let x0 = i32(ix * p.stride) - i32(p.pad);
    let ty = taps(y0, p.kh, p.h_out);
    let tx = taps(x0, p.kw, p.w_out);
    var acc = 0.0;
    for (var co = 0u; co < p.c_out; co++) {
        let dy_plane = (b * p.c_out + co) * p.h_out;
        let w_plane = (ci * p.c_out + co) * p.kh;
        for (var ky = ty.x; ky < ty.y; ky++) {
            let dy_row = (dy_plane + u32(y0 + i32(ky))) * p.w_out;
            let w_row = (w_plane + ky) * p.kw;
            for (var kx = tx.x; kx < tx.y; kx++) {
                acc += in_a[dy_row + u32(x0 + i32(kx))] * in_b[w_row + kx];
            }
        }
    }
    out[i] = acc;
}

// x at 1, dy at 2. One invocation per weight (ci, co, ky, kx).
@compute @workgroup_size(64)
fn conv_transpose2d_weight_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let taps_n = p.kh * p.kw;
    if i >= p.c_in * p.c_out * taps_n { return; }
    let kx = i % p.kw;
    let ky = (i / p.kw) % p.kh;
    let co = (i / taps_n) % p.c_out;
    let ci = i / (taps_n * p.c_out);
    let ry = reach(ky, p.h_out, p.h);
    let rx = reach(kx, p.w_out, p.w);
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        let x_plane = (b * p.c_in + ci) * p.h;
        let dy_plane = (b * p.c_out + co) * p.h_out;
        for (var iy = ry.x; iy < ry.y; iy++) {
            let x_row = (x_plane + iy) * p.w;
            let dy_row = (dy_plane + iy * p.stride + ky - p.pad) * p.w_out;
            for (var ix = rx.x; ix < rx.y; ix++) {
                acc += in_a[x_row + ix] * in_b[dy_row + ix * p.stride + kx - p.pad];
            }
        }
    }
    if (p.flags & ACCUMULATE) != 0u {
        acc += out[i];
    }
    out[i] = acc;
}
