//! softmax_cross_entropy (the classifier's and ACGAN's loss): GPU against CPU twin, gradient
//! against finite differences, and known values.

mod common;

use common::*;
use wgpu_gan::ops;
use wgpu_gan::program::{Program, View};

fn case(n: usize, classes: usize) -> (Program, [View; 4]) {
    let mut prog = Program::new();
    let logits = prog.tensor("logits", n * classes);
    let labels = prog.tensor("labels", n);
    let grad = prog.tensor("grad", n * classes);
    let metrics = prog.tensor("metrics", 3);
    ops::softmax_cross_entropy(
        &mut prog, logits, labels, classes, grad, metrics, 0, 1.0, "ce",
    )
    .unwrap();
    (prog, [logits, labels, grad, metrics])
}

fn labels(n: usize, classes: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 7 + 3) % classes) as f32).collect()
}

#[test]
fn softmax_cross_entropy_gpu_matches_cpu() {
    for (n, classes) in [(1, 2), (7, 10), (64, 10), (100, 3)] {
        let (prog, [logits, lab, grad, metrics]) = case(n, classes);
        let inputs = [
            (logits, bits(&rand_vec(n * classes, 31, -5.0, 5.0))),
            (lab, bits(&labels(n, classes))),
        ];
        loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
    }
}

#[test]
fn softmax_cross_entropy_matches_finite_differences_and_known_values() {
    let (n, classes) = (5, 4);
    let (prog, [logits, lab, grad, metrics]) = case(n, classes);
    let y = bits(&labels(n, classes));
    let x = rand_vec(n * classes, 32, -2.0, 2.0);
    let g = floats(&run_cpu(&prog, &[(logits, bits(&x)), (lab, y.clone())], &[grad])[0]);
    let loss = |x: &[f32]| {
        floats(&run_cpu(&prog, &[(logits, bits(x)), (lab, y.clone())], &[metrics])[0])[..1].to_vec()
    };
    gradcheck("cross entropy", loss, &x, &[1.0], &g);
    // Uniform logits: loss ln(C); one confident right row and one confident wrong row.
    let (prog, [logits, lab, _, metrics]) = case(2, 4);
    let x = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.0, 0.0];
    let m = floats(
        &run_cpu(
            &prog,
            &[(logits, bits(&x)), (lab, bits(&[1.0, 2.0]))],
            &[metrics],
        )[0],
    );
    let want_loss = (4.0f32.ln() + (3.0 + 20.0f32.exp()).ln() - 20.0) / 2.0;
    assert_close(
        "loss, accuracy, count",
        &m,
        &[want_loss, 0.5, 1.0],
        1e-6,
        1e-5,
    );
}
