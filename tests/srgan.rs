//! The SRGAN golden file (tests/fixtures/srgan_step.safetensors, from shared/golden): from its
//! `init.*` weights, the CPU path and lavapipe each reproduce the LR images (avg_pool2d of HR),
//! the SRResNet pretraining forward, its MSE and its gradient of conv_in's weight, and, from G
//! after pretraining, the GAN step's SR, D and G losses and recorded gradients, within
//! 1e-5 + 1e-4·|ref|. The Adam steps come with the family.

mod common;
mod golden_nets;

use common::*;
use golden_nets::*;
use std::sync::Arc;
use wgpu_gan::cpu::pool::PoolGeometry;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models::SrganConfig;
use wgpu_gan::nn::{ArenaKind, Net};
use wgpu_gan::ops::{self, Head};
use wgpu_gan::program::{Program, View};

const BATCH: usize = 2;

struct Pretrain {
    prog: Program,
    g: Net,
    hr: View,
    lr: View,
    sr: View,
    metrics: View,
    /// The same pool on input.hr, for step.lr.
    hr_gan: View,
    lr_gan: View,
}

/// lr = avg_pool2d(hr, 4); sr = G(lr) in training mode; loss = mse(sr, hr); G's backward.
fn pretrain_program() -> Pretrain {
    let cfg = SrganConfig::golden();
    let (hr_len, lr_len) = (cfg.hr_size().pow(2), cfg.lr_size.pow(2));
    let mut prog = Program::new();
    let g = Net::new(&mut prog, "g", lr_len, cfg.generator());
    assert_eq!(g.out_features(), hr_len);
    let acts = g.acts(&mut prog, BATCH, "pretrain");
    let (hr, lr) = (
        prog.tensor("hr", BATCH * hr_len),
        prog.tensor("lr", BATCH * lr_len),
    );
    let (hr_gan, lr_gan) = (
        prog.tensor("hr gan", BATCH * hr_len),
        prog.tensor("lr gan", BATCH * lr_len),
    );
    let pool = PoolGeometry::pool2d(BATCH, 1, (8, 8), 4);
    ops::avg_pool_forward(&mut prog, pool, hr, lr, "lr").unwrap();
    ops::avg_pool_forward(&mut prog, pool, hr_gan, lr_gan, "lr gan").unwrap();
    let sr = g.forward(&mut prog, &acts, lr, true).unwrap();
    let grad = prog.tensor("grad sr", BATCH * hr_len);
    let metrics = prog.tensor("metrics", 3);
    let head = Head {
        stride: hr_len,
        offset: 0,
    };
    ops::code_head_loss(&mut prog, sr, hr, head, grad, (metrics, 0), 1.0, "mse").unwrap();
    g.backward(&mut prog, &acts, lr, grad, true, false, false)
        .unwrap();
    Pretrain {
        prog,
        g,
        hr,
        lr,
        sr,
        metrics,
        hr_gan,
        lr_gan,
    }
}

fn pretrain(exec: &mut dyn Executor, p: &Pretrain, who: &str) {
    let gold = Golden::load("srgan_step.safetensors");
    load_net(exec, &gold, &p.g);
    exec.write_f32(p.hr, &gold.get("input.hr_pretrain"));
    exec.write_f32(p.hr_gan, &gold.get("input.hr"));
    exec.run(0..p.prog.ops.len(), 1).unwrap();
    check(exec, &gold, p.lr, "step.lr_pretrain", who);
    check(exec, &gold, p.lr_gan, "step.lr", who);
    check(exec, &gold, p.sr, "step.sr_pretrain", who);
    let loss = exec.read_f32(p.metrics).unwrap()[0];
    assert_close(
        &format!("{who} step.pretrain_loss"),
        &[loss],
        &gold.get("step.pretrain_loss"),
        ABS,
        REL,
    );
    let t = p.g.find("conv_in.weight").unwrap();
    let grad = p.g.view(t, ArenaKind::Grads);
    check(exec, &gold, grad, "step.pretrain_grad_conv_in_weight", who);
}

#[test]
fn srgan_golden_pretrain_forward_and_gradient_on_cpu() {
    let p = pretrain_program();
    let mut cpu = CpuExec::new(&p.prog);
    pretrain(&mut cpu, &p, "cpu");
}

#[test]
fn srgan_golden_pretrain_forward_and_gradient_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let p = pretrain_program();
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &p.prog).unwrap();
    pretrain(&mut gpu, &p, "gpu");
}

/// The golden D has the shape the README gives: a 2x2 logit map from 8x8, conv1..conv3, head.
#[test]
fn srgan_golden_nets_have_the_files_tensors() {
    let cfg = SrganConfig::golden();
    let gold = Golden::load("srgan_step.safetensors");
    let mut prog = Program::new();
    let d = Net::new(&mut prog, "d", 64, cfg.discriminator());
    assert_eq!(d.out_features(), 4);
    let g = Net::new(&mut prog, "g", 4, cfg.generator());
    for net in [&g, &d] {
        for t in &net.tensors {
            let key = format!("init.{}.{}", net.prefix, t.name);
            assert_eq!(gold.get(&key).len(), t.len, "{key}");
        }
    }
    assert_eq!(g.tensors.len() + d.tensors.len(), 46, "every init tensor");
}

struct GanStep {
    prog: Program,
    g: Net,
    /// D before its step (the D step) and after it (the G step's third D pass).
    d: Net,
    d_after: Net,
    hr: View,
    sr: View,
    metrics: View,
}

/// From G after pretraining: sr = G(avg_pool2d(hr, 4)); the D step on hr (target 1) then the
/// detached sr (target 0), minimising their mean; the G step on mse(sr, hr) + 1e-3·BCE(D(sr), 1)
/// through the updated, frozen D, reusing sr.
fn gan_step_program() -> GanStep {
    use wgpu_gan::ops::Loss;
    let cfg = SrganConfig::golden();
    let (hr_len, lr_len) = (cfg.hr_size().pow(2), cfg.lr_size.pow(2));
    let mut prog = Program::new();
    let p = &mut prog;
    let g = Net::new(p, "g", lr_len, cfg.generator());
    let d = Net::new(p, "d", hr_len, cfg.discriminator());
    let d_after = Net::new(p, "d", hr_len, cfg.discriminator());
    let (hr, lr) = (
        p.tensor("hr", BATCH * hr_len),
        p.tensor("lr", BATCH * lr_len),
    );
    let metrics = p.tensor("metrics", 12);
    ops::avg_pool_forward(p, PoolGeometry::pool2d(BATCH, 1, (8, 8), 4), hr, lr, "lr").unwrap();
    let g_acts = g.acts(p, BATCH, "gan");
    let sr = g.forward(p, &g_acts, lr, true).unwrap();
    for (x, target, slot) in [(hr, 1.0, 0), (sr, 0.0, 3)] {
        let acts = d.acts(p, BATCH, &format!("d {slot}"));
        let logits = d.forward(p, &acts, x, true).unwrap();
        let grad = p.tensor(&format!("dlogit {slot}"), logits.len);
        ops::loss(
            p,
            Loss::BceWithLogits,
            logits,
            grad,
            metrics,
            slot,
            target,
            0.5,
            "d",
        )
        .unwrap();
        d.backward(p, &acts, x, grad, true, false, slot > 0)
            .unwrap();
    }
    let acts = d_after.acts(p, BATCH, "g adv");
    let logits = d_after.forward(p, &acts, sr, true).unwrap();
    let grad = p.tensor("g dlogit", logits.len);
    ops::loss(
        p,
        Loss::BceWithLogits,
        logits,
        grad,
        metrics,
        6,
        1.0,
        1e-3,
        "g adv",
    )
    .unwrap();
    let d_adv = d_after
        .backward(p, &acts, sr, grad, false, true, false)
        .unwrap()
        .unwrap();
    let d_content = p.tensor("content grad", sr.len);
    let head = Head {
        stride: hr_len,
        offset: 0,
    };
    ops::code_head_loss(p, sr, hr, head, d_content, (metrics, 9), 1.0, "content").unwrap();
    let d_sr = p.tensor("sr grad", sr.len);
    ops::axpby(p, (1.0, d_content), (1.0, d_adv), d_sr, "sr grad").unwrap();
    g.backward(p, &g_acts, lr, d_sr, true, false, false)
        .unwrap();
    GanStep {
        prog,
        g,
        d,
        d_after,
        hr,
        sr,
        metrics,
    }
}

fn gan_step(exec: &mut dyn Executor, s: &GanStep, who: &str) {
    let gold = Golden::load("srgan_step.safetensors");
    load_stage(exec, &gold, &s.g, "after_pretrain");
    load_net(exec, &gold, &s.d);
    load_stage(exec, &gold, &s.d_after, "after");
    exec.write_f32(s.hr, &gold.get("input.hr"));
    exec.run(0..s.prog.ops.len(), 1).unwrap();
    check(exec, &gold, s.sr, "step.sr", who);
    let m = exec.read_f32(s.metrics).unwrap();
    for (key, slot) in [
        ("step.d_loss_real", 0),
        ("step.d_loss_fake", 3),
        ("step.g_adv_loss", 6),
        ("step.g_content_loss", 9),
    ] {
        assert_close(
            &format!("{who} {key}"),
            &[m[slot]],
            &gold.get(key),
            ABS,
            REL,
        );
    }
    let grads = [
        (&s.d, "conv1.weight", "step.d_grad_conv1_weight"),
        (&s.g, "conv_in.weight", "step.g_grad_conv_in_weight"),
        (&s.g, "prelu_in.weight", "step.g_grad_prelu_in_weight"),
    ];
    for (net, name, key) in grads {
        check(
            exec,
            &gold,
            net.view(net.find(name).unwrap(), ArenaKind::Grads),
            key,
            who,
        );
    }
}

#[test]
fn srgan_golden_gan_step_losses_and_gradients_on_cpu() {
    let s = gan_step_program();
    let mut cpu = CpuExec::new(&s.prog);
    gan_step(&mut cpu, &s, "cpu");
}

#[test]
fn srgan_golden_gan_step_losses_and_gradients_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let s = gan_step_program();
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &s.prog).unwrap();
    gan_step(&mut gpu, &s, "gpu");
}
