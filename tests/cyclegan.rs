//! The CycleGAN golden file (tests/fixtures/cyclegan_step.safetensors, from shared/golden): from
//! its `init.*` weights, the CPU path and lavapipe each reproduce the six generator passes of the
//! iteration (fake_b, fake_a, rec_a, rec_b, idt_b, idt_a) within 1e-5 + 1e-4·|ref|.

mod common;
mod golden_nets;

use common::*;
use golden_nets::*;
use std::sync::Arc;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::models::CycleganConfig;
use wgpu_gan::nn::Net;
use wgpu_gan::program::{Program, View};

const BATCH: usize = 2;

struct Passes {
    prog: Program,
    g_ab: Net,
    g_ba: Net,
    a: View,
    b: View,
    /// (record name, view) of each pass.
    outs: Vec<(&'static str, View)>,
}

/// The six passes, each with its own activations (training mode: instance norm has no mode).
fn passes_program() -> Passes {
    let cfg = CycleganConfig::golden();
    let len = cfg.channels * cfg.size * cfg.size;
    let mut prog = Program::new();
    let g_ab = Net::new(&mut prog, "g_ab", len, cfg.generator());
    let g_ba = Net::new(&mut prog, "g_ba", len, cfg.generator());
    assert_eq!(g_ab.out_features(), len);
    let (a, b) = (prog.tensor("a", BATCH * len), prog.tensor("b", BATCH * len));
    let pass = |prog: &mut Program, net: &Net, x: View, tag: &str| {
        let acts = net.acts(prog, BATCH, tag);
        net.forward(prog, &acts, x, true).unwrap()
    };
    let fake_b = pass(&mut prog, &g_ab, a, "fake_b");
    let fake_a = pass(&mut prog, &g_ba, b, "fake_a");
    let rec_a = pass(&mut prog, &g_ba, fake_b, "rec_a");
    let rec_b = pass(&mut prog, &g_ab, fake_a, "rec_b");
    let idt_b = pass(&mut prog, &g_ab, b, "idt_b");
    let idt_a = pass(&mut prog, &g_ba, a, "idt_a");
    let outs = vec![
        ("step.fake_b", fake_b),
        ("step.fake_a", fake_a),
        ("step.rec_a", rec_a),
        ("step.rec_b", rec_b),
        ("step.idt_b", idt_b),
        ("step.idt_a", idt_a),
    ];
    Passes {
        prog,
        g_ab,
        g_ba,
        a,
        b,
        outs,
    }
}

fn passes(exec: &mut dyn Executor, p: &Passes, who: &str) {
    let gold = Golden::load("cyclegan_step.safetensors");
    load_net(exec, &gold, &p.g_ab);
    load_net(exec, &gold, &p.g_ba);
    exec.write_f32(p.a, &gold.get("input.a"));
    exec.write_f32(p.b, &gold.get("input.b"));
    exec.run(0..p.prog.ops.len(), 1).unwrap();
    for (key, v) in &p.outs {
        check(exec, &gold, *v, key, who);
    }
}

#[test]
fn cyclegan_golden_generator_passes_on_cpu() {
    let p = passes_program();
    let mut cpu = CpuExec::new(&p.prog);
    passes(&mut cpu, &p, "cpu");
}

#[test]
fn cyclegan_golden_generator_passes_on_gpu() {
    let Some(ctx) = gpu() else { return };
    let p = passes_program();
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &p.prog).unwrap();
    passes(&mut gpu, &p, "gpu");
}

/// The golden D gives the README's 2x2 map, and the four nets hold exactly the file's tensors.
#[test]
fn cyclegan_golden_nets_have_the_files_tensors() {
    let cfg = CycleganConfig::golden();
    let gold = Golden::load("cyclegan_step.safetensors");
    let mut prog = Program::new();
    let mut count = 0;
    for prefix in ["g_ab", "g_ba", "d_a", "d_b"] {
        let layers = if prefix.starts_with('g') {
            cfg.generator()
        } else {
            cfg.discriminator()
        };
        let net = Net::new(&mut prog, prefix, 64, layers);
        if prefix.starts_with('d') {
            assert_eq!(net.out_features(), 4, "a 2x2 map");
        }
        for t in &net.tensors {
            let key = format!("init.{prefix}.{}", t.name);
            assert_eq!(gold.get(&key).len(), t.len, "{key}");
            count += 1;
        }
    }
    assert_eq!(count, 24, "every init tensor");
}
