//! Axis swaps: the kernel on the GPU against its CPU twin and its definition; a swap undone by
//! the swap of the exchanged axes (its gradient).

mod common;

use common::*;
use wgpu_gan::ops::permute::swap_axes;
use wgpu_gan::program::Program;

/// (outer, a, b, inner): D_T's (B, C, T/2, H·W) fold, odd sizes, a row vector.
const SHAPES: &[(usize, usize, usize, usize)] =
    &[(2, 4, 2, 4), (3, 5, 7, 3), (1, 1, 9, 1), (4, 3, 2, 65)];

#[test]
fn swap_axes_gpu_matches_cpu() {
    for (k, &s) in SHAPES.iter().enumerate() {
        let (outer, a, b, inner) = s;
        let n = outer * a * b * inner;
        let mut prog = Program::new();
        let (x, y, back) = (
            prog.tensor("x", n),
            prog.tensor("y", n),
            prog.tensor("back", n),
        );
        swap_axes(&mut prog, s, x, y, "swap").unwrap();
        swap_axes(&mut prog, (outer, b, a, inner), y, back, "swap back").unwrap();
        let xs = rand_vec(n, k as u64, -1.0, 1.0);
        let ins = [(x, bits(&xs))];
        let out = run_cpu(&prog, &ins, &[y, back]);
        let want: Vec<f32> = (0..n)
            .map(|m| {
                let (f, i, j, o) = (
                    m % inner,
                    (m / inner) % a,
                    (m / (inner * a)) % b,
                    m / (inner * a * b),
                );
                xs[((o * a + i) * b + j) * inner + f]
            })
            .collect();
        assert_close(&format!("{s:?}"), &floats(&out[0]), &want, 0.0, 0.0);
        assert_close(&format!("{s:?} back"), &floats(&out[1]), &xs, 0.0, 0.0);
        gpu_matches_cpu(&prog, &ins, &[("y", y), ("back", back)], 0.0, 0.0);
    }
}

#[test]
fn swap_axes_rejects_an_output_of_another_length() {
    let mut prog = Program::new();
    let (x, y) = (prog.tensor("x", 24), prog.tensor("y", 23));
    let err = swap_axes(&mut prog, (1, 2, 3, 4), x, y, "swap").unwrap_err();
    assert!(
        err.to_string().contains("'y' has 23 elements, expected 24"),
        "{err}"
    );
}
