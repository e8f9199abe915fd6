//! Spectral normalisation: each kernel on the GPU against its CPU twin, the power iteration and
//! sigma against an f64 evaluation of their definitions, and the gradient through sigma against
//! finite differences of L(W / sigma(W)) with u and v held constant.

mod common;

use common::*;
use wgpu_gan::ops::spectral_norm::{
    spectral_norm_backward, spectral_norm_power, spectral_norm_scale, spectral_norm_sigma,
    SpectralNormViews,
};
use wgpu_gan::program::{Program, View};

/// (rows, cols): a vector, a conv k3 weight (out 4, in 2·3·3), more rows than lanes, a long row.
const SHAPES: &[(usize, usize)] = &[(1, 5), (4, 18), (70, 9), (3, 200)];

struct Recorded {
    prog: Program,
    sn: SpectralNormViews,
    w_sn: View,
    g: View,
    dw: View,
}

fn record((rows, cols): (usize, usize)) -> Recorded {
    let mut prog = Program::new();
    let sn = SpectralNormViews {
        w: prog.tensor("w", rows * cols),
        u: prog.tensor("u", rows),
        v: prog.tensor("v", cols),
        sigma: prog.tensor("sigma", 1),
    };
    let (w_sn, g, dw) = (
        prog.tensor("w_sn", rows * cols),
        prog.tensor("g", rows * cols),
        prog.tensor("dw", rows * cols),
    );
    let shape = (rows, cols);
    spectral_norm_power(&mut prog, shape, sn, "power").unwrap();
    spectral_norm_scale(&mut prog, shape, sn, w_sn, "scale").unwrap();
    spectral_norm_backward(&mut prog, shape, sn, (g, dw), true, "backward").unwrap();
    Recorded {
        prog,
        sn,
        w_sn,
        g,
        dw,
    }
}

fn inputs(r: &Recorded, seed: u64) -> Vec<(View, Vec<u32>)> {
    vec![
        (r.sn.w, bits(&rand_vec(r.sn.w.len, seed, -0.5, 0.5))),
        (r.sn.u, bits(&rand_vec(r.sn.u.len, seed + 1, -1.0, 1.0))),
        (r.g, bits(&rand_vec(r.g.len, seed + 2, -1.0, 1.0))),
        (r.dw, bits(&rand_vec(r.dw.len, seed + 3, -1.0, 1.0))),
    ]
}

fn normalize(x: Vec<f64>) -> Vec<f64> {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    x.into_iter().map(|v| v / n).collect()
}

/// (u, v, sigma) of one power iteration from u, in f64.
fn power(w: &[f32], u: &[f32], (rows, cols): (usize, usize)) -> (Vec<f64>, Vec<f64>, f64) {
    let at = |i: usize, j: usize| w[i * cols + j] as f64;
    let v = normalize(
        (0..cols)
            .map(|j| (0..rows).map(|i| at(i, j) * u[i] as f64).sum())
            .collect(),
    );
    let wv: Vec<f64> = (0..rows)
        .map(|i| (0..cols).map(|j| at(i, j) * v[j]).sum())
        .collect();
    let u = normalize(wv.clone());
    let sigma = u.iter().zip(&wv).map(|(a, b)| a * b).sum();
    (u, v, sigma)
}

fn narrow(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

#[test]
fn spectral_norm_power_gpu_matches_cpu() {
    for (k, &shape) in SHAPES.iter().enumerate() {
        let r = record(shape);
        let ins = inputs(&r, k as u64);
        let out = run_cpu(&r.prog, &ins, &[r.sn.u, r.sn.v, r.sn.sigma]);
        let (u, v, sigma) = power(&floats(&ins[0].1), &floats(&ins[1].1), shape);
        let what = format!("{shape:?}");
        assert_close(
            &format!("{what} u"),
            &floats(&out[0]),
            &narrow(&u),
            1e-6,
            1e-5,
        );
        assert_close(
            &format!("{what} v"),
            &floats(&out[1]),
            &narrow(&v),
            1e-6,
            1e-5,
        );
        assert_close(
            &format!("{what} sigma"),
            &floats(&out[2]),
            &[sigma as f32],
            1e-6,
            1e-5,
        );
        let outputs = [("u", r.sn.u), ("v", r.sn.v), ("sigma", r.sn.sigma)];
        gpu_matches_cpu(&r.prog, &ins, &outputs, 1e-6, 1e-5);
    }
}

/// sigma from the stored u and v: after an iteration, the iteration's own sigma, bit for bit on
/// the CPU; on a changed W, uᵀ W v.
#[test]
fn spectral_norm_sigma_gpu_matches_cpu() {
    for (k, &shape) in SHAPES.iter().enumerate() {
        let mut r = record(shape);
        let again = r.prog.tensor("sigma again", 1);
        let sn = SpectralNormViews {
            sigma: again,
            ..r.sn
        };
        spectral_norm_sigma(&mut r.prog, shape, sn, "sigma").unwrap();
        let ins = inputs(&r, 30 + k as u64);
        let out = run_cpu(&r.prog, &ins, &[r.sn.sigma, again]);
        assert_eq!(out[0], out[1], "{shape:?}");
        gpu_matches_cpu(&r.prog, &ins, &[("sigma", again)], 1e-6, 1e-5);
        let (w, u, v) = (
            floats(&ins[0].1),
            rand_vec(shape.0, k as u64, -1.0, 1.0),
            rand_vec(shape.1, 1, -1.0, 1.0),
        );
        let mut prog = Program::new();
        let sn = SpectralNormViews {
            w: prog.tensor("w", w.len()),
            u: prog.tensor("u", u.len()),
            v: prog.tensor("v", v.len()),
            sigma: prog.tensor("sigma", 1),
        };
        spectral_norm_sigma(&mut prog, shape, sn, "sigma").unwrap();
        let ins = [(sn.w, bits(&w)), (sn.u, bits(&u)), (sn.v, bits(&v))];
        let got = floats(&run_cpu(&prog, &ins, &[sn.sigma])[0]);
        let want: f64 = (0..shape.0)
            .map(|i| {
                (0..shape.1)
                    .map(|j| u[i] as f64 * w[i * shape.1 + j] as f64 * v[j] as f64)
                    .sum::<f64>()
            })
            .sum();
        assert_close(
            &format!("{shape:?} uᵀ W v"),
            &got,
            &[want as f32],
            1e-6,
            1e-5,
        );
        gpu_matches_cpu(&prog, &ins, &[("sigma", sn.sigma)], 1e-6, 1e-5);
    }
}

#[test]
fn spectral_norm_scale_gpu_matches_cpu() {
    for (k, &shape) in SHAPES.iter().enumerate() {
        let r = record(shape);
        let ins = inputs(&r, 10 + k as u64);
        let out = run_cpu(&r.prog, &ins, &[r.w_sn, r.sn.sigma]);
        let sigma = floats(&out[1])[0];
        let want: Vec<f32> = floats(&ins[0].1).iter().map(|w| w / sigma).collect();
        assert_close(&format!("{shape:?}"), &floats(&out[0]), &want, 0.0, 0.0);
        gpu_matches_cpu(&r.prog, &ins, &[("w_sn", r.w_sn)], 1e-6, 1e-5);
    }
}

#[test]
fn spectral_norm_backward_gpu_matches_cpu() {
    for (k, &shape) in SHAPES.iter().enumerate() {
        let r = record(shape);
        let ins = inputs(&r, 20 + k as u64);
        let out = run_cpu(&r.prog, &ins, &[r.dw, r.sn.u, r.sn.v]);
        let (w, g, dw0) = (floats(&ins[0].1), floats(&ins[2].1), floats(&ins[3].1));
        let (u, v) = (floats(&out[1]), floats(&out[2]));
        // L(W) = Σ g · W / (uᵀ W v) with u and v the iteration's, constant.
        let scaled = |w: &[f32]| {
            let (rows, cols) = shape;
            let sigma: f64 = (0..rows)
                .map(|i| {
                    (0..cols)
                        .map(|j| u[i] as f64 * w[i * cols + j] as f64 * v[j] as f64)
                        .sum::<f64>()
                })
                .sum();
            w.iter()
                .map(|&x| (x as f64 / sigma) as f32)
                .collect::<Vec<f32>>()
        };
        // dw started as dw0 and ACCUMULATE added the gradient.
        let grad: Vec<f32> = floats(&out[0])
            .iter()
            .zip(&dw0)
            .map(|(a, b)| a - b)
            .collect();
        gradcheck(&format!("{shape:?}"), scaled, &w, &g, &grad);
        gpu_matches_cpu(&r.prog, &ins, &[("dw", r.dw)], 1e-5, 1e-4);
    }
}

#[test]
fn spectral_norm_rejects_a_u_of_the_wrong_length() {
    let mut prog = Program::new();
    let sn = SpectralNormViews {
        w: prog.tensor("w", 12),
        u: prog.tensor("u", 4),
        v: prog.tensor("v", 4),
        sigma: prog.tensor("sigma", 1),
    };
    let err = spectral_norm_power(&mut prog, (3, 4), sn, "power").unwrap_err();
    assert!(
        err.to_string().contains("'u' has 4 elements, expected 3"),
        "{err}"
    );
}
