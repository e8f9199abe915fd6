//! Average pooling (kernel = stride) on the GPU against its CPU twins, against hand-worked
//! values for avg_pool2d and avg_pool3d, and its backward against finite differences.

mod common;

use common::*;
use wgpu_gan::cpu::pool::PoolGeometry;
use wgpu_gan::ops;
use wgpu_gan::program::{Program, View};

fn shapes() -> Vec<PoolGeometry> {
    vec![
        PoolGeometry::pool2d(2, 1, (8, 8), 4),    // SRGAN's golden LR
        PoolGeometry::pool2d(3, 2, (28, 28), 4),  // MNIST x4
        PoolGeometry::pool2d(2, 3, (7, 9), 2),    // floor mode: a row and a column dropped
        PoolGeometry::pool3d(2, 4, (4, 4, 4), 2), // DVD-GAN's D_T
        PoolGeometry::pool2d(1, 1, (2050, 2050), 1), // past 65,535 groups
    ]
}

fn case(g: PoolGeometry) -> (Program, View, View, View, View) {
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", g.x_len()), prog.tensor("y", g.y_len()));
    let (dy, dx) = (prog.tensor("dy", g.y_len()), prog.tensor("dx", g.x_len()));
    ops::avg_pool_forward(&mut prog, g, x, y, "pool").unwrap();
    ops::avg_pool_backward(&mut prog, g, dy, dx, "pool backward").unwrap();
    (prog, x, y, dy, dx)
}

#[test]
fn avg_pool_forward_gpu_matches_cpu() {
    for g in shapes() {
        let (prog, x, y, _, _) = case(g);
        let ins = [(x, bits(&rand_vec(x.len, 9, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("y", y)], 1e-7, 1e-6);
    }
}

#[test]
fn avg_pool_backward_gpu_matches_cpu() {
    for g in shapes() {
        let (prog, _, _, dy, dx) = case(g);
        let ins = [(dy, bits(&rand_vec(dy.len, 10, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &ins, &[("dx", dx)], 1e-7, 1e-6);
    }
}

#[test]
fn avg_pool_matches_hand_worked_values() {
    // 2d, k 2 on a 3x4 plane: the last row is dropped.
    let (prog, x, y, dy, dx) = case(PoolGeometry::pool2d(1, 1, (3, 4), 2));
    let xs: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let ins = [(x, bits(&xs)), (dy, bits(&[4.0, 8.0]))];
    let out = run_cpu(&prog, &ins, &[y, dx]);
    // (0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4
    assert_close("avg_pool2d", &floats(&out[0]), &[2.5, 4.5], 0.0, 0.0);
    let want = [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0];
    assert_close("avg_pool2d backward", &floats(&out[1]), &want, 0.0, 0.0);
    // 3d, k 2 on a 2x2x2 volume: one output, the mean of all eight.
    let (prog, x, y, _, _) = case(PoolGeometry::pool3d(1, 1, (2, 2, 2), 2));
    let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0];
    let out = run_cpu(&prog, &[(x, bits(&xs))], &[y]);
    assert_close("avg_pool3d", &floats(&out[0]), &[37.0 / 8.0], 1e-7, 0.0);
}

#[test]
fn avg_pool_backward_matches_finite_differences() {
    for g in [
        PoolGeometry::pool2d(2, 2, (5, 6), 2),
        PoolGeometry::pool3d(1, 2, (4, 2, 4), 2),
    ] {
        let (prog, x, y, dy, dx) = case(g);
        let x0 = rand_vec(x.len, 11, -1.0, 1.0);
        let r = rand_vec(dy.len, 12, -1.0, 1.0);
        let analytic = floats(&run_cpu(&prog, &[(dy, bits(&r))], &[dx])[0]);
        let f = |xs: &[f32]| floats(&run_cpu(&prog, &[(x, bits(xs))], &[y])[0]);
        gradcheck(&format!("avg_pool dx {g:?}"), f, &x0, &r, &analytic);
    }
}

#[test]
fn avg_pool_rejects_a_kernel_larger_than_the_input() {
    let g = PoolGeometry::pool2d(1, 1, (3, 3), 4);
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", 9), prog.tensor("y", 1));
    let err = ops::avg_pool_forward(&mut prog, g, x, y, "pool").unwrap_err();
    assert!(err.to_string().contains("no output"), "{err}");
}
