//! The class-conditioning ops (cgan) on the GPU against their CPU twins, the backward as the
//! forward's adjoint, and the label draws' range and spread.

mod common;

use common::*;
use wgpu_gan::ops::{self, condition, RandomStream};
use wgpu_gan::program::{Program, View};

/// (batch, features, classes): one row, odd sizes, and the seed cgan's G and D inputs.
const SHAPES: &[(usize, usize, usize)] = &[(1, 1, 1), (3, 5, 4), (32, 100, 10), (32, 784, 10)];

/// Labels 0..classes with one out of range, which must give an all-zero code.
fn labels(batch: usize, classes: usize) -> Vec<f32> {
    (0..batch)
        .map(|b| {
            if b == 2 {
                classes as f32
            } else {
                (b * 7 % classes) as f32
            }
        })
        .collect()
}

fn forward_case(batch: usize, features: usize, classes: usize) -> (Program, View, View, View) {
    let mut prog = Program::new();
    let x = prog.tensor("x", batch * features);
    let y = prog.tensor("labels", batch);
    let out = prog.tensor("out", batch * (features + classes));
    condition::concat_one_hot_forward(&mut prog, x, y, classes, out, "concat").unwrap();
    (prog, x, y, out)
}

#[test]
fn concat_one_hot_forward_gpu_matches_cpu() {
    for &(b, f, c) in SHAPES {
        let (prog, x, y, out) = forward_case(b, f, c);
        let inputs = [
            (x, bits(&rand_vec(b * f, 1, -1.0, 1.0))),
            (y, bits(&labels(b, c))),
        ];
        gpu_matches_cpu(&prog, &inputs, &[("out", out)], 0.0, 0.0);
    }
}

#[test]
fn concat_one_hot_forward_appends_the_code() {
    let (prog, x, y, out) = forward_case(3, 2, 4);
    let inputs = [
        (x, bits(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        (y, bits(&[3.0, 0.0, 4.0])),
    ];
    let got = floats(&run_cpu(&prog, &inputs, &[out])[0]);
    #[rustfmt::skip]
    let want = [
        1.0, 2.0, 0.0, 0.0, 0.0, 1.0,
        3.0, 4.0, 1.0, 0.0, 0.0, 0.0,
        5.0, 6.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_close("concat", &got, &want, 0.0, 0.0);
}

fn backward_case(batch: usize, features: usize, classes: usize) -> (Program, View, View) {
    let mut prog = Program::new();
    let dout = prog.tensor("dout", batch * (features + classes));
    let dx = prog.tensor("dx", batch * features);
    condition::concat_one_hot_backward(&mut prog, dout, classes, dx, batch, "slice").unwrap();
    (prog, dout, dx)
}

#[test]
fn concat_one_hot_backward_gpu_matches_cpu() {
    for &(b, f, c) in SHAPES {
        let (prog, dout, dx) = backward_case(b, f, c);
        let inputs = [(dout, bits(&rand_vec(b * (f + c), 2, -1.0, 1.0)))];
        gpu_matches_cpu(&prog, &inputs, &[("dx", dx)], 0.0, 0.0);
    }
}

/// The backward is the forward's gradient with respect to x (the code is a constant).
#[test]
fn concat_one_hot_backward_matches_finite_differences() {
    let (b, f, c) = (3, 5, 4);
    let (fwd, x, y, out) = forward_case(b, f, c);
    let (bwd, dout, dx) = backward_case(b, f, c);
    let r = rand_vec(b * (f + c), 3, -1.0, 1.0);
    let ys = bits(&labels(b, c));
    let analytic = floats(&run_cpu(&bwd, &[(dout, bits(&r))], &[dx])[0]);
    let forward = |xs: &[f32]| floats(&run_cpu(&fwd, &[(x, bits(xs)), (y, ys.clone())], &[out])[0]);
    gradcheck(
        "concat_one_hot",
        forward,
        &rand_vec(b * f, 4, -1.0, 1.0),
        &r,
        &analytic,
    );
}

fn labels_case(n: usize, classes: usize) -> (Program, View, View) {
    let mut prog = Program::new();
    let counters = prog.tensor("counters", 1);
    let out = prog.tensor("labels", n);
    let rs = RandomStream {
        seed: 0x5EED_0123_4567,
        stream: 3,
        slot: 0,
    };
    ops::counter_increment(&mut prog, counters, 0, "step");
    condition::uniform_labels(&mut prog, rs, counters, out, classes, "labels");
    (prog, counters, out)
}

#[test]
fn uniform_labels_gpu_matches_cpu() {
    for (n, classes) in [(1, 10), (32, 10), (1000, 7), (70_000, 10)] {
        let (prog, counters, out) = labels_case(n, classes);
        let inputs = [(counters, vec![41])];
        gpu_matches_cpu(&prog, &inputs, &[("labels", out)], 0.0, 0.0);
    }
}

#[test]
fn uniform_labels_are_whole_classes_spread_evenly() {
    let (prog, counters, out) = labels_case(10_000, 10);
    let got = floats(&run_cpu(&prog, &[(counters, vec![0])], &[out])[0]);
    let mut hist = [0usize; 10];
    for v in &got {
        assert!(v.fract() == 0.0 && (0.0..10.0).contains(v), "label {v}");
        hist[*v as usize] += 1;
    }
    // 1,000 expected per class; 5 standard deviations is about 150.
    assert!(hist.iter().all(|&h| (850..1150).contains(&h)), "{hist:?}");
}
