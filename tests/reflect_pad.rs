//! Reflection padding on the GPU against its CPU twins, against PyTorch's ReflectionPad2d worked
//! by hand, and its backward (folded onto the mirrored pixels) against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::reflect_pad::ReflectPadParams;
use wgpu_gan::ops;
use wgpu_gan::program::{Program, View};

/// (planes, H, W, pad): CycleGAN's pad 3 on 8x8 and pad 1 on 2x2, pad 3 on 4x4 (every pixel
/// mirrored twice in a row), rectangular, and one past 65,535 groups.
const SHAPES: &[(usize, usize, usize, usize)] = &[
    (2, 8, 8, 3),
    (8, 2, 2, 1),
    (3, 4, 4, 3),
    (2, 5, 7, 2),
    (1, 2048, 2100, 1),
];

fn case((planes, h, w, pad): (usize, usize, usize, usize)) -> (Program, View, View, View, View) {
    let p = ReflectPadParams::new(planes, 1, (h, w), pad);
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", p.x_len()), prog.tensor("y", p.y_len()));
    let (dy, dx) = (prog.tensor("dy", p.y_len()), prog.tensor("dx", p.x_len()));
    ops::reflect_pad_forward(&mut prog, p, x, y, "pad").unwrap();
    ops::reflect_pad_backward(&mut prog, p, dy, dx, "pad backward").unwrap();
    (prog, x, y, dy, dx)
}

#[test]
fn reflect_pad_forward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, x, y, _, _) = case(s);
        let ins = [(x, bits(&rand_vec(x.len, 19, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("y", y)], 0.0, 0.0);
    }
}

#[test]
fn reflect_pad_backward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, _, _, dy, dx) = case(s);
        let ins = [(dy, bits(&rand_vec(dy.len, 20, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("dx", dx)], 0.0, 0.0);
    }
}

/// nn.ReflectionPad2d(2) of [[0, 1, 2]] rows: the edge pixel is the mirror, not repeated.
#[test]
fn reflect_pad_matches_pytorch_worked_by_hand() {
    let (prog, x, y, dy, dx) = case((1, 3, 3, 2));
    let xs: Vec<f32> = (0..9).map(|i| i as f32).collect();
    let out = run_cpu(&prog, &[(x, bits(&xs))], &[y]);
    let y = floats(&out[0]);
    // Row index pattern 2 1 0 1 2 1 0, the same for columns.
    let m = [2usize, 1, 0, 1, 2, 1, 0];
    let want: Vec<f32> = (0..49).map(|i| (m[i / 7] * 3 + m[i % 7]) as f32).collect();
    assert_close("ReflectionPad2d(2)", &y, &want, 0.0, 0.0);
    // All-ones gradient: each pixel gets how many times it appears.
    let out = run_cpu(&prog, &[(dy, bits(&[1.0; 49]))], &[dx]);
    let count = [2.0, 3.0, 2.0]; // per axis: 0 at 2 and 6 ... 1 at 1, 3, 5; 2 at 0, 4
    let want: Vec<f32> = (0..9).map(|i| count[i / 3] * count[i % 3]).collect();
    assert_close(
        "ReflectionPad2d(2) backward",
        &floats(&out[0]),
        &want,
        0.0,
        0.0,
    );
}

#[test]
fn reflect_pad_backward_matches_finite_differences() {
    for s in [(2, 4, 5, 2), (1, 3, 3, 1), (1, 4, 4, 3)] {
        let (prog, x, y, dy, dx) = case(s);
        let x0 = rand_vec(x.len, 21, -1.0, 1.0);
        let r = rand_vec(dy.len, 22, -1.0, 1.0);
        let analytic = floats(&run_cpu(&prog, &[(dy, bits(&r))], &[dx])[0]);
        let f = |xs: &[f32]| floats(&run_cpu(&prog, &[(x, bits(xs))], &[y])[0]);
        gradcheck(&format!("reflect pad dx {s:?}"), f, &x0, &r, &analytic);
    }
}

#[test]
fn reflect_pad_rejects_a_pad_as_large_as_the_side() {
    let p = ReflectPadParams::new(1, 1, (3, 3), 3);
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", 9), prog.tensor("y", 81));
    let err = ops::reflect_pad_forward(&mut prog, p, x, y, "pad").unwrap_err();
    assert!(err.to_string().contains("reflection padding 3"), "{err}");
}
