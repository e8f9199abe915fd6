//! The ConvGRU's elementwise gates: each kernel on the GPU against its CPU twin, the forwards
//! against their formulas and the backwards against finite differences. sigmoid and tanh are
//! the activation kernels (tests/ops.rs).

mod common;

use common::*;
use wgpu_gan::ops::gru;
use wgpu_gan::program::{Program, View};

const LENGTHS: &[usize] = &[1, 63, 65, 1000];

/// Sigmoid-like gates in (0, 1), states and candidates in (-1, 1), an output gradient.
fn values(n: usize, seed: u64) -> [Vec<f32>; 4] {
    [
        rand_vec(n, seed, 0.0, 1.0),
        rand_vec(n, seed + 1, -1.0, 1.0),
        rand_vec(n, seed + 2, -1.0, 1.0),
        rand_vec(n, seed + 3, -1.0, 1.0),
    ]
}

fn tensors(prog: &mut Program, names: &[&str], n: usize) -> Vec<View> {
    names.iter().map(|s| prog.tensor(s, n)).collect()
}

fn reset_program(n: usize) -> (Program, Vec<View>) {
    let mut prog = Program::new();
    let t = tensors(&mut prog, &["r", "h", "dy", "out", "dr", "dh"], n);
    gru::gru_reset_forward(&mut prog, t[0], t[1], t[3], "reset").unwrap();
    gru::gru_reset_backward(&mut prog, (t[0], t[1], t[2]), (t[4], t[5]), "reset back").unwrap();
    (prog, t)
}

fn update_program(n: usize) -> (Program, Vec<View>) {
    let mut prog = Program::new();
    let t = tensors(
        &mut prog,
        &["u", "h", "c", "dy", "out", "du", "dh", "dc"],
        n,
    );
    gru::gru_update_forward(&mut prog, (t[0], t[1], t[2]), t[4], "update").unwrap();
    let grads = (t[5], t[6], t[7]);
    gru::gru_update_backward(&mut prog, (t[0], t[1], t[2], t[3]), grads, "update back").unwrap();
    (prog, t)
}

fn update(u: &[f32], h: &[f32], c: &[f32]) -> Vec<f32> {
    (0..u.len())
        .map(|i| u[i] * h[i] + (1.0 - u[i]) * c[i])
        .collect()
}

#[test]
fn gru_reset_forward_gpu_matches_cpu() {
    for &n in LENGTHS {
        let (prog, t) = reset_program(n);
        let [r, h, _, dy] = values(n, n as u64);
        let ins = [(t[0], bits(&r)), (t[1], bits(&h)), (t[2], bits(&dy))];
        let out = floats(&run_cpu(&prog, &ins, &[t[3]])[0]);
        let want: Vec<f32> = r.iter().zip(&h).map(|(r, h)| r * h).collect();
        assert_close("r·h", &out, &want, 0.0, 0.0);
        gpu_matches_cpu(&prog, &ins, &[("out", t[3])], 0.0, 0.0);
    }
}

#[test]
fn gru_reset_backward_gpu_matches_cpu() {
    for &n in LENGTHS {
        let (prog, t) = reset_program(n);
        let [r, h, _, dy] = values(n, 7 + n as u64);
        let ins = [(t[0], bits(&r)), (t[1], bits(&h)), (t[2], bits(&dy))];
        let out = run_cpu(&prog, &ins, &[t[4], t[5]]);
        let prod = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| a * b).collect::<Vec<_>>();
        gradcheck("dr", |r| prod(r, &h), &r, &dy, &floats(&out[0]));
        gradcheck("dh", |h| prod(&r, h), &h, &dy, &floats(&out[1]));
        gpu_matches_cpu(&prog, &ins, &[("dr", t[4]), ("dh", t[5])], 0.0, 0.0);
    }
}

#[test]
fn gru_update_forward_gpu_matches_cpu() {
    for &n in LENGTHS {
        let (prog, t) = update_program(n);
        let [u, h, c, dy] = values(n, 20 + n as u64);
        let ins = [
            (t[0], bits(&u)),
            (t[1], bits(&h)),
            (t[2], bits(&c)),
            (t[3], bits(&dy)),
        ];
        let out = floats(&run_cpu(&prog, &ins, &[t[4]])[0]);
        assert_close("u·h + (1 - u)·c", &out, &update(&u, &h, &c), 1e-7, 1e-6);
        gpu_matches_cpu(&prog, &ins, &[("out", t[4])], 1e-7, 1e-6);
    }
}

#[test]
fn gru_update_backward_gpu_matches_cpu() {
    for &n in LENGTHS {
        let (prog, t) = update_program(n);
        let [u, h, c, dy] = values(n, 40 + n as u64);
        let ins = [
            (t[0], bits(&u)),
            (t[1], bits(&h)),
            (t[2], bits(&c)),
            (t[3], bits(&dy)),
        ];
        let out = run_cpu(&prog, &ins, &[t[5], t[6], t[7]]);
        gradcheck("du", |u| update(u, &h, &c), &u, &dy, &floats(&out[0]));
        gradcheck("dh", |h| update(&u, h, &c), &h, &dy, &floats(&out[1]));
        gradcheck("dc", |c| update(&u, &h, c), &c, &dy, &floats(&out[2]));
        let outputs = [("du", t[5]), ("dh", t[6]), ("dc", t[7])];
        gpu_matches_cpu(&prog, &ins, &outputs, 1e-7, 1e-6);
    }
}

#[test]
fn gru_gates_reject_tensors_of_other_lengths() {
    let mut prog = Program::new();
    let (r, h, out) = (
        prog.tensor("r", 4),
        prog.tensor("h", 5),
        prog.tensor("out", 4),
    );
    let err = gru::gru_reset_forward(&mut prog, r, h, out, "reset").unwrap_err();
    assert!(err.to_string().contains("'h' has 5"), "{err}");
}
