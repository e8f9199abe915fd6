//! PReLU on the GPU against its CPU twins, the twins against known values, and the backward
//! (input and slope gradients) against finite differences on the CPU path.

mod common;

use common::*;
use wgpu_gan::cpu::prelu::{PreluParams, ACCUMULATE};
use wgpu_gan::ops;
use wgpu_gan::program::{Program, View};

/// (N, C, HW): single values, a small NCHW map, SRGAN-like widths, and one past 65,535 groups
/// whose channel sums run past 65,535 terms (where lavapipe ends a plain loop).
const SHAPES: &[(u32, u32, u32)] = &[(1, 1, 1), (2, 3, 5), (4, 64, 49), (1, 3, 1_400_000)];

struct Case {
    prog: Program,
    p: PreluParams,
    x: View,
    slope: View,
    y: View,
    dy: View,
    dx: View,
    grad_slope: View,
}

/// The forward, the input gradient and the slope gradient, all recorded on one program.
fn case((n, c, hw): (u32, u32, u32), flags: u32) -> Case {
    let p = PreluParams { n, c, hw, flags };
    let mut prog = Program::new();
    let (x, slope) = (prog.tensor("x", p.len()), prog.tensor("slope", c as usize));
    let (y, dy, dx) = (
        prog.tensor("y", p.len()),
        prog.tensor("dy", p.len()),
        prog.tensor("dx", p.len()),
    );
    let grad_slope = prog.tensor("grad_slope", c as usize);
    ops::prelu_forward(&mut prog, p, x, slope, y, "prelu").unwrap();
    ops::prelu_backward(&mut prog, p, (x, slope), dy, dx, "prelu dx").unwrap();
    ops::prelu_slope_grad(&mut prog, p, x, dy, grad_slope, "prelu dslope").unwrap();
    Case {
        prog,
        p,
        x,
        slope,
        y,
        dy,
        dx,
        grad_slope,
    }
}

/// x away from 0 (the kink), slopes as SRGAN's init draws them, random dy and grad_slope.
fn inputs(c: &Case) -> Vec<(View, Vec<u32>)> {
    let x: Vec<f32> = rand_vec(c.x.len, 1, -2.0, 2.0)
        .into_iter()
        .map(|v| if v.abs() < 0.05 { v + 0.1 } else { v })
        .collect();
    vec![
        (c.x, bits(&x)),
        (c.slope, bits(&rand_vec(c.slope.len, 2, 0.1, 0.4))),
        (c.dy, bits(&rand_vec(c.dy.len, 3, -1.0, 1.0))),
        (
            c.grad_slope,
            bits(&rand_vec(c.grad_slope.len, 4, -1.0, 1.0)),
        ),
    ]
}

#[test]
fn prelu_forward_gpu_matches_cpu() {
    for &s in SHAPES {
        let c = case(s, 0);
        gpu_matches_cpu(&c.prog, &inputs(&c), &[("y", c.y)], 0.0, 0.0);
    }
}

#[test]
fn prelu_backward_gpu_matches_cpu() {
    for &s in SHAPES {
        let c = case(s, 0);
        gpu_matches_cpu(&c.prog, &inputs(&c), &[("dx", c.dx)], 0.0, 0.0);
    }
}

/// Plain and accumulating; the per-channel sums run in the same order on both paths.
#[test]
fn prelu_slope_grad_gpu_matches_cpu() {
    for (&s, flags) in SHAPES.iter().flat_map(|s| [(s, 0), (s, ACCUMULATE)]) {
        let c = case(s, flags);
        let outs = [("grad_slope", c.grad_slope)];
        gpu_matches_cpu(&c.prog, &inputs(&c), &outs, 1e-6, 1e-6);
    }
}

#[test]
fn prelu_matches_known_values() {
    let c = case((1, 2, 2), 0);
    let ins = vec![
        (c.x, bits(&[1.5, -2.0, -1.0, 0.5])),
        (c.slope, bits(&[0.25, 0.1])),
        (c.dy, bits(&[1.0, 2.0, 3.0, 4.0])),
    ];
    let out = run_cpu(&c.prog, &ins, &[c.y, c.dx, c.grad_slope]);
    assert_close("y", &floats(&out[0]), &[1.5, -0.5, -0.1, 0.5], 1e-7, 0.0);
    assert_close("dx", &floats(&out[1]), &[1.0, 0.5, 0.3, 4.0], 1e-7, 0.0);
    // channel 0: min(0, x)·dy = -2·2; channel 1: -1·3.
    assert_close("dslope", &floats(&out[2]), &[-4.0, -3.0], 1e-7, 0.0);
}

#[test]
fn prelu_backward_matches_finite_differences() {
    let c = case((3, 4, 5), 0);
    let base = inputs(&c);
    let r = floats(&base[2].1);
    let out = run_cpu(&c.prog, &base, &[c.dx, c.grad_slope]);
    let with = |view: View, data: &[f32]| {
        let mut i = base.clone();
        i.retain(|(v, _)| *v != view);
        i.push((view, bits(data)));
        floats(&run_cpu(&c.prog, &i, &[c.y])[0])
    };
    let (x0, a0) = (floats(&base[0].1), floats(&base[1].1));
    gradcheck("prelu dx", |x| with(c.x, x), &x0, &r, &floats(&out[0]));
    gradcheck(
        "prelu dslope",
        |a| with(c.slope, a),
        &a0,
        &r,
        &floats(&out[1]),
    );
    assert_eq!(c.p.len(), 60);
}

#[test]
fn prelu_rejects_a_slope_of_the_wrong_length() {
    let mut prog = Program::new();
    let p = PreluParams {
        n: 2,
        c: 3,
        hw: 4,
        flags: 0,
    };
    let (x, y) = (prog.tensor("x", 24), prog.tensor("y", 24));
    let slope = prog.tensor("slope", 4);
    let err = ops::prelu_forward(&mut prog, p, x, slope, y, "prelu").unwrap_err();
    assert!(err.to_string().contains("slope"), "{err}");
}
