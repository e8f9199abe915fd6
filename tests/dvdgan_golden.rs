//! DVD-GAN's golden iteration (tests/fixtures/dvdgan_step.safetensors, from shared/golden; its
//! spec is tests/fixtures/dvdgan_step.md), the records that single ops reproduce: the power
//! iteration at the start of the D step, from `init.*.weight` and `init.*.weight.sn_u`, gives
//! `step.*.weight.sigma` and `after.*.weight.sn_u` (G's step runs no iteration), on the CPU path
//! and on the GPU, within |a - b| <= 1e-5 + 1e-4 |ref|.

mod common;

use common::*;
use safetensors::SafeTensors;
use wgpu_gan::ops::spectral_norm::{spectral_norm_power, SpectralNormViews};
use wgpu_gan::program::{Program, View};

const ABS: f32 = 1e-5;
const REL: f32 = 1e-4;

/// Every spectrally normalised weight of D_S and D_T.
const WEIGHTS: &[&str] = &[
    "d_s.down0.conv1",
    "d_s.down0.conv2",
    "d_s.down0.skip",
    "d_s.down1.conv1",
    "d_s.down1.conv2",
    "d_s.down1.skip",
    "d_s.fc",
    "d_t.down0.conv1",
    "d_t.down0.conv2",
    "d_t.down0.skip",
    "d_t.down1.conv1",
    "d_t.down1.conv2",
    "d_t.down1.skip",
    "d_t.fc",
];

fn fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dvdgan_step.safetensors"
    );
    std::fs::read(path).expect("fixture")
}

/// (values, shape) of one record.
fn get(st: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let t = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture has no {name}"));
    let values = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (values, t.shape().to_vec())
}

/// One power iteration per weight, all in one program: (program, inputs, [(record, view)]).
type Case = (
    Program,
    Vec<(View, Vec<u32>)>,
    Vec<(String, View, Vec<f32>)>,
);

fn power_iterations(st: &SafeTensors) -> Case {
    let mut prog = Program::new();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for name in WEIGHTS {
        let (w, shape) = get(st, &format!("init.{name}.weight"));
        let (u, _) = get(st, &format!("init.{name}.weight.sn_u"));
        // W viewed [out, rest], as torch's spectral_norm flattens it.
        let (rows, cols) = (shape[0], w.len() / shape[0]);
        let sn = SpectralNormViews {
            w: prog.tensor(&format!("{name}.weight"), w.len()),
            u: prog.tensor(&format!("{name}.u"), rows),
            v: prog.tensor(&format!("{name}.v"), cols),
            sigma: prog.tensor(&format!("{name}.sigma"), 1),
        };
        spectral_norm_power(&mut prog, (rows, cols), sn, name).unwrap();
        inputs.push((sn.w, bits(&w)));
        inputs.push((sn.u, bits(&u)));
        let sigma = get(st, &format!("step.{name}.weight.sigma")).0;
        let u_after = get(st, &format!("after.{name}.weight.sn_u")).0;
        outputs.push((format!("step.{name}.weight.sigma"), sn.sigma, sigma));
        outputs.push((format!("after.{name}.weight.sn_u"), sn.u, u_after));
    }
    (prog, inputs, outputs)
}

fn check_all(what: &str, got: &[Vec<u32>], outputs: &[(String, View, Vec<f32>)]) {
    for (g, (name, _, want)) in got.iter().zip(outputs) {
        assert_close(&format!("{what}: {name}"), &floats(g), want, ABS, REL);
    }
}

#[test]
fn dvdgan_golden_power_iteration_on_the_cpu() {
    let bytes = fixture();
    let st = SafeTensors::deserialize(&bytes).expect("safetensors");
    let (prog, inputs, outputs) = power_iterations(&st);
    let views: Vec<View> = outputs.iter().map(|o| o.1).collect();
    check_all("cpu", &run_cpu(&prog, &inputs, &views), &outputs);
}

#[test]
fn dvdgan_golden_power_iteration_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    let bytes = fixture();
    let st = SafeTensors::deserialize(&bytes).expect("safetensors");
    let (prog, inputs, outputs) = power_iterations(&st);
    let views: Vec<View> = outputs.iter().map(|o| o.1).collect();
    check_all("gpu", &run_gpu(&ctx, &prog, &inputs, &views), &outputs);
}
