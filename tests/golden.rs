//! The PyTorch-computed golden iterations (tests/fixtures, from shared/golden): the CPU path and
//! the GPU path must each reproduce every intermediate value, loss, gradient, parameter, Adam
//! moment and running statistic within |a - b| <= 1e-5 + 1e-4 |ref|.

mod common;

use common::*;
use safetensors::SafeTensors;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models::{DcganConfig, MlpConfig};
use wgpu_gan::nn::{ArenaKind, Net, TensorKind};
use wgpu_gan::ops::{Activation, AdamConfig, Loss};
use wgpu_gan::train::schedule::{
    self, Aux, GanProgram, ScheduleConfig, ScheduleKind, D_FAKE, D_REAL, G_LOSS,
};

const ABS: f32 = 1e-5;
const REL: f32 = 1e-4;

struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    fn load(name: &str) -> Self {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        Self {
            bytes: std::fs::read(path).expect("fixture"),
        }
    }

    fn get(&self, name: &str) -> Vec<f32> {
        let st = SafeTensors::deserialize(&self.bytes).expect("safetensors");
        let t = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("fixture has no {name}"));
        t.data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

fn mlp_program() -> GanProgram {
    let cfg = MlpConfig {
        latent: 8,
        g_hidden: vec![16, 32, 64],
        d_hidden: vec![32, 16],
        image_len: 64,
        slope: 0.2,
        bn_eps: 1e-3,
        bn_momentum: 0.3,
    };
    let sched = golden_schedule(ScheduleKind::Seed, 2, 1e-7);
    schedule::build(&sched, 8, cfg.generator(), cfg.discriminator(), None).expect("build")
}

/// The golden iterations' schedule: batch 4, one D step, `g_steps` G steps, BCE, Adam(2e-4,
/// 0.5, 0.999, `eps`) for both nets, inputs supplied by the test.
fn golden_schedule(kind: ScheduleKind, g_steps: usize, eps: f32) -> ScheduleConfig {
    let adam = AdamConfig {
        lr: 2e-4,
        beta1: 0.5,
        beta2: 0.999,
        eps,
    };
    ScheduleConfig {
        kind,
        batch: 4,
        d_steps: 1,
        g_steps,
        adam_d: adam,
        adam_g: adam,
        loss: Loss::BceWithLogits,
        classes: 0,
        aux: Aux::None,
        mismatch: false,
        g_ema: 0.0,
        gp_weight: 0.0,
        seed: 0,
        generated: false,
        sample_count: 1,
    }
}

fn load_net(exec: &mut dyn Executor, gold: &Golden, net: &Net) {
    for t in &net.tensors {
        let data = gold.get(&format!("init.{}.{}", net.prefix, t.name));
        exec.write_f32(net.view(t, ArenaKind::Params), &data);
    }
}

/// Compares every tensor of `net` (and its Adam moments) with `<stage>.<prefix>.<name>`.
fn check_net(exec: &dyn Executor, gold: &Golden, net: &Net, stage: &str, who: &str) {
    for t in &net.tensors {
        let key = format!("{stage}.{}.{}", net.prefix, t.name);
        let got = exec.read_f32(net.view(t, ArenaKind::Params)).unwrap();
        assert_close(&format!("{who} {key}"), &got, &gold.get(&key), ABS, REL);
        if t.kind == TensorKind::Param {
            for (arena, sfx) in [(ArenaKind::AdamM, "adam_m"), (ArenaKind::AdamV, "adam_v")] {
                let got = exec.read_f32(net.view(t, arena)).unwrap();
                assert_close(
                    &format!("{who} {key}.{sfx}"),
                    &got,
                    &gold.get(&format!("{key}.{sfx}")),
                    ABS,
                    REL,
                );
            }
        }
    }
}

fn check_view(
    exec: &dyn Executor,
    gold: &Golden,
    v: wgpu_gan::program::View,
    key: &str,
    who: &str,
) {
    let got = exec.read_f32(v).unwrap();
    assert_close(&format!("{who} {key}"), &got, &gold.get(key), ABS, REL);
}

fn check_loss(exec: &dyn Executor, gan: &GanProgram, slot: usize, want: f32, key: &str, who: &str) {
    let m = exec.read_f32(gan.metrics).unwrap();
    assert_close(&format!("{who} {key}"), &[m[slot]], &[want], ABS, REL);
}

fn mlp_golden_iteration(exec: &mut dyn Executor, gan: &GanProgram, who: &str) {
    let gold = Golden::load("mlp_seed_step.safetensors");
    load_net(exec, &gold, gan.net("g").unwrap());
    load_net(exec, &gold, gan.net("d").unwrap());
    for name in ["input.z_fake", "input.real", "input.z_g1", "input.z_g2"] {
        exec.write_f32(gan.input(name).unwrap(), &gold.get(name));
    }
    let grad_fc1 = |net: &Net| net.view(net.find("fc1.weight").unwrap(), ArenaKind::Grads);
    let logit = gan.record("d.logit").unwrap();
    let run =
        |exec: &mut dyn Executor, phase: &str| exec.run(gan.phase(phase).unwrap(), 1).unwrap();

    run(exec, "G predict");
    check_view(
        exec,
        &gold,
        gan.record("step.fake_for_d").unwrap(),
        "step.fake_for_d",
        who,
    );
    for (phase, tag, slot) in [("D real", "real", D_REAL), ("D fake", "fake", D_FAKE)] {
        run(exec, phase);
        check_view(exec, &gold, logit, &format!("step.d_logit_{tag}"), who);
        check_view(
            exec,
            &gold,
            grad_fc1(gan.net("d").unwrap()),
            &format!("step.d_grad_fc1_weight_{tag}"),
            who,
        );
        let want = gold.get(&format!("step.d_loss_{tag}"))[0];
        check_loss(exec, gan, slot, want, &format!("step.d_loss_{tag}"), who);
    }
    check_net(exec, &gold, gan.net("d").unwrap(), "after_d", who);
    let mut g_loss_sum = 0.0;
    for j in ["1", "2"] {
        run(exec, &format!("G {j}"));
        check_view(
            exec,
            &gold,
            gan.record(&format!("step.g_image_{j}")).unwrap(),
            &format!("step.g_image_{j}"),
            who,
        );
        check_view(
            exec,
            &gold,
            grad_fc1(gan.net("g").unwrap()),
            &format!("step.g_grad_fc1_weight_{j}"),
            who,
        );
        g_loss_sum += gold.get(&format!("step.g_loss_{j}"))[0];
        // The G loss slot accumulates both steps.
        check_loss(
            exec,
            gan,
            G_LOSS,
            g_loss_sum,
            &format!("step.g_loss_{j} (running sum)"),
            who,
        );
    }
    check_net(exec, &gold, gan.net("g").unwrap(), "after", who);
    check_net(exec, &gold, gan.net("d").unwrap(), "after", who);
}

#[test]
fn mlp_golden_iteration_on_cpu() {
    let gan = mlp_program();
    let mut exec = CpuExec::new(&gan.prog);
    mlp_golden_iteration(&mut exec, &gan, "cpu");
}

#[test]
fn mlp_golden_iteration_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let gan = mlp_program();
    let mut exec = GpuExec::new(ctx, &gan.prog).expect("plan");
    mlp_golden_iteration(&mut exec, &gan, "gpu");
}

/// The golden DCGAN: latent 4, batch 4, 1x8x8 images, G LeakyReLU(0.2), PyTorch BN defaults.
fn dcgan_program() -> GanProgram {
    let cfg = DcganConfig {
        image_size: 8,
        g_act: Activation::LeakyRelu(0.2),
        ..DcganConfig::mnist(4, 8, 4)
    };
    let sched = golden_schedule(ScheduleKind::Dcgan, 1, 1e-8);
    schedule::build(&sched, 4, cfg.generator(), cfg.discriminator(), None).expect("build")
}

fn dcgan_golden_iteration(exec: &mut dyn Executor, gan: &GanProgram, who: &str) {
    let gold = Golden::load("dcgan_step.safetensors");
    load_net(exec, &gold, gan.net("g").unwrap());
    load_net(exec, &gold, gan.net("d").unwrap());
    for name in ["input.z", "input.real"] {
        exec.write_f32(gan.input(name).unwrap(), &gold.get(name));
    }
    let grad = |net: &Net, name: &str| net.view(net.find(name).unwrap(), ArenaKind::Grads);

    exec.run(gan.phase("D").unwrap(), 1).unwrap();
    check_view(
        exec,
        &gold,
        gan.record("step.fake").unwrap(),
        "step.fake",
        who,
    );
    for (slot, key) in [(D_REAL, "step.d_loss_real"), (D_FAKE, "step.d_loss_fake")] {
        check_loss(exec, gan, slot, gold.get(key)[0], key, who);
    }
    let d_grad = grad(gan.net("d").unwrap(), "down2.weight");
    check_view(exec, &gold, d_grad, "step.d_grad_down2_weight", who);
    let d_grads = exec.read_f32(gan.net("d").unwrap().grads).unwrap();

    exec.run(gan.phase("G").unwrap(), 1).unwrap();
    check_loss(
        exec,
        gan,
        G_LOSS,
        gold.get("step.g_loss")[0],
        "step.g_loss",
        who,
    );
    let g_grad = grad(gan.net("g").unwrap(), "up1.weight");
    check_view(exec, &gold, g_grad, "step.g_grad_up1_weight", who);
    // The G step runs D frozen: it must leave every D gradient (batch norm's included) alone.
    let after = exec.read_f32(gan.net("d").unwrap().grads).unwrap();
    assert_close(
        &format!("{who} D grads after the G step"),
        &after,
        &d_grads,
        0.0,
        0.0,
    );
    check_net(exec, &gold, gan.net("g").unwrap(), "after", who);
    check_net(exec, &gold, gan.net("d").unwrap(), "after", who);
}

#[test]
fn dcgan_golden_iteration_on_cpu() {
    let gan = dcgan_program();
    let mut exec = CpuExec::new(&gan.prog);
    dcgan_golden_iteration(&mut exec, &gan, "cpu");
}

#[test]
fn dcgan_golden_iteration_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let gan = dcgan_program();
    let mut exec = GpuExec::new(ctx, &gan.prog).expect("plan");
    dcgan_golden_iteration(&mut exec, &gan, "gpu");
}

/// The GPU-shaped kernels of shaders/matmul_tiled.wgsl, forced wherever eligible (with their
/// fused epilogues), as `WGPU_GAN_KERNELS` would.
fn tiled_kernels_gpu() -> Option<std::sync::Arc<wgpu_gan::gpu::Context>> {
    use wgpu_gan::kernels::Kernel as K;
    gpu()?;
    let opts = wgpu_gan::gpu::GpuOptions {
        kernels: Some(vec![
            K::MatmulBtSkinnyBn,
            K::MatmulSkinny,
            K::MatmulBtSkinny,
            K::MatmulAtSmallK,
            K::MatmulTiled,
            K::MatmulAtTiled,
            K::MatmulBtTiled,
        ]),
        ..Default::default()
    };
    let ctx = wgpu_gan::gpu::Context::new(&opts).expect("a second context");
    Some(std::sync::Arc::new(ctx))
}

#[test]
fn mlp_golden_iteration_on_gpu_tiled_kernels() {
    let Some(ctx) = tiled_kernels_gpu() else {
        return;
    };
    let gan = mlp_program();
    let mut exec = GpuExec::new(ctx, &gan.prog).expect("plan");
    assert!(exec.gpu.dispatches(0..gan.prog.ops.len()) < gan.prog.ops.len());
    mlp_golden_iteration(&mut exec, &gan, "gpu tiled");
}

#[test]
fn dcgan_golden_iteration_on_gpu_tiled_kernels() {
    let Some(ctx) = tiled_kernels_gpu() else {
        return;
    };
    let gan = dcgan_program();
    let mut exec = GpuExec::new(ctx, &gan.prog).expect("plan");
    dcgan_golden_iteration(&mut exec, &gan, "gpu tiled");
}
