//! The elementwise kernels against their CPU twins, and their known answers.

mod common;

use common::*;
use wgpu_gan::ops;
use wgpu_gan::program::Program;

/// a·x + b·y on lengths around the workgroup size and past one grid row's 65,535 groups.
#[test]
fn axpby_gpu_matches_cpu() {
    for (n, a, b) in [
        (1, 1.0, 1.0),
        (63, 0.5, -2.0),
        (64, 1.0, 1.0),
        (1000, -0.25, 3.0),
        (64 * 65_536 + 5, 1.0, 0.5),
    ] {
        let mut prog = Program::new();
        let (x, y, out) = (
            prog.tensor("x", n),
            prog.tensor("y", n),
            prog.tensor("out", n),
        );
        ops::axpby(&mut prog, (a, x), (b, y), out, "axpby").unwrap();
        let (xs, ys) = (rand_vec(n, 1, -1.0, 1.0), rand_vec(n, 2, -1.0, 1.0));
        let inputs = [(x, bits(&xs)), (y, bits(&ys))];
        let want: Vec<f32> = xs.iter().zip(&ys).map(|(x, y)| a * x + b * y).collect();
        let cpu = floats(&run_cpu(&prog, &inputs, &[out])[0]);
        assert_close(&format!("cpu, n {n}"), &cpu, &want, 0.0, 0.0);
        gpu_matches_cpu(&prog, &inputs, &[("out", out)], 1e-7, 1e-6);
    }
}

#[test]
fn axpby_rejects_tensors_of_other_lengths() {
    let mut prog = Program::new();
    let (x, y, out) = (
        prog.tensor("x", 8),
        prog.tensor("y", 9),
        prog.tensor("out", 8),
    );
    let err = ops::axpby(&mut prog, (1.0, x), (1.0, y), out, "skip").unwrap_err();
    assert!(err.to_string().contains('y'), "{err}");
}
