//! DVD-GAN's golden iteration through the family's own program (`--model dvdgan`'s
//! `program::build` on the golden file's shrunk model): from `init.*` and the file's inputs, the
//! D step (power iteration, fakes, both discriminators' scores and hinge losses, D's gradients,
//! Adam) and the G step (fakes, G's two terms, G's gradients, Adam) reproduce every `step.*`
//! record and every `after.*` tensor (G, D_S, D_T, their Adam moments and u) within
//! 1e-5 + 1e-4·|ref|, on the CPU path and on the GPU.

mod common;
mod golden_nets;

use common::*;
use golden_nets::{Golden, ABS, REL};
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models::DvdganConfig;
use wgpu_gan::nn::{ArenaKind, Net, TensorKind};
use wgpu_gan::ops::moving_mnist::MovingMnist;
use wgpu_gan::ops::AdamConfig;
use wgpu_gan::train::families::dvdgan::{self, program, VideoSchedule};
use wgpu_gan::train::schedule::GanProgram;

fn adam(lr: f32) -> AdamConfig {
    AdamConfig {
        lr,
        beta1: 0.0,
        beta2: 0.999,
        eps: 1e-8,
    }
}

/// The family's program on the golden model: one D step, inputs written by the caller.
fn golden_program() -> GanProgram {
    let model = DvdganConfig::golden();
    let s = VideoSchedule {
        batch: 2,
        d_steps: 1,
        spatial: true,
        temporal: true,
        seed: 0,
        generated: false,
        clips: MovingMnist {
            clips: 2,
            frames: model.frames,
            size: model.size,
            digits: 1,
            digit_size: 4,
            speed: 1.0,
        },
        sample_count: 2,
        model: model.clone(),
    };
    let nets = dvdgan::nets(&model, (true, true), 0.0);
    let groups = dvdgan::optimizers((true, true), adam(4e-4), adam(1e-4));
    program::build(&s, nets, groups, None).expect("golden program")
}

/// The golden file's module of net `prefix`: G's five nets are one `g` there (the GRU's gates
/// under `g.gru`), D_T's two nets one `d_t`.
fn module(prefix: &str) -> &'static str {
    match prefix {
        "g" | "g_frames" => "g",
        "g_gru_r" | "g_gru_u" | "g_gru_c" => "g.gru",
        "d_s" => "d_s",
        "d_t" | "d_t2" => "d_t",
        other => panic!("no golden module for net {other}"),
    }
}

/// Every tensor of every net with its golden key (v, which the file does not hold, aside).
fn keyed(gan: &GanProgram) -> Vec<(&Net, usize, String)> {
    let mut out = Vec::new();
    for net in gan.nets() {
        for (i, t) in net.tensors.iter().enumerate() {
            if !t.name.ends_with(".sn_v") {
                out.push((net, i, format!("{}.{}", module(&net.prefix), t.name)));
            }
        }
    }
    out
}

fn record(gan: &GanProgram, name: &str) -> wgpu_gan::program::View {
    gan.record(name)
        .unwrap_or_else(|| panic!("program has no record {name}"))
}

fn grad(gan: &GanProgram, net: &str, tensor: &str) -> wgpu_gan::program::View {
    let net = gan.net(net).unwrap();
    net.view(net.find(tensor).unwrap(), ArenaKind::Grads)
}

fn check(exec: &dyn Executor, gold: &Golden, v: wgpu_gan::program::View, key: &str, who: &str) {
    let got = exec.read_f32(v).unwrap();
    assert_close(&format!("{who} {key}"), &got, &gold.get(key), ABS, REL);
}

fn scalar(exec: &dyn Executor, gold: &Golden, got: f32, key: &str, who: &str) {
    let _ = exec;
    assert_close(&format!("{who} {key}"), &[got], &gold.get(key), ABS, REL);
}

fn iteration(exec: &mut dyn Executor, gan: &GanProgram, who: &str) {
    let gold = Golden::load("dvdgan_step.safetensors");
    for (net, i, key) in keyed(gan) {
        let t = &net.tensors[i];
        exec.write_f32(
            net.view(t, ArenaKind::Params),
            &gold.get(&format!("init.{key}")),
        );
    }
    for name in ["input.z_d", "input.z_g"] {
        exec.write_f32(gan.input(name).unwrap(), &gold.get(name));
    }
    for name in ["input.real", "input.frames_d", "input.frames_g"] {
        exec.write_f32(record(gan, name), &gold.get(name));
    }
    exec.run(gan.phase("D 1").unwrap(), 1).unwrap();
    for name in [
        "step.fake",
        "step.d_s_real",
        "step.d_s_fake",
        "step.d_t_real",
        "step.d_t_fake",
    ] {
        check(exec, &gold, record(gan, name), name, who);
    }
    let m = exec.read_f32(gan.metrics).unwrap();
    scalar(exec, &gold, m[0] + m[3], "step.d_s_loss", who);
    scalar(exec, &gold, m[6] + m[9], "step.d_t_loss", who);
    let (dt, ds) = (
        grad(gan, "d_t", "down0.conv1.weight"),
        grad(gan, "d_s", "fc.weight"),
    );
    check(exec, &gold, dt, "step.d_grad_d_t_down0_conv1_weight", who);
    check(exec, &gold, ds, "step.d_grad_d_s_fc_weight", who);
    exec.run(gan.phase("G").unwrap(), 1).unwrap();
    check(exec, &gold, record(gan, "step.g_fake"), "step.g_fake", who);
    let m = exec.read_f32(gan.metrics).unwrap();
    scalar(exec, &gold, m[12], "step.g_s_loss", who);
    scalar(exec, &gold, m[15], "step.g_t_loss", who);
    let u = grad(gan, "g_gru_u", "conv_u.weight");
    check(exec, &gold, u, "step.g_grad_gru_conv_u_weight", who);
    check(
        exec,
        &gold,
        grad(gan, "g", "fc.weight"),
        "step.g_grad_fc_weight",
        who,
    );
    after(exec, gan, &gold, who);
}

/// Every `after.*` tensor: parameters, running statistics and u, and Adam's moments.
fn after(exec: &dyn Executor, gan: &GanProgram, gold: &Golden, who: &str) {
    let mut checked = 0;
    for (net, i, key) in keyed(gan) {
        let t = &net.tensors[i];
        check(
            exec,
            gold,
            net.view(t, ArenaKind::Params),
            &format!("after.{key}"),
            who,
        );
        checked += 1;
        if t.kind == TensorKind::Param {
            for (arena, what) in [(ArenaKind::AdamM, "adam_m"), (ArenaKind::AdamV, "adam_v")] {
                check(
                    exec,
                    gold,
                    net.view(t, arena),
                    &format!("after.{key}.{what}"),
                    who,
                );
                checked += 2;
            }
        }
    }
    assert!(
        checked > 150,
        "{who}: only {checked} after.* tensors checked"
    );
}

#[test]
fn dvdgan_golden_iteration_through_the_family_on_the_cpu() {
    let gan = golden_program();
    let mut cpu = CpuExec::new(&gan.prog);
    iteration(&mut cpu, &gan, "cpu");
}

#[test]
fn dvdgan_golden_iteration_through_the_family_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    let gan = golden_program();
    let mut exec = GpuExec::new(ctx, &gan.prog).expect("plan");
    iteration(&mut exec, &gan, "gpu");
}
