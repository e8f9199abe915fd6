//! `--model dvdgan` at its default size (32x32 clips of 8 frames, batch 16): one whole
//! iteration (moving-MNIST clips and D_S's frames drawn on the device, two D steps, the G step,
//! the sample clips) on the GPU against the CPU path; clips a pure function of (seed,
//! iteration, index).

mod common;

use common::*;
use std::sync::Arc;
use wgpu_gan::exec::{CpuExec, Executor, GpuExec};
use wgpu_gan::train::{upload_initial_state, ModelKind, TrainConfig};

#[test]
fn dvdgan_gpu_equals_cpu_for_one_default_iteration() {
    let Some(ctx) = gpu() else { return };
    let cfg = TrainConfig::for_model(ModelKind::Dvdgan);
    let ds = cfg.data.load().unwrap();
    let gan = cfg.program(ds.count, ds.image_len()).unwrap();
    let mut cpu = CpuExec::new(&gan.prog);
    let mut gpu = GpuExec::new(Arc::clone(&ctx), &gan.prog).unwrap();
    let d1 = gan.phase("D 1").unwrap().end;
    for exec in [&mut cpu as &mut dyn Executor, &mut gpu] {
        upload_initial_state(exec, &gan, &ds, &cfg);
        exec.run(0..d1, 1).unwrap();
    }
    // The first D step matches closely; after it, Adam's first steps (about lr in size
    // whatever the gradient, so a near-zero gradient's rounding flips them) part the paths.
    let (g, c) = (
        gpu.read_f32(gan.metrics).unwrap(),
        cpu.read_f32(gan.metrics).unwrap(),
    );
    assert_close("losses of D's first step", &g, &c, 1e-5, 1e-4);
    for net in gan.nets() {
        let (g, c) = (
            gpu.read_f32(net.state).unwrap(),
            cpu.read_f32(net.state).unwrap(),
        );
        let what = format!(
            "{} running statistics, u, v after D's first step",
            net.prefix
        );
        assert_close(&what, &g, &c, 1e-5, 1e-4);
    }
    for exec in [&mut cpu as &mut dyn Executor, &mut gpu] {
        exec.run(d1..gan.iteration.end, 1).unwrap();
        exec.run(gan.sample.clone(), 1).unwrap();
    }
    let both = |v| (gpu.read_f32(v).unwrap(), cpu.read_f32(v).unwrap());
    for name in [
        "input.real",
        "input.real_2",
        "input.frames_d",
        "input.frames_g",
    ] {
        let (g, c) = both(gan.record(name).unwrap());
        assert!(g.iter().any(|&x| x != g[0]), "{name} is constant");
        assert_close(name, &g, &c, 0.0, 0.0);
    }
    let (g, c) = both(gan.metrics);
    assert!(g.iter().all(|x| x.is_finite()), "metrics {g:?}");
    assert_close("losses", &g, &c, 1e-2, 1e-2);
    let steps = (cfg.d_steps + cfg.g_steps) as f32;
    for net in gan.nets() {
        let (g, c) = both(net.state);
        assert_close(
            &format!("{} running statistics, u, v", net.prefix),
            &g,
            &c,
            1e-2,
            1e-2,
        );
        let (g, c) = both(net.params);
        // Adam's first steps are about lr in size whatever the gradient: a bound, not a match.
        let bound = 2.0 * cfg.lr_d() * steps + 1e-5;
        assert_close(
            &format!("{} params (bound)", net.prefix),
            &g,
            &c,
            bound,
            0.0,
        );
    }
    let (g, c) = both(gan.sample_out);
    assert_close("sample clips (from the parted weights)", &g, &c, 2e-2, 0.0);
}
