//! The multi-head losses and column plumbing of ACGAN, InfoGAN and WGAN-GP: every new kernel
//! against its CPU twin, gradients against finite differences, and known values.

mod common;

use common::*;
use wgpu_gan::ops::{self, columns, Head, Loss};
use wgpu_gan::program::{Program, View};

/// A loss `kind` on column 1 of rows of 4; returns (program, [pred, grad, metrics]).
fn head_case(kind: Loss, n: usize, target: f32) -> (Program, [View; 3]) {
    let mut prog = Program::new();
    let pred = prog.tensor("pred", n * 4);
    let grad = prog.tensor("grad", n * 4);
    let metrics = prog.tensor("metrics", 6);
    let head = Head {
        stride: 4,
        offset: 1,
    };
    ops::head_loss(
        &mut prog,
        kind,
        head,
        pred,
        grad,
        (metrics, 3),
        target,
        0.5,
        "loss",
    )
    .unwrap();
    (prog, [pred, grad, metrics])
}

#[test]
fn head_losses_touch_only_their_column() {
    for kind in [Loss::BceWithLogits, Loss::Mse, Loss::Wasserstein] {
        let n = 3;
        let (prog, [pred, grad, metrics]) = head_case(kind, n, 1.0);
        let x = rand_vec(n * 4, 5, -2.0, 2.0);
        let before = vec![7.0f32; n * 4];
        let out = run_cpu(
            &prog,
            &[(pred, bits(&x)), (grad, bits(&before))],
            &[grad, metrics],
        );
        let (g, m) = (floats(&out[0]), floats(&out[1]));
        for (i, &v) in g.iter().enumerate() {
            assert_eq!(
                v == 7.0,
                i % 4 != 1,
                "{kind:?}: column {} of row {}",
                i % 4,
                i / 4
            );
        }
        assert_eq!(&m[..3], &[0.0; 3], "{kind:?} wrote outside its metric slot");
        assert_eq!(m[5], 1.0, "{kind:?} count");
    }
}

#[test]
fn wasserstein_loss_gpu_matches_cpu() {
    for (n, target) in [(1, 1.0), (33, 0.0), (64, 1.0)] {
        let (prog, [pred, grad, metrics]) = head_case(Loss::Wasserstein, n, target);
        let x = rand_vec(n * 4, 11, -3.0, 3.0);
        let inputs = [(pred, bits(&x))];
        loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
    }
}

#[test]
fn wasserstein_loss_is_the_signed_mean() {
    let (prog, [pred, grad, metrics]) = head_case(Loss::Wasserstein, 2, 1.0);
    let x = [0.0, 3.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0];
    let out = run_cpu(&prog, &[(pred, bits(&x))], &[grad, metrics]);
    // Target 1 (reals): loss -mean = -1, grad -1/n · scale 0.5; one critic value above 0.
    assert_close(
        "metrics",
        &floats(&out[1])[3..],
        &[-1.0, 0.5, 1.0],
        1e-6,
        0.0,
    );
    assert_close("grad", &floats(&out[0])[1..2], &[-0.25], 1e-7, 0.0);
    let x: Vec<f32> = rand_vec(8, 3, -1.0, 1.0);
    for target in [0.0, 1.0] {
        let (prog, [pred, grad, metrics]) = head_case(Loss::Wasserstein, 2, target);
        let g = floats(&run_cpu(&prog, &[(pred, bits(&x))], &[grad])[0]);
        let loss = |x: &[f32]| vec![floats(&run_cpu(&prog, &[(pred, bits(x))], &[metrics])[0])[3]];
        let g: Vec<f32> = g
            .iter()
            .enumerate()
            .map(|(i, &v)| if i % 4 == 1 { v } else { 0.0 })
            .collect();
        gradcheck("wasserstein (scale 0.5)", loss, &x, &[0.5], &g);
    }
}

fn class_case(n: usize) -> (Program, [View; 4]) {
    let mut prog = Program::new();
    let pred = prog.tensor("pred", n * 13);
    let labels = prog.tensor("labels", n);
    let grad = prog.tensor("grad", n * 13);
    let metrics = prog.tensor("metrics", 3);
    let head = Head {
        stride: 13,
        offset: 1,
    };
    ops::class_head_loss(
        &mut prog,
        pred,
        labels,
        10,
        head,
        grad,
        (metrics, 0),
        1.0,
        "ce",
    )
    .unwrap();
    (prog, [pred, labels, grad, metrics])
}

#[test]
fn class_head_matches_plain_cross_entropy_and_gpu() {
    let n = 9;
    let (prog, [pred, labels, grad, metrics]) = class_case(n);
    let x = rand_vec(n * 13, 21, -4.0, 4.0);
    let y: Vec<f32> = (0..n).map(|i| (i * 3 % 10) as f32).collect();
    let inputs = [(pred, bits(&x)), (labels, bits(&y))];
    let out = run_cpu(&prog, &inputs, &[grad, metrics]);
    // The same rows as plain (n, 10) logits.
    let mut plain = Program::new();
    let (pl, py, pg, pm) = (
        plain.tensor("l", n * 10),
        plain.tensor("y", n),
        plain.tensor("g", n * 10),
        plain.tensor("m", 3),
    );
    ops::softmax_cross_entropy(&mut plain, pl, py, 10, pg, pm, 0, 1.0, "ce").unwrap();
    let rows: Vec<f32> = (0..n)
        .flat_map(|i| x[i * 13 + 1..i * 13 + 11].to_vec())
        .collect();
    let want = run_cpu(&plain, &[(pl, bits(&rows)), (py, bits(&y))], &[pg, pm]);
    let g = floats(&out[0]);
    let got: Vec<f32> = (0..n)
        .flat_map(|i| g[i * 13 + 1..i * 13 + 11].to_vec())
        .collect();
    assert_close("head grad", &got, &floats(&want[0]), 0.0, 0.0);
    assert_close(
        "head metrics",
        &floats(&out[1]),
        &floats(&want[1]),
        0.0,
        0.0,
    );
    loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
}

fn code_case(n: usize) -> (Program, [View; 4]) {
    let mut prog = Program::new();
    let pred = prog.tensor("pred", n * 13);
    let targets = prog.tensor("codes", n * 2);
    let grad = prog.tensor("grad", n * 13);
    let metrics = prog.tensor("metrics", 3);
    let head = Head {
        stride: 13,
        offset: 11,
    };
    ops::code_head_loss(
        &mut prog,
        pred,
        targets,
        head,
        grad,
        (metrics, 0),
        0.1,
        "codes",
    )
    .unwrap();
    (prog, [pred, targets, grad, metrics])
}

#[test]
fn mse_loss_gpu_matches_cpu() {
    for n in [1, 32, 65] {
        let (prog, [pred, targets, grad, metrics]) = code_case(n);
        let inputs = [
            (pred, bits(&rand_vec(n * 13, 41, -2.0, 2.0))),
            (targets, bits(&rand_vec(n * 2, 42, -1.0, 1.0))),
        ];
        loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
        let (prog, [pred, grad, metrics]) = head_case(Loss::Mse, n, 1.0);
        let inputs = [(pred, bits(&rand_vec(n * 4, 43, -2.0, 2.0)))];
        loss_gpu_matches_cpu(&prog, &inputs, grad, metrics);
    }
}

#[test]
fn code_head_matches_finite_differences_and_known_values() {
    let n = 3;
    let (prog, [pred, targets, grad, metrics]) = code_case(n);
    let x = rand_vec(n * 13, 51, -1.0, 1.0);
    let t = bits(&rand_vec(n * 2, 52, -1.0, 1.0));
    let g = floats(&run_cpu(&prog, &[(pred, bits(&x)), (targets, t.clone())], &[grad])[0]);
    let loss = |x: &[f32]| {
        vec![floats(&run_cpu(&prog, &[(pred, bits(x)), (targets, t.clone())], &[metrics])[0])[0]]
    };
    let g: Vec<f32> = g
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 13 >= 11 { v } else { 0.0 })
        .collect();
    gradcheck("code mse (scale 0.1)", loss, &x, &[0.1], &g);
    // One row: predictions (0.5, 2) against codes (0, 0): mean of 0.25 and 4.
    let (prog, [pred, targets, _, metrics]) = code_case(1);
    let mut x = vec![0.0; 13];
    x[11] = 0.5;
    x[12] = 2.0;
    let m = floats(
        &run_cpu(
            &prog,
            &[(pred, bits(&x)), (targets, bits(&[0.0, 0.0]))],
            &[metrics],
        )[0],
    );
    assert_close(
        "loss, share within 0.5, count",
        &m,
        &[2.125, 0.0, 1.0],
        1e-6,
        0.0,
    );
}

fn penalty_case(n: usize, f: usize) -> (Program, [View; 3]) {
    let mut prog = Program::new();
    let g = prog.tensor("g", n * f);
    let gg = prog.tensor("gg", n * f);
    let metrics = prog.tensor("metrics", 3);
    ops::gradient_penalty(&mut prog, g, gg, f, (metrics, 0), 10.0, "gp").unwrap();
    (prog, [g, gg, metrics])
}

#[test]
fn gradient_penalty_gpu_matches_cpu() {
    for (n, f) in [(1, 3), (64, 784), (5, 1)] {
        let (prog, [g, gg, metrics]) = penalty_case(n, f);
        let inputs = [(g, bits(&rand_vec(n * f, 61, -0.1, 0.1)))];
        gpu_matches_cpu(
            &prog,
            &inputs,
            &[("gg", gg), ("metrics", metrics)],
            1e-6,
            1e-4,
        );
    }
}

#[test]
fn gradient_penalty_matches_finite_differences_and_known_values() {
    let (n, f) = (4, 3);
    let (prog, [g, gg, metrics]) = penalty_case(n, f);
    let x = rand_vec(n * f, 71, -1.0, 1.0);
    let d = floats(&run_cpu(&prog, &[(g, bits(&x))], &[gg])[0]);
    let loss = |x: &[f32]| vec![floats(&run_cpu(&prog, &[(g, bits(x))], &[metrics])[0])[0]];
    gradcheck("gradient penalty", loss, &x, &[1.0], &d);
    // Rows (3, 4) and (0, 1): norms 5 and 1, penalty 10 · mean(16, 0) = 80.
    let (prog, [g, gg, metrics]) = penalty_case(2, 2);
    let out = run_cpu(&prog, &[(g, bits(&[3.0, 4.0, 0.0, 1.0]))], &[gg, metrics]);
    assert_close(
        "penalty, share near 1, count",
        &floats(&out[1]),
        &[80.0, 0.5, 1.0],
        1e-4,
        0.0,
    );
    // d/dg of 10/2 (|g| - 1)² = 10 (|g| - 1) g / |g|: 8 · (3, 4) for the first row.
    assert_close("gg", &floats(&out[0]), &[24.0, 32.0, 0.0, 0.0], 1e-4, 0.0);
}

#[test]
fn concat_columns_gpu_matches_cpu() {
    let (b, f, e) = (7, 62, 2);
    let mut prog = Program::new();
    let (a, c, out) = (
        prog.tensor("a", b * f),
        prog.tensor("c", b * e),
        prog.tensor("out", b * (f + e)),
    );
    columns::concat_columns(&mut prog, a, c, b, out, "concat").unwrap();
    let xa = rand_vec(b * f, 81, -1.0, 1.0);
    let xc = rand_vec(b * e, 82, -1.0, 1.0);
    let inputs = [(a, bits(&xa)), (c, bits(&xc))];
    let got = floats(&run_cpu(&prog, &inputs, &[out])[0]);
    let want: Vec<f32> = (0..b)
        .flat_map(|r| [&xa[r * f..(r + 1) * f], &xc[r * e..(r + 1) * e]].concat())
        .collect();
    assert_close("concat", &got, &want, 0.0, 0.0);
    gpu_matches_cpu(&prog, &inputs, &[("out", out)], 0.0, 0.0);
}

/// Both parts of a concatenation's gradient, a wide and a narrow one.
#[test]
fn slice_columns_gpu_matches_cpu() {
    let (b, f, e) = (9, 70, 3);
    let mut prog = Program::new();
    let dy = prog.tensor("dy", b * (f + e));
    let (da, dc) = (prog.tensor("da", b * f), prog.tensor("dc", b * e));
    let stride = f + e;
    columns::slice_columns(&mut prog, dy, Head { stride, offset: 0 }, f, da, "a").unwrap();
    columns::slice_columns(&mut prog, dy, Head { stride, offset: f }, e, dc, "c").unwrap();
    let x = rand_vec(b * stride, 83, -1.0, 1.0);
    let inputs = [(dy, bits(&x))];
    let out = run_cpu(&prog, &inputs, &[da, dc]);
    let part = |lo: usize, w: usize| -> Vec<f32> {
        (0..b)
            .flat_map(|r| x[r * stride + lo..r * stride + lo + w].to_vec())
            .collect()
    };
    assert_close("a", &floats(&out[0]), &part(0, f), 0.0, 0.0);
    assert_close("c", &floats(&out[1]), &part(f, e), 0.0, 0.0);
    gpu_matches_cpu(&prog, &inputs, &[("da", da), ("dc", dc)], 0.0, 0.0);
}

#[test]
fn fill_columns_gpu_matches_cpu() {
    let (rows, stride) = (70, 13);
    let mut prog = Program::new();
    let out = prog.tensor("out", rows * stride);
    let head = Head { stride, offset: 1 };
    columns::fill_columns(&mut prog, out, head, 12, 0.0, "zero the Q head").unwrap();
    let before = rand_vec(rows * stride, 91, 1.0, 2.0);
    let inputs = [(out, bits(&before))];
    let got = floats(&run_cpu(&prog, &inputs, &[out])[0]);
    for (i, (&g, &b)) in got.iter().zip(&before).enumerate() {
        let want = if i % stride == 0 { b } else { 0.0 };
        assert_eq!(g, want, "element {i}");
    }
    gpu_matches_cpu(&prog, &inputs, &[("out", out)], 0.0, 0.0);
    let mut bad = Program::new();
    let out = bad.tensor("out", 26);
    assert!(columns::fill_columns(&mut bad, out, head, 13, 1.0, "too wide").is_err());
}

#[test]
fn interpolate_gpu_matches_cpu() {
    let (b, f) = (9, 784);
    let mut prog = Program::new();
    let (a, t, c, out) = (
        prog.tensor("real", b * f),
        prog.tensor("t", b),
        prog.tensor("fake", b * f),
        prog.tensor("mix", b * f),
    );
    columns::interpolate(&mut prog, a, t, c, out, "mix").unwrap();
    let (xa, xt, xc) = (
        rand_vec(b * f, 1, -1.0, 1.0),
        rand_vec(b, 2, 0.0, 1.0),
        rand_vec(b * f, 3, -1.0, 1.0),
    );
    let inputs = [(a, bits(&xa)), (t, bits(&xt)), (c, bits(&xc))];
    let got = floats(&run_cpu(&prog, &inputs, &[out])[0]);
    let want: Vec<f32> = (0..b * f)
        .map(|i| xt[i / f] * xa[i] + (1.0 - xt[i / f]) * xc[i])
        .collect();
    assert_close("interpolate", &got, &want, 1e-7, 0.0);
    gpu_matches_cpu(&prog, &inputs, &[("mix", out)], 1e-6, 1e-6);
}
