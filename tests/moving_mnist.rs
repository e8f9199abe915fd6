//! The moving-MNIST generator: the kernel on the GPU against its CPU twin (the default 32x32,
//! 8 frames, 14-px digits from the embedded MNIST, and two digits on a 64 canvas), clips as pure
//! functions of (seed, iteration, index), and the motion: speed, bounces, overlap by max.

mod common;

use common::*;
use wgpu_gan::cpu::moving_mnist::{digit_path, travel, MovingMnistParams};
use wgpu_gan::cpu::random::pack_bytes;
use wgpu_gan::ops::moving_mnist::{moving_mnist, DigitSource, MovingMnist};
use wgpu_gan::ops::RandomStream;
use wgpu_gan::program::{Program, View};

struct Recorded {
    prog: Program,
    counters: View,
    images: View,
    labels: View,
    clips: View,
    clip_labels: View,
}

fn record(m: MovingMnist, (count, side): (usize, usize), seed: u64) -> Recorded {
    let mut prog = Program::new();
    let counters = prog.tensor("counters", 2);
    let images = prog.tensor("images", (count * side * side).div_ceil(4));
    let labels = prog.tensor("labels", count.div_ceil(4));
    let clips = prog.tensor("clips", m.clips_len());
    let clip_labels = prog.tensor("clip labels", m.clips * m.digits);
    let rs = RandomStream {
        seed,
        stream: 7,
        slot: 1,
    };
    let src = DigitSource {
        images,
        labels,
        count,
        side,
    };
    moving_mnist(
        &mut prog,
        rs,
        (counters, src),
        m,
        (clips, clip_labels),
        "mm",
    )
    .unwrap();
    Recorded {
        prog,
        counters,
        images,
        labels,
        clips,
        clip_labels,
    }
}

fn inputs(r: &Recorded, images: &[u8], labels: &[u8], iteration: u32) -> Vec<(View, Vec<u32>)> {
    vec![
        (r.counters, vec![0, iteration]),
        (r.images, pack_bytes(images)),
        (r.labels, pack_bytes(labels)),
    ]
}

fn config(
    clips: usize,
    frames: usize,
    size: usize,
    digits: usize,
    digit_size: usize,
) -> MovingMnist {
    MovingMnist {
        clips,
        frames,
        size,
        digits,
        digit_size,
        speed: 2.0,
    }
}

#[test]
fn moving_mnist_gpu_matches_cpu() {
    let mnist = wgpu_gan::data::embedded_mnist().unwrap();
    let (count, side) = (mnist.count, mnist.width);
    for m in [
        config(16, 8, 32, 1, 14),
        config(3, 16, 64, 2, 28),
        config(2, 5, 20, 3, 9),
    ] {
        let r = record(m, (count, side), 42);
        let ins = inputs(&r, &mnist.images, &mnist.labels, 5);
        let outputs = [("clips", r.clips), ("clip labels", r.clip_labels)];
        // Integer positions: the same pixels on both, up to the scaling's rounding.
        gpu_matches_cpu(&r.prog, &ins, &outputs, 1e-6, 0.0);
        let out = run_cpu(&r.prog, &ins, &[r.clips, r.clip_labels]);
        let clips = floats(&out[0]);
        assert!(clips.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(clips.iter().any(|&v| v > 0.5), "some digit stroke is drawn");
        let frame = m.size * m.size;
        let lit = clips[..frame].iter().filter(|&&v| v > -1.0).count();
        assert!(
            lit < frame / 2,
            "mostly background: {lit} of {frame} pixels lit"
        );
        assert!(floats(&out[1])
            .iter()
            .all(|&l| (0.0..10.0).contains(&l) && l.fract() == 0.0));
    }
}

/// A clip is a pure function of (seed, iteration, index): the same in a batch of 2 as in a
/// batch of 5, different at another iteration or seed.
#[test]
fn moving_mnist_clips_are_pure_functions_of_seed_iteration_and_index() {
    let mnist = wgpu_gan::data::embedded_mnist().unwrap();
    let src = (mnist.count, mnist.width);
    let run = |clips: usize, seed: u64, iteration: u32| {
        let r = record(config(clips, 4, 32, 1, 14), src, seed);
        let ins = inputs(&r, &mnist.images, &mnist.labels, iteration);
        floats(&run_cpu(&r.prog, &ins, &[r.clips])[0])
    };
    let (small, large) = (run(2, 1, 3), run(5, 1, 3));
    assert_eq!(small, large[..small.len()]);
    assert_ne!(
        small,
        run(2, 1, 4)[..],
        "another iteration draws other clips"
    );
    assert_ne!(small, run(2, 2, 3)[..], "another seed draws other clips");
}

/// A white square digit: its top-left corner moves `speed` px a frame and bounces off the edges,
/// staying on the canvas; two overlapping digits combine by max.
#[test]
fn moving_mnist_digits_move_at_their_speed_and_bounce() {
    let (side, size, ds, frames) = (4usize, 12usize, 4usize, 24usize);
    let images: Vec<u8> = [vec![255u8; side * side], vec![100u8; side * side]].concat();
    let mut m = config(6, frames, size, 2, ds);
    m.speed = 1.5;
    let r = record(m, (2, side), 9);
    let out = run_cpu(&r.prog, &inputs(&r, &images, &[3, 4], 0), &[r.clips]);
    let clips = floats(&out[0]);
    let p = MovingMnistParams {
        clips: 6,
        frames: frames as u32,
        size: size as u32,
        digits: 2,
        digit_size: ds as u32,
        count: 2,
        side: side as u32,
        slot: 1,
        seed_lo: 9,
        seed_hi: 0,
        stream: 7,
        speed: 1.5,
    };
    let span = ((size - ds) * 256) as i32;
    let mut bounces = 0;
    for b in 0..6u32 {
        let paths: Vec<_> = (0..2).map(|d| digit_path(&p, &[0, 0], b, d)).collect();
        for path in &paths {
            let (vx, vy) = path.velocity;
            let speed = ((vx * vx + vy * vy) as f32).sqrt() / 256.0;
            assert!((speed - 1.5).abs() < 0.01, "speed {speed}");
        }
        for t in 0..frames as u32 {
            let frame = &clips[((b as usize) * frames + t as usize) * size * size..][..size * size];
            let mut want = vec![-1.0f32; size * size];
            for path in &paths {
                let x = (travel(path.start.0, path.velocity.0, span, t) + 128) / 256;
                let y = (travel(path.start.1, path.velocity.1, span, t) + 128) / 256;
                assert!(
                    (0..=(size - ds) as i32).contains(&x) && (0..=(size - ds) as i32).contains(&y)
                );
                let v = (f32::from(images[path.sample as usize * side * side]) - 127.5) / 127.5;
                for k in 0..ds * ds {
                    let at = (y as usize + k / ds) * size + x as usize + k % ds;
                    want[at] = want[at].max(v);
                }
                // A digit at an edge leaves it at the next frame: the velocity flipped.
                for (start, vel) in [
                    (path.start.0, path.velocity.0),
                    (path.start.1, path.velocity.1),
                ] {
                    let (now, next) =
                        (travel(start, vel, span, t), travel(start, vel, span, t + 1));
                    if vel != 0 && (now == 0 || now == span) {
                        assert_ne!(now, next, "clip {b}: stuck at an edge at frame {t}");
                        bounces += 1;
                    }
                }
            }
            assert_close(&format!("clip {b} frame {t}"), frame, &want, 0.0, 0.0);
        }
    }
    assert!(bounces > 0, "24 frames on a 12-px canvas reach an edge");
}

#[test]
fn moving_mnist_rejects_a_digit_larger_than_the_canvas() {
    let mut prog = Program::new();
    let v = prog.tensor("v", 4);
    let m = config(1, 2, 8, 1, 9);
    let rs = RandomStream {
        seed: 0,
        stream: 0,
        slot: 0,
    };
    let src = DigitSource {
        images: v,
        labels: v,
        count: 1,
        side: 4,
    };
    let err = moving_mnist(&mut prog, rs, (v, src), m, (v, v), "mm").unwrap_err();
    assert!(
        err.to_string()
            .contains("digit size 9 is larger than the canvas (8)"),
        "{err}"
    );
}
