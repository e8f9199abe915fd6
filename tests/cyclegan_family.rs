//! `--model cyclegan` through its family's program (`train::families::cyclegan`): the golden
//! file tests/fixtures/cyclegan_step.safetensors reproduced by the training program itself, on
//! the CPU path and on lavapipe: the six generator passes, every loss, the recorded gradients
//! and `after.*`, all four nets (parameters and both Adam moments) after one G step and one D
//! step; and one full iteration at the default size (28x28) on the GPU against the CPU.

mod common;
mod golden_nets;

use common::*;
use golden_nets::*;
use std::sync::Arc;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models::CycleganConfig;
use wgpu_gan::nn::{ArenaKind, Net};
use wgpu_gan::ops::AdamConfig;
use wgpu_gan::train::families::cyclegan::program::{self as cycle, CycleSpec};
use wgpu_gan::train::schedule::GanProgram;
use wgpu_gan::train::{ModelKind, TrainConfig};

const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};

fn golden_spec() -> CycleSpec {
    CycleSpec {
        model: CycleganConfig::golden(),
        batch: 2,
        adam_g: ADAM,
        adam_d: ADAM,
        lambda_cycle: 10.0,
        lambda_identity: 0.5,
        pool_size: 50,
        seed: 0,
        data: None,
        sample_count: 2,
    }
}

/// The records the golden file checks, and the metric slot and weight of each loss.
const PASSES: [&str; 6] = [
    "step.fake_b",
    "step.fake_a",
    "step.rec_a",
    "step.rec_b",
    "step.idt_b",
    "step.idt_a",
];
const G_TERMS: [(&str, usize, f32); 6] = [
    ("step.g_adv_ab", cycle::G_ADV_AB, 1.0),
    ("step.g_adv_ba", cycle::G_ADV_BA, 1.0),
    ("step.g_cycle_a", cycle::CYCLE_A, 10.0),
    ("step.g_cycle_b", cycle::CYCLE_B, 10.0),
    ("step.g_idt_a", cycle::IDT_A, 5.0),
    ("step.g_idt_b", cycle::IDT_B, 5.0),
];

fn net<'a>(gan: &'a GanProgram, name: &str) -> &'a Net {
    gan.net(name).expect(name)
}

/// Loads `init.*` and the inputs, runs the step (no draws: the inputs are the file's) and
/// checks every record against the file.
fn golden(exec: &mut dyn Executor, gan: &GanProgram, who: &str) {
    let gold = Golden::load("cyclegan_step.safetensors");
    for n in gan.nets() {
        load_net(exec, &gold, n);
    }
    for key in ["input.a", "input.b"] {
        exec.write_f32(gan.record(key).unwrap(), &gold.get(key));
    }
    exec.run(gan.step.clone(), 1).unwrap();
    for key in PASSES {
        check(exec, &gold, gan.record(key).expect(key), key, who);
    }
    let m = exec.read_f32(gan.metrics).unwrap();
    let mut g_loss = 0.0;
    for (key, slot, weight) in G_TERMS {
        g_loss += m[slot] * weight;
        assert_close(
            &format!("{who} {key}"),
            &[m[slot] * weight],
            &gold.get(key),
            ABS,
            REL,
        );
    }
    let key = "step.g_loss";
    assert_close(&format!("{who} {key}"), &[g_loss], &gold.get(key), ABS, REL);
    for (key, real, fake) in [
        ("step.d_a_loss", cycle::D_A_REAL, cycle::D_A_FAKE),
        ("step.d_b_loss", cycle::D_B_REAL, cycle::D_B_FAKE),
    ] {
        let v = 0.5 * (m[real] + m[fake]);
        assert_close(&format!("{who} {key}"), &[v], &gold.get(key), ABS, REL);
    }
    let grads = [
        ("g_ab", "c0.weight", "step.g_grad_g_ab_c0_weight"),
        ("g_ba", "up0.weight", "step.g_grad_g_ba_up0_weight"),
        ("d_a", "c1.weight", "step.d_grad_d_a_c1_weight"),
    ];
    for (name, tensor, key) in grads {
        let n = net(gan, name);
        let v = n.view(n.find(tensor).unwrap(), ArenaKind::Grads);
        // tests/cyclegan.rs: one of this gradient's 98 values misses the bound by 1.5x on the
        // CPU path, as the README's float64 reference misses its own on this file; held at
        // twice the golden bound there, as that test does.
        let loose = who == "cpu" && key == "step.g_grad_g_ab_c0_weight";
        let k = if loose { 2.0 } else { 1.0 };
        let got = exec.read_f32(v).unwrap();
        assert_close(
            &format!("{who} {key}"),
            &got,
            &gold.get(key),
            k * ABS,
            k * REL,
        );
    }
    let mut checked = 0;
    for n in gan.nets() {
        for t in &n.tensors {
            for (arena, sfx) in [
                (ArenaKind::Params, ""),
                (ArenaKind::AdamM, ".adam_m"),
                (ArenaKind::AdamV, ".adam_v"),
            ] {
                let key = format!("after.{}.{}{sfx}", n.prefix, t.name);
                check(exec, &gold, n.view(t, arena), &key, who);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 72, "every after.* tensor of the file");
}

#[test]
fn cyclegan_family_program_reproduces_the_golden_step_on_cpu() {
    let gan = cycle::build(&golden_spec()).unwrap();
    let mut cpu = CpuExec::new(&gan.prog);
    golden(&mut cpu, &gan, "cpu");
}

#[test]
fn cyclegan_family_program_reproduces_the_golden_step_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let gan = cycle::build(&golden_spec()).unwrap();
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &gan.prog).unwrap();
    golden(&mut gpu, &gan, "gpu");
}

/// The default model (28x28, ngf 32, 6 blocks, ndf 32) at batch 2 from the family's initial
/// weights, one op at a time on lavapipe and on the CPU twins: each op's outputs compared, then
/// the GPU's copied into the CPU's buffers, so every op of the iteration (the six passes, every
/// loss, gradient, sum, pool answer and Adam step) is held to the CPU on the same inputs.
/// Compared whole instead, the two paths part at ReLU kinks: an instance-normed value within
/// rounding of 0 flips a mask, which moves G's gradients by up to 1% (seen at this size), and
/// Adam's first step is lr·sign(g) for the many tiny gradients.
#[test]
fn cyclegan_default_iteration_gpu_matches_cpu_op_by_op() {
    use wgpu_gan::kernels::Access;
    let Some(ctx) = gpu() else { return };
    let cfg = TrainConfig {
        batch_size: 2,
        params: wgpu_gan::train::params::resolve(ModelKind::Cyclegan, &Default::default()).unwrap(),
        ..TrainConfig::for_model(ModelKind::Cyclegan)
    };
    let spec = wgpu_gan::train::families::cyclegan::spec(&cfg, None, 2);
    assert_eq!((spec.model.size, spec.model.ngf), (28, 32));
    assert_eq!((spec.model.res_blocks, spec.model.ndf), (6, 32));
    let gan = cycle::build(&spec).unwrap();
    let mut cpu = wgpu_gan::exec::CpuProgram::new(&gan.prog);
    let g = wgpu_gan::gpu::GpuProgram::new(&ctx, &gan.prog).unwrap();
    let mut write = |v, data: &[u32]| {
        cpu.write(v, data);
        g.write(&ctx, v, data);
    };
    for (i, n) in gan.nets().into_iter().enumerate() {
        write(n.params, &bits(&cfg.init(n, 7 + i as u64).0));
    }
    for (i, key) in ["input.a", "input.b"].iter().enumerate() {
        let v = gan.record(key).unwrap();
        write(v, &bits(&rand_vec(v.len, 1 + i as u64, -1.0, 1.0)));
    }
    let mut compared = 0;
    for i in gan.step.clone() {
        cpu.run_range(&gan.prog, i..i + 1);
        g.run(&ctx, i..i + 1, 1);
        let op = &gan.prog.ops[i];
        for &(v, access) in &op.bindings {
            if access != Access::Write {
                continue;
            }
            let got = g.read(&ctx, v).unwrap();
            let what = format!(
                "op {i} {:?} ({}) -> {}",
                op.kernel,
                op.label,
                gan.prog.buffer_name(v)
            );
            assert_close(&what, &floats(&got), &floats(&cpu.read(v)), 1e-5, 1e-4);
            cpu.write(v, &got);
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared} outputs compared");
}

/// The embedded optdigits as MNIST was made: 1,797 labelled digits, each 8x8 body brought to
/// 20x20 inside an empty 4-pixel frame, full ink (16) at full brightness (255).
#[test]
fn optdigits_are_brought_to_28x28_like_mnist() {
    use wgpu_gan::data::optdigits::{framed, optdigits};
    let ds = optdigits().unwrap();
    assert_eq!(
        (ds.count, ds.channels, ds.height, ds.width),
        (1797, 1, 28, 28)
    );
    assert!(ds.labels.iter().all(|&l| l < 10));
    assert_eq!(ds.labels[..3], [0, 1, 2], "the file's first labels");
    let full = framed(&[16; 64]);
    for (i, &v) in full.iter().enumerate() {
        let (y, x) = (i / 28, i % 28);
        let inside = (4..24).contains(&y) && (4..24).contains(&x);
        assert_eq!(v, if inside { 255 } else { 0 }, "pixel ({y}, {x})");
    }
    let brightest = ds.images.chunks(784).map(|img| *img.iter().max().unwrap());
    assert!(
        brightest.clone().all(|m| m >= 200),
        "every digit has full ink"
    );
}
