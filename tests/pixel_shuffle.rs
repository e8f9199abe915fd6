//! Pixel shuffle on the GPU against its CPU twins, against the definition
//! out[n, c, 2h+i, 2w+j] = in[n, 4c+2i+j, h, w], and its backward against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::pixel_shuffle::PixelShuffleParams;
use wgpu_gan::ops;
use wgpu_gan::program::{Program, View};

/// (N, C out, H, W, r): SRGAN's x2 blocks, r = 3, and one past 65,535 groups.
const SHAPES: &[(usize, usize, usize, usize, usize)] = &[
    (1, 1, 1, 1, 2),
    (2, 4, 2, 3, 2),
    (3, 2, 5, 4, 3),
    (1, 1, 1024, 1100, 2),
];

fn case((n, c, h, w, r): (usize, usize, usize, usize, usize)) -> (Program, View, View, View, View) {
    let p = PixelShuffleParams::new(n, c, (h, w), r);
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", p.len()), prog.tensor("y", p.len()));
    let (dy, dx) = (prog.tensor("dy", p.len()), prog.tensor("dx", p.len()));
    ops::pixel_shuffle_forward(&mut prog, p, x, y, "shuffle").unwrap();
    ops::pixel_shuffle_backward(&mut prog, p, dy, dx, "shuffle backward").unwrap();
    (prog, x, y, dy, dx)
}

#[test]
fn pixel_shuffle_forward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, x, y, _, _) = case(s);
        let ins = [(x, bits(&rand_vec(x.len, 5, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("y", y)], 0.0, 0.0);
    }
}

#[test]
fn pixel_shuffle_backward_gpu_matches_cpu() {
    for &s in SHAPES {
        let (prog, _, _, dy, dx) = case(s);
        let ins = [(dy, bits(&rand_vec(dy.len, 6, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("dx", dx)], 0.0, 0.0);
    }
}

/// The definition, written out with its own index arithmetic.
#[test]
fn pixel_shuffle_matches_its_definition() {
    let (n, c, h, w) = (2, 3, 2, 3);
    let (prog, x, y, _, _) = case((n, c, h, w, 2));
    let xs: Vec<f32> = (0..x.len).map(|i| i as f32).collect();
    let got = floats(&run_cpu(&prog, &[(x, bits(&xs))], &[y])[0]);
    for b in 0..n {
        for ch in 0..c {
            for (hh, ww, i, j) in
                (0..h * w * 4).map(|k| (k / (w * 4), (k / 4) % w, (k / 2) % 2, k % 2))
            {
                let src = ((b * 4 * c + 4 * ch + 2 * i + j) * h + hh) * w + ww;
                let dst = ((b * c + ch) * 2 * h + 2 * hh + i) * 2 * w + 2 * ww + j;
                assert_eq!(got[dst], xs[src], "n {b} c {ch} h {hh} w {ww} i {i} j {j}");
            }
        }
    }
}

#[test]
fn pixel_shuffle_backward_matches_finite_differences() {
    let (prog, x, y, dy, dx) = case((2, 2, 2, 3, 2));
    let x0 = rand_vec(x.len, 7, -1.0, 1.0);
    let r = rand_vec(dy.len, 8, -1.0, 1.0);
    let analytic = floats(&run_cpu(&prog, &[(dy, bits(&r))], &[dx])[0]);
    let f = |xs: &[f32]| floats(&run_cpu(&prog, &[(x, bits(xs))], &[y])[0]);
    gradcheck("pixel shuffle dx", f, &x0, &r, &analytic);
}

#[test]
fn pixel_shuffle_rejects_a_zero_factor_and_wrong_lengths() {
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", 16), prog.tensor("y", 15));
    let p = PixelShuffleParams::new(1, 1, (2, 2), 2);
    let err = ops::pixel_shuffle_forward(&mut prog, p, x, y, "shuffle").unwrap_err();
    assert!(err.to_string().contains("'y'"), "{err}");
    let p = PixelShuffleParams::new(1, 1, (2, 2), 0);
    let err = ops::pixel_shuffle_forward(&mut prog, p, x, x, "shuffle").unwrap_err();
    assert!(err.to_string().contains("factor"), "{err}");
}
