//! Adam, the step counters and the counter-based random ops: GPU against CPU twin, plus
//! known answers (Philox test vectors, Adam's first step) and distribution checks.

mod common;

use common::*;
use wgpu_gan::cpu::random::philox;
use wgpu_gan::gpu::{adapters, GpuOptions};
use wgpu_gan::ops::{self, AdamConfig, RandomStream};
use wgpu_gan::program::{Program, View};

const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-7,
};

fn adam_program(n: usize) -> (Program, [View; 5]) {
    let mut prog = Program::new();
    let p = prog.tensor("params", n);
    let g = prog.tensor("grads", n);
    let m = prog.tensor("adam_m", n);
    let v = prog.tensor("adam_v", n);
    let c = prog.tensor("counters", 4);
    let f = prog.tensor("flags", 2);
    ops::adam_step(&mut prog, ADAM, p, g, m, v, c, 2, (f, 1), "adam").unwrap();
    ops::adam_step(&mut prog, ADAM, p, g, m, v, c, 2, (f, 1), "adam again").unwrap();
    (prog, [p, g, m, v, c])
}

/// Two Adam steps of an n-long arena, GPU (and portable kernels) against the CPU twin.
fn adam_case(n: usize) {
    let (prog, [p, g, m, v, c]) = adam_program(n);
    let inputs = [
        (p, bits(&rand_vec(n, 1, -1.0, 1.0))),
        (g, bits(&rand_vec(n, 2, -1e-2, 1e-2))),
        (m, bits(&rand_vec(n, 3, -1e-3, 1e-3))),
        (v, bits(&rand_vec(n, 4, 0.0, 1e-4))),
        (c, vec![0, 0, 5, 0]),
    ];
    gpu_matches_cpu(
        &prog,
        &inputs,
        &[("params", p), ("m", m), ("v", v)],
        1e-7,
        1e-5,
    );
}

#[test]
fn adam_step_gpu_matches_cpu() {
    for n in [4, 68, 100_004] {
        adam_case(n);
    }
}

/// The wide variant (`gpu::variants`) takes arenas whose length is a multiple of 8 on CPU
/// adapters with 64-bit integers (lavapipe: CI); others keep adam_step.
#[test]
fn adam_step_wide_gpu_matches_cpu() {
    let Some(ctx) = gpu() else { return };
    if !(ctx.lavapipe_tuned() && ctx.features.contains(wgpu::Features::SHADER_INT64)) {
        let turned_off = GpuOptions::default().wants_portable_kernels();
        let capable = adapters(&GpuOptions::default())
            .into_iter()
            .next()
            .is_some_and(|a| {
                a.features().contains(wgpu::Features::SHADER_INT64)
                    && a.get_info().device_type == wgpu::DeviceType::Cpu
            });
        assert!(
            !capable || turned_off,
            "{} has 64-bit integers but no wide Adam",
            ctx.describe()
        );
        eprintln!(
            "\n*** SKIPPING adam_step_wide: {} is not a CPU adapter with 64-bit integers ***\n",
            ctx.describe()
        );
        return;
    }
    for n in [8, 136, 200_000] {
        assert!(uses_variants(&ctx, &adam_program(n).0), "n {n}");
        adam_case(n);
    }
    assert!(!uses_variants(&ctx, &adam_program(100_004).0));
}

#[test]
fn adam_step_rejects_a_length_that_is_not_a_multiple_of_4() {
    let mut prog = Program::new();
    let [p, g, m, v] = ["p", "g", "m", "v"].map(|n| prog.tensor(n, 5));
    let c = prog.tensor("counters", 1);
    assert!(ops::adam_step(&mut prog, ADAM, p, g, m, v, c, 0, (c, 0), "adam").is_err());
}

/// Small arenas (the wide variant's and adam_step's), and one large enough for the CPU twin to
/// split across threads (the bad gradient in the last part).
#[test]
fn adam_step_flags_a_non_finite_gradient() {
    for n in [8, 12, 200_000] {
        let (prog, [p, g, _, _, c]) = adam_program(n);
        let flags = View {
            len: 2,
            ..prog.ops.last().unwrap().bindings[5].0
        };
        for (bad, want) in [
            (None, 0.0),
            (Some(f32::NAN), 1.0),
            (Some(f32::INFINITY), 1.0),
        ] {
            let mut grads = vec![0.1f32; n];
            if let Some(b) = bad {
                grads[n - 3] = b;
            }
            let inputs = [(p, bits(&vec![1.0; n])), (g, bits(&grads)), (c, vec![0; 4])];
            assert_eq!(
                floats(&run_cpu(&prog, &inputs, &[flags])[0])[1],
                want,
                "cpu, n {n}, {bad:?}"
            );
            if let Some(ctx) = gpu() {
                assert_eq!(
                    floats(&run_gpu(&ctx, &prog, &inputs, &[flags])[0])[1],
                    want,
                    "gpu, n {n}, {bad:?}"
                );
            }
        }
    }
}

fn ema_program(n: usize) -> (Program, [View; 3]) {
    let mut prog = Program::new();
    let values = prog.tensor("g.params", n);
    let ema = prog.tensor("g_ema.params", n);
    let c = prog.tensor("counters", 3);
    ops::ema_update(&mut prog, values, ema, 0.999, (c, 2), "ema").unwrap();
    (prog, [values, ema, c])
}

#[test]
fn ema_update_gpu_matches_cpu() {
    for n in [4, 1024, 1_483_328] {
        let (prog, [values, ema, c]) = ema_program(n);
        let inputs = [
            (values, bits(&rand_vec(n, 3, -1.0, 1.0))),
            (ema, bits(&rand_vec(n, 4, -1.0, 1.0))),
            (c, vec![0, 0, 5000]),
        ];
        gpu_matches_cpu(&prog, &inputs, &[("ema", ema)], 1e-7, 1e-6);
    }
}

/// beta = min(decay, (1 + t)/(10 + t)): step 1 keeps 2/11 of the average, step 5000
/// 5001/5010, step 20000 the decay, 0.999.
#[test]
fn ema_update_warms_up_then_decays() {
    let (prog, [values, ema, c]) = ema_program(4);
    for (t, beta) in [
        (1u32, 2.0f32 / 11.0),
        (5000, 5001.0 / 5010.0),
        (20_000, 0.999),
    ] {
        let inputs = [
            (values, bits(&[1.0; 4])),
            (ema, bits(&[0.0; 4])),
            (c, vec![0, 0, t]),
        ];
        let got = floats(&run_cpu(&prog, &inputs, &[ema])[0]);
        assert_close("ema", &got, &[1.0 - beta; 4], 1e-6, 1e-5);
    }
    let mut bad = Program::new();
    let (v, e, c) = (bad.tensor("v", 6), bad.tensor("e", 6), bad.tensor("c", 1));
    let v = View { len: 6, ..v };
    assert!(ops::ema_update(&mut bad, v, View { len: 5, ..e }, 0.9, (c, 0), "short").is_err());
}

#[test]
fn counter_increment_gpu_matches_cpu() {
    let mut prog = Program::new();
    let c = prog.tensor("counters", 3);
    for _ in 0..3 {
        ops::counter_increment(&mut prog, c, 1, "tick");
    }
    let inputs = [(c, vec![7, 41, 9])];
    assert_eq!(run_cpu(&prog, &inputs, &[c])[0], vec![7, 44, 9]);
    if let Some(ctx) = gpu() {
        assert_eq!(run_gpu(&ctx, &prog, &inputs, &[c])[0], vec![7, 44, 9]);
    }
}

#[test]
fn adam_first_step_is_lr_times_sign() {
    // From m = v = 0 at t = 1: p -= lr * g / (|g| + eps), PyTorch's formula.
    let (mut prog, [p, g, m, v, c]) = adam_program(4);
    prog.ops.truncate(2); // counter increment + one step
    let grads = [0.5f32, -2.0, 1e-3, 0.0];
    let inputs = [(p, bits(&[1.0; 4])), (g, bits(&grads)), (c, vec![0; 4])];
    let out = run_cpu(&prog, &inputs, &[p, m, v, c]);
    let want: Vec<f32> = grads
        .iter()
        .map(|g| 1.0 - 2e-4 * g / (g.abs() + 1e-7))
        .collect();
    if let Some(ctx) = gpu() {
        let got = floats(&run_gpu(&ctx, &prog, &inputs, &[p])[0]);
        assert_close("gpu params", &got, &want, 1e-7, 1e-6);
    }
    assert_close("params", &floats(&out[0]), &want, 1e-7, 1e-6);
    assert_close("m", &floats(&out[1]), &grads.map(|g| 0.5 * g), 1e-9, 1e-6);
    assert_close(
        "v",
        &floats(&out[2]),
        &grads.map(|g| (1.0 - 0.999f32) * g * g),
        1e-12,
        1e-5,
    );
    assert_eq!(out[3][2], 1, "step counter");
}

#[test]
fn philox_matches_the_random123_test_vectors() {
    assert_eq!(
        philox([0; 4], [0; 2]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

fn fill_program(n: usize, normal: bool) -> (Program, View, View) {
    let mut prog = Program::new();
    let c = prog.tensor("counters", 2);
    let out = prog.tensor("out", n);
    let rs = RandomStream {
        seed: 0x1234_5678_9abc,
        stream: 3,
        slot: 1,
    };
    if normal {
        ops::normal_fill(&mut prog, rs, c, out, 0.0, 1.0, "noise");
    } else {
        ops::uniform_fill(&mut prog, rs, c, out, -1.0, 1.0, "noise");
    }
    (prog, c, out)
}

fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn normal_fill_gpu_matches_cpu() {
    let (prog, c, out) = fill_program(100_001, true);
    gpu_matches_cpu(&prog, &[(c, vec![0, 17])], &[("normal", out)], 2e-5, 1e-5);
    let v = floats(&run_cpu(&prog, &[(c, vec![0, 17])], &[out])[0]);
    let (mean, std) = mean_std(&v);
    assert!(
        mean.abs() < 0.01 && (std - 1.0).abs() < 0.01,
        "mean {mean} std {std}"
    );
    // Another iteration counter gives another stream.
    let w = floats(&run_cpu(&prog, &[(c, vec![0, 18])], &[out])[0]);
    assert!(v.iter().zip(&w).filter(|(a, b)| a == b).count() < 10);
}

#[test]
fn uniform_fill_gpu_matches_cpu() {
    let (prog, c, out) = fill_program(70_000, false);
    gpu_matches_cpu(&prog, &[(c, vec![0, 5])], &[("uniform", out)], 1e-7, 0.0);
    let v = floats(&run_cpu(&prog, &[(c, vec![0, 5])], &[out])[0]);
    assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
    let (mean, std) = mean_std(&v);
    assert!(
        mean.abs() < 0.01 && (std - (1.0f64 / 3.0).sqrt()).abs() < 0.01,
        "mean {mean} std {std}"
    );
}

#[test]
fn gather_batch_gpu_matches_cpu() {
    // Image i is filled with byte value i and labelled i % 10, so the gather is checkable.
    let (count, image_len, batch) = (37, 10, 9);
    let images: Vec<u8> = (0..count)
        .flat_map(|i| vec![i as u8 * 5; image_len])
        .collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    let mut prog = Program::new();
    let c = prog.tensor("counters", 1);
    let data = prog.tensor("dataset", (count * image_len).div_ceil(4));
    let lab = prog.tensor("labels", count.div_ceil(4));
    let x = prog.tensor("x", batch * image_len);
    let y = prog.tensor("y", batch);
    let rs = RandomStream {
        seed: 9,
        stream: 1,
        slot: 0,
    };
    ops::gather_batch(
        &mut prog,
        rs,
        c,
        data,
        lab,
        (count, image_len),
        x,
        y,
        "gather",
    )
    .unwrap();
    let pack = wgpu_gan::cpu::random::pack_bytes;
    let inputs = [(c, vec![4]), (data, pack(&images)), (lab, pack(&labels))];
    gpu_matches_cpu(&prog, &inputs, &[("x", x), ("y", y)], 0.0, 0.0);
    let out = run_cpu(&prog, &inputs, &[x, y]);
    let (xs, ys) = (floats(&out[0]), floats(&out[1]));
    for b in 0..batch {
        let row = &xs[b * image_len..(b + 1) * image_len];
        let sample = ((row[0] * 127.5 + 127.5).round() / 5.0) as usize;
        assert!(sample < count && row.iter().all(|&v| v == row[0]));
        assert_eq!(ys[b], (sample % 10) as f32, "label follows its image");
    }
}
