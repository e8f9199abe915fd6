//! Hinge losses: the kernel on the GPU against its CPU twin, known values, metric slots, and the
//! gradient against finite differences.

mod common;

use common::*;
use wgpu_gan::ops::hinge::{hinge_loss, Hinge};
use wgpu_gan::program::{Program, View};

const KINDS: [Hinge; 3] = [Hinge::Real, Hinge::Fake, Hinge::Generator];

fn loss_of(kind: Hinge, s: &[f32]) -> f32 {
    let n = s.len() as f32;
    match kind {
        Hinge::Real => s.iter().map(|s| (1.0 - s).max(0.0)).sum::<f32>() / n,
        Hinge::Fake => s.iter().map(|s| (1.0 + s).max(0.0)).sum::<f32>() / n,
        Hinge::Generator => -s.iter().sum::<f32>() / n,
    }
}

fn record(kind: Hinge, n: usize, scale: f32) -> (Program, [View; 3]) {
    let mut prog = Program::new();
    let (s, g, m) = (
        prog.tensor("s", n),
        prog.tensor("g", n),
        prog.tensor("metrics", 6),
    );
    hinge_loss(&mut prog, kind, s, g, (m, 3), scale, "hinge").unwrap();
    (prog, [s, g, m])
}

#[test]
fn hinge_loss_gpu_matches_cpu() {
    for kind in KINDS {
        for n in [1, 5, 64, 130] {
            let (prog, [s, g, m]) = record(kind, n, 0.5);
            let scores = rand_vec(n, n as u64, -2.5, 2.5);
            let ins = [(s, bits(&scores))];
            loss_gpu_matches_cpu(&prog, &ins, g, m);
            let metrics = floats(&run_cpu(&prog, &ins, &[m])[0]);
            assert_eq!(&metrics[..3], &[0.0; 3], "slot 0 untouched");
            let want = loss_of(kind, &scores);
            assert!(
                (metrics[3] - want).abs() < 1e-5,
                "{kind:?}: {} vs {want}",
                metrics[3]
            );
            assert_eq!(metrics[5], 1.0, "one call counted");
        }
    }
}

#[test]
fn hinge_loss_known_values() {
    // D on reals: relu(1 - s) = [2, 1, 0.5, 0, 0]; on fakes relu(1 + s) = [0, 1, 1.5, 2, 3].
    let scores = [-1.0f32, 0.0, 0.5, 1.0, 2.0];
    for (kind, loss, accuracy) in [
        (Hinge::Real, 3.5 / 5.0, 3.0 / 5.0),
        (Hinge::Fake, 7.5 / 5.0, 2.0 / 5.0),
        (Hinge::Generator, -2.5 / 5.0, 3.0 / 5.0),
    ] {
        let (prog, [s, g, m]) = record(kind, 5, 1.0);
        let out = run_cpu(&prog, &[(s, bits(&scores))], &[g, m]);
        let m = floats(&out[1]);
        assert_close(
            &format!("{kind:?}"),
            &m[3..6],
            &[loss, accuracy, 1.0],
            1e-6,
            1e-6,
        );
        // At the hinge (s = 1 for reals, s = -1 for fakes) the gradient is 0, as PyTorch's.
        let want: Vec<f32> = match kind {
            Hinge::Real => vec![-0.2, -0.2, -0.2, 0.0, 0.0],
            Hinge::Fake => vec![0.0, 0.2, 0.2, 0.2, 0.2],
            Hinge::Generator => vec![-0.2; 5],
        };
        assert_close(
            &format!("{kind:?} grad"),
            &floats(&out[0]),
            &want,
            1e-7,
            0.0,
        );
    }
}

#[test]
fn hinge_loss_gradient_matches_finite_differences() {
    for kind in KINDS {
        // Scores away from the hinges, where finite differences are smooth.
        let scores: Vec<f32> = rand_vec(16, 3, -0.8, 0.8).iter().map(|s| s * 2.0).collect();
        let scores: Vec<f32> = scores
            .iter()
            .filter(|s| (s.abs() - 1.0).abs() > 0.05)
            .copied()
            .collect();
        let (prog, [s, g, _]) = record(kind, scores.len(), 2.0);
        let grad = floats(&run_cpu(&prog, &[(s, bits(&scores))], &[g])[0]);
        gradcheck(
            &format!("{kind:?}"),
            |s| vec![2.0 * loss_of(kind, s)],
            &scores,
            &[1.0],
            &grad,
        );
    }
}
