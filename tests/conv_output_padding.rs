//! conv_transpose2d with output_padding (CycleGAN's k3 s2 p1 output_padding 1) on both conv
//! paths: the GPU against the CPU twins, the forward against a scatter written from PyTorch's
//! definition, and the backward against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use wgpu_gan::ops::conv::{self, direct};
use wgpu_gan::program::{Program, View};

fn geometry(
    n: usize,
    c_in: usize,
    (h, w): (usize, usize),
    c_out: usize,
    k: usize,
    op: usize,
) -> ConvTranspose2dGeometry {
    ConvTranspose2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh: k,
        kw: k,
        stride: 2,
        pad: 1,
        output_padding: op,
    }
}

fn shapes() -> Vec<ConvTranspose2dGeometry> {
    vec![
        geometry(2, 4, (2, 2), 2, 3, 1), // the golden CycleGAN's up0: 2x2 -> 4x4
        geometry(3, 8, (7, 7), 4, 3, 1), // 28x28 CycleGAN: 7 -> 14
        geometry(1, 2, (3, 5), 3, 4, 1), // k4, rectangular
    ]
}

struct Case {
    prog: Program,
    x: View,
    w: View,
    b: View,
    y: View,
    dy: View,
    dx: View,
    dw: View,
}

/// Forward (with bias), input grad and weight grad, on the direct kernels or the lowering.
fn case(g: ConvTranspose2dGeometry, lowered: bool) -> Case {
    let mut prog = Program::new();
    let (x, w) = (prog.tensor("x", g.x_len()), prog.tensor("w", g.w_len()));
    let (b, y) = (prog.tensor("b", g.c_out), prog.tensor("y", g.y_len()));
    let (dy, dx) = (prog.tensor("dy", g.y_len()), prog.tensor("dx", g.x_len()));
    let dw = prog.tensor("dw", g.w_len());
    let p = &mut prog;
    if lowered {
        assert!(conv::conv_transpose2d_is_lowered(g));
        conv::conv_transpose2d_forward(p, g, x, w, Some(b), y, "up").unwrap();
        conv::conv_transpose2d_input_grad(p, g, dy, w, dx, "up dx").unwrap();
        conv::conv_transpose2d_weight_grad(p, g, x, dy, dw, 0, "up dw").unwrap();
    } else {
        direct::conv_transpose2d_forward(p, g, x, w, Some(b), y, "up").unwrap();
        direct::conv_transpose2d_input_grad(p, g, dy, w, dx, "up dx").unwrap();
        direct::conv_transpose2d_weight_grad(p, g, x, dy, dw, 0, "up dw").unwrap();
    }
    Case {
        prog,
        x,
        w,
        b,
        y,
        dy,
        dx,
        dw,
    }
}

fn inputs(c: &Case) -> Vec<(View, Vec<u32>)> {
    [c.x, c.w, c.b, c.dy]
        .iter()
        .zip(30..)
        .map(|(&v, seed)| (v, bits(&rand_vec(v.len, seed, -1.0, 1.0))))
        .collect()
}

/// PyTorch's definition as a scatter: x[b, ci, iy, ix] · w[ci, co, ky, kx] lands on
/// y[b, co, iy·s - p + ky, ix·s - p + kx] when that is inside the (output-padded) map.
fn scatter(g: &ConvTranspose2dGeometry, x: &[f32], w: &[f32], bias: &[f32]) -> Vec<f32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut y = vec![0.0f64; g.y_len()];
    for b in 0..g.n {
        for co in 0..g.c_out {
            for i in 0..oh * ow {
                y[(b * g.c_out + co) * oh * ow + i] = bias[co] as f64;
            }
        }
        for ci in 0..g.c_in {
            for iy in 0..g.h {
                for ix in 0..g.w {
                    let xv = x[((b * g.c_in + ci) * g.h + iy) * g.w + ix] as f64;
                    for co in 0..g.c_out {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let oy = (iy * g.stride + ky) as isize - g.pad as isize;
                                let ox = (ix * g.stride + kx) as isize - g.pad as isize;
                                if oy < 0 || ox < 0 || oy as usize >= oh || ox as usize >= ow {
                                    continue;
                                }
                                let wv = w[((ci * g.c_out + co) * g.kh + ky) * g.kw + kx] as f64;
                                let o = ((b * g.c_out + co) * oh + oy as usize) * ow + ox as usize;
                                y[o] += xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

#[test]
fn output_padding_doubles_the_side_as_pytorch_does() {
    let g = geometry(1, 1, (7, 7), 1, 3, 1);
    assert_eq!((g.out_h(), g.out_w()), (14, 14));
    let g0 = ConvTranspose2dGeometry {
        output_padding: 0,
        ..g
    };
    assert_eq!(g0.out_h(), 13, "existing geometries keep output_padding 0");
    let bad = ConvTranspose2dGeometry {
        output_padding: 2,
        ..g
    };
    assert!(bad.validate().unwrap_err().contains("output_padding 2"));
}

#[test]
fn conv_transpose2d_with_output_padding_gpu_matches_cpu() {
    for g in shapes() {
        for lowered in [false, true] {
            let c = case(g, lowered);
            let outs = [("y", c.y), ("dx", c.dx), ("dw", c.dw)];
            gpu_matches_cpu(&c.prog, &inputs(&c), &outs, 1e-5, 1e-4);
        }
    }
}

#[test]
fn conv_transpose2d_with_output_padding_matches_pytorchs_definition() {
    for g in shapes() {
        for lowered in [false, true] {
            let c = case(g, lowered);
            let ins = inputs(&c);
            let got = floats(&run_cpu(&c.prog, &ins, &[c.y])[0]);
            let (x, w, b) = (floats(&ins[0].1), floats(&ins[1].1), floats(&ins[2].1));
            let what = format!("{g:?} lowered={lowered}");
            assert_close(&what, &got, &scatter(&g, &x, &w, &b), 1e-5, 1e-5);
        }
    }
}

#[test]
fn conv_transpose2d_with_output_padding_backward_matches_finite_differences() {
    let g = geometry(2, 2, (3, 3), 2, 3, 1);
    for lowered in [false, true] {
        let c = case(g, lowered);
        let ins = inputs(&c);
        let r = floats(&ins[3].1);
        let out = run_cpu(&c.prog, &ins, &[c.dx, c.dw]);
        let with = |view: View, data: &[f32]| {
            let mut i = ins.clone();
            i.retain(|(v, _)| *v != view);
            i.push((view, bits(data)));
            floats(&run_cpu(&c.prog, &i, &[c.y])[0])
        };
        let (x0, w0) = (floats(&ins[0].1), floats(&ins[1].1));
        gradcheck("dx", |x| with(c.x, x), &x0, &r, &floats(&out[0]));
        gradcheck("dw", |w| with(c.w, w), &w0, &r, &floats(&out[1]));
    }
}
