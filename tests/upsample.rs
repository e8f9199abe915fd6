//! Nearest x2 upsampling: both kernels on the GPU against their CPU twins, the forward against
//! its definition, the backward against finite differences.

mod common;

use common::*;
use wgpu_gan::ops::upsample;
use wgpu_gan::program::{Program, View};

/// (planes, h, w): a single pixel, odd sizes, DVD-GAN's first up block.
const SHAPES: &[(usize, usize, usize)] = &[(1, 1, 1), (3, 3, 5), (2 * 4, 4, 4), (6, 7, 2)];

fn record(s: (usize, usize, usize)) -> (Program, [View; 4]) {
    let (planes, h, w) = s;
    let mut prog = Program::new();
    let x = prog.tensor("x", planes * h * w);
    let y = prog.tensor("y", planes * 4 * h * w);
    let dy = prog.tensor("dy", planes * 4 * h * w);
    let dx = prog.tensor("dx", planes * h * w);
    upsample::upsample_nearest_forward(&mut prog, s, x, y, "up").unwrap();
    upsample::upsample_nearest_backward(&mut prog, s, dy, dx, "up back").unwrap();
    (prog, [x, y, dy, dx])
}

/// F.interpolate(scale_factor=2, mode="nearest") one element at a time.
fn reference((planes, h, w): (usize, usize, usize), x: &[f32]) -> Vec<f32> {
    (0..planes * 4 * h * w)
        .map(|i| {
            let (ox, oy, p) = (i % (2 * w), (i / (2 * w)) % (2 * h), i / (4 * h * w));
            x[(p * h + oy / 2) * w + ox / 2]
        })
        .collect()
}

fn inputs(s: (usize, usize, usize), v: &[View; 4], seed: u64) -> Vec<(View, Vec<u32>)> {
    let n = s.0 * s.1 * s.2;
    vec![
        (v[0], bits(&rand_vec(n, seed, -1.0, 1.0))),
        (v[2], bits(&rand_vec(4 * n, seed + 1, -1.0, 1.0))),
    ]
}

#[test]
fn upsample_nearest_forward_gpu_matches_cpu() {
    for (k, &s) in SHAPES.iter().enumerate() {
        let (prog, v) = record(s);
        let ins = inputs(s, &v, k as u64);
        let y = floats(&run_cpu(&prog, &ins, &[v[1]])[0]);
        assert_close(
            &format!("{s:?}"),
            &y,
            &reference(s, &floats(&ins[0].1)),
            0.0,
            0.0,
        );
        gpu_matches_cpu(&prog, &ins, &[("y", v[1])], 0.0, 0.0);
    }
}

#[test]
fn upsample_nearest_backward_gpu_matches_cpu() {
    for (k, &s) in SHAPES.iter().enumerate() {
        let (prog, v) = record(s);
        let ins = inputs(s, &v, 10 + k as u64);
        let dx = floats(&run_cpu(&prog, &ins, &[v[3]])[0]);
        let (x, dy) = (floats(&ins[0].1), floats(&ins[1].1));
        gradcheck(&format!("{s:?}"), |x| reference(s, x), &x, &dy, &dx);
        gpu_matches_cpu(&prog, &ins, &[("dx", v[3])], 1e-6, 1e-6);
    }
}

#[test]
fn upsample_rejects_an_output_of_the_wrong_size() {
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", 8), prog.tensor("y", 16));
    let err = upsample::upsample_nearest_forward(&mut prog, (2, 2, 2), x, y, "up").unwrap_err();
    assert!(
        err.to_string().contains("'y' has 16 elements, expected 32"),
        "{err}"
    );
}
