//! conv3d lowered to the matmul kernels: the reshapes of `shaders/conv3d.wgsl` on the GPU
//! against their CPU twins, the forward against nn.Conv3d written one element at a time, and
//! every backward against finite differences on the CPU path.

mod common;

use common::*;
use wgpu_gan::cpu::conv3d::Conv3dGeometry;
use wgpu_gan::ops::conv3d;
use wgpu_gan::program::{Program, View};

/// [n, c_in, t, h, w, c_out, k, stride, pad]: DVD-GAN's k3 p1 and k1 skips, an odd shape with
/// stride 2, padding wider than the kernel reaches.
const SHAPES: &[[usize; 9]] = &[
    [2, 1, 4, 4, 4, 3, 3, 1, 1],
    [1, 3, 3, 5, 4, 2, 1, 1, 0],
    [2, 2, 5, 3, 4, 2, 3, 2, 1],
    [1, 2, 2, 3, 3, 1, 2, 1, 2],
];

fn geometry([n, c_in, t, h, w, c_out, k, stride, pad]: [usize; 9]) -> Conv3dGeometry {
    let g = Conv3dGeometry {
        n,
        c_in,
        t,
        h,
        w,
        c_out,
        k,
        stride,
        pad,
    };
    assert!(g.validate().is_ok(), "{g:?}");
    g
}

/// nn.Conv3d straight from its definition.
fn reference(g: &Conv3dGeometry, x: &[f32], w: &[f32], bias: &[f32]) -> Vec<f32> {
    let (ot, oh, ow) = (g.out_t(), g.out_h(), g.out_w());
    let mut y = vec![0.0f32; g.y_len()];
    let at = |o: usize, k: usize, size: usize| {
        let i = (o * g.stride + k) as i64 - g.pad as i64;
        (0..size as i64).contains(&i).then_some(i as usize)
    };
    for (i, v) in y.iter_mut().enumerate() {
        let (ox, oy, o_t) = (i % ow, (i / ow) % oh, (i / (ow * oh)) % ot);
        let (co, b) = ((i / (ow * oh * ot)) % g.c_out, i / (ow * oh * ot * g.c_out));
        let mut acc = bias[co] as f64;
        for ci in 0..g.c_in {
            for kt in 0..g.k {
                for ky in 0..g.k {
                    for kx in 0..g.k {
                        let (Some(it), Some(iy), Some(ix)) =
                            (at(o_t, kt, g.t), at(oy, ky, g.h), at(ox, kx, g.w))
                        else {
                            continue;
                        };
                        let xi = (((b * g.c_in + ci) * g.t + it) * g.h + iy) * g.w + ix;
                        let wi = (((co * g.c_in + ci) * g.k + kt) * g.k + ky) * g.k + kx;
                        acc += x[xi] as f64 * w[wi] as f64;
                    }
                }
            }
        }
        *v = acc as f32;
    }
    y
}

struct Recorded {
    prog: Program,
    x: View,
    w: View,
    bias: View,
    y: View,
    dy: View,
    dx: View,
    dw: View,
    db: View,
}

/// Forward, input grad, weight grad and bias grad of one geometry, in one program.
fn record(g: Conv3dGeometry) -> Recorded {
    let mut prog = Program::new();
    let x = prog.tensor("x", g.x_len());
    let w = prog.tensor("w", g.w_len());
    let bias = prog.tensor("bias", g.c_out);
    let y = prog.tensor("y", g.y_len());
    let dy = prog.tensor("dy", g.y_len());
    let dx = prog.tensor("dx", g.x_len());
    let dw = prog.tensor("dw", g.w_len());
    let db = prog.tensor("db", g.c_out);
    conv3d::conv3d_forward(&mut prog, g, (x, w, Some(bias)), y, "fwd").unwrap();
    conv3d::conv3d_input_grad(&mut prog, g, dy, w, dx, "dx").unwrap();
    conv3d::conv3d_weight_grad(&mut prog, g, x, dy, dw, 0, "dw").unwrap();
    conv3d::conv3d_bias_grad(&mut prog, g, dy, db, 0, "db").unwrap();
    Recorded {
        prog,
        x,
        w,
        bias,
        y,
        dy,
        dx,
        dw,
        db,
    }
}

fn inputs(r: &Recorded, g: &Conv3dGeometry, seed: u64) -> Vec<(View, Vec<u32>)> {
    vec![
        (r.x, bits(&rand_vec(g.x_len(), seed, -1.0, 1.0))),
        (r.w, bits(&rand_vec(g.w_len(), seed + 1, -0.5, 0.5))),
        (r.bias, bits(&rand_vec(g.c_out, seed + 2, -0.5, 0.5))),
        (r.dy, bits(&rand_vec(g.y_len(), seed + 3, -1.0, 1.0))),
    ]
}

#[test]
fn im2col3d_gpu_matches_cpu() {
    for (s, &dims) in SHAPES.iter().enumerate() {
        let g = geometry(dims);
        let r = record(g);
        let outputs = [("y", r.y), ("dw", r.dw)];
        gpu_matches_cpu(&r.prog, &inputs(&r, &g, s as u64), &outputs, 1e-5, 1e-4);
    }
}

#[test]
fn col2im3d_gpu_matches_cpu() {
    for (s, &dims) in SHAPES.iter().enumerate() {
        let g = geometry(dims);
        let r = record(g);
        let outputs = [("dx", r.dx), ("db", r.db)];
        gpu_matches_cpu(
            &r.prog,
            &inputs(&r, &g, 10 + s as u64),
            &outputs,
            1e-5,
            1e-4,
        );
    }
}

#[test]
fn conv3d_forward_matches_its_definition() {
    for (s, &dims) in SHAPES.iter().enumerate() {
        let g = geometry(dims);
        let r = record(g);
        let ins = inputs(&r, &g, 20 + s as u64);
        let y = floats(&run_cpu(&r.prog, &ins, &[r.y])[0]);
        let want = reference(
            &g,
            &floats(&ins[0].1),
            &floats(&ins[1].1),
            &floats(&ins[2].1),
        );
        assert_close(&format!("{dims:?}"), &y, &want, 1e-5, 1e-4);
    }
}

#[test]
fn conv3d_backward_matches_finite_differences() {
    for (s, &dims) in SHAPES.iter().enumerate() {
        let g = geometry(dims);
        let r = record(g);
        let ins = inputs(&r, &g, 30 + s as u64);
        let out = run_cpu(&r.prog, &ins, &[r.dx, r.dw, r.db]);
        let (x, w, bias, dy) = (
            floats(&ins[0].1),
            floats(&ins[1].1),
            floats(&ins[2].1),
            floats(&ins[3].1),
        );
        let what = format!("{dims:?}");
        gradcheck(
            &format!("{what} dx"),
            |x| reference(&g, x, &w, &bias),
            &x,
            &dy,
            &floats(&out[0]),
        );
        gradcheck(
            &format!("{what} dw"),
            |w| reference(&g, &x, w, &bias),
            &w,
            &dy,
            &floats(&out[1]),
        );
        gradcheck(
            &format!("{what} db"),
            |b| reference(&g, &x, &w, b),
            &bias,
            &dy,
            &floats(&out[2]),
        );
    }
}

#[test]
fn conv3d_rejects_a_kernel_larger_than_the_padded_input() {
    let g = Conv3dGeometry {
        n: 1,
        c_in: 1,
        t: 2,
        h: 4,
        w: 4,
        c_out: 1,
        k: 3,
        stride: 1,
        pad: 0,
    };
    let mut prog = Program::new();
    let (x, w, y) = (
        prog.tensor("x", 32),
        prog.tensor("w", 27),
        prog.tensor("y", 1),
    );
    let err = conv3d::conv3d_forward(&mut prog, g, (x, w, None), y, "c").unwrap_err();
    assert!(err.to_string().contains("leaves no output"), "{err}");
}
