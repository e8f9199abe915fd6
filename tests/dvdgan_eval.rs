//! `eval`'s video figures on clips whose answers are known: real moving-MNIST clips (their
//! centroid moves at about --speed px/frame, none is static, their digit keeps its class) and
//! a constructed static clip; a per-frame Fréchet distance near 0 between two sets of real
//! clips and far from it for noise.

use wgpu_gan::eval::classifier::{self, ClassifierTraining};
use wgpu_gan::eval::Classify;
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::GpuOptions;
use wgpu_gan::train::families::dvdgan::eval::{centroid, motion, score};
use wgpu_gan::train::families::dvdgan::samples::real_clips;
use wgpu_gan::train::{ModelKind, TrainConfig};

const N: usize = 64;
const T: usize = 8;
const S: usize = 32;

#[test]
fn real_clips_move_at_the_speed_asked_and_a_still_clip_is_static() {
    let cfg = TrainConfig::for_model(ModelKind::Dvdgan);
    let (clips, _) = real_clips(&cfg, N, 1, 5).unwrap();
    let (speed, statics, smooth) = motion(&clips, (N, T, S));
    assert!((speed - 2.0).abs() < 0.3, "speed {speed} px/frame, asked 2");
    assert_eq!(statics, 0.0, "static share of real clips");
    // Straight lines but for bounces (a flipped component changes the velocity by up to
    // 2·speed) and rounding: far smoother than a new direction each frame (about 1.4·speed).
    eprintln!("real clips: speed {speed}, static {statics}, smoothness {smooth}");
    assert!(smooth < 0.75 * speed, "smoothness {smooth}");
    let first = &clips[..S * S];
    let still: Vec<f32> = (0..T).flat_map(|_| first.iter().copied()).collect();
    let (speed, statics, smooth) = motion(&still, (1, T, S));
    assert_eq!((speed, statics, smooth), (0.0, 1.0, 0.0));
    // A clip drawn with the digit 3 px right of the first: the centroid moves 3 px.
    let (a, b) = (centroid(first, S), centroid(&shifted(first, 3), S));
    assert!(
        (b.0 - a.0 - 3.0).abs() < 1e-3 && (b.1 - a.1).abs() < 1e-3,
        "{a:?} {b:?}"
    );
}

fn shifted(frame: &[f32], dx: usize) -> Vec<f32> {
    let mut out = vec![-1.0; S * S];
    for y in 0..S {
        for x in 0..S - dx {
            out[y * S + x + dx] = frame[y * S + x];
        }
    }
    // The digit must not touch the right edge for the shift to be exact.
    assert!((0..S).all(|y| (S - dx..S).all(|x| frame[y * S + x] == -1.0)));
    out
}

#[test]
fn real_clips_score_near_zero_against_real_ones_and_keep_their_digit() {
    let cfg = TrainConfig::for_model(ModelKind::Dvdgan);
    let ds = cfg.data.load().unwrap();
    let t = ClassifierTraining {
        steps: 300,
        device: DeviceKind::Cpu,
        ..Default::default()
    };
    let gpu = GpuOptions::default();
    let c = classifier::train(&ds, &t, &gpu, |l| eprintln!("{l}")).unwrap();
    let mut classify = Classify::new(&c, DeviceKind::Cpu, &gpu).unwrap();
    let (a, _) = real_clips(&cfg, N, 1, 5).unwrap();
    let (b, _) = real_clips(&cfg, N, 2, 6).unwrap();
    let real = score(&mut classify, (&a, &b), (T, S, 14)).unwrap();
    let noise: Vec<f32> = wgpu_gan::models::normal(9, 9, a.len())
        .into_iter()
        .map(|v| v.clamp(-1.0, 1.0))
        .collect();
    let bad = score(&mut classify, (&a, &noise), (T, S, 14)).unwrap();
    eprintln!("real vs real {real:?}\nreal vs noise {bad:?}");
    assert!(real.fcd < 0.1 * bad.fcd, "{} vs {}", real.fcd, bad.fcd);
    assert!(real.identity >= 0.8, "identity {}", real.identity);
    assert!(real.real_identity >= 0.8, "identity {}", real.real_identity);
    assert!(real.frames_kept >= real.identity, "{real:?}");
    assert!(bad.frames_kept < real.frames_kept, "{bad:?}");
    assert!(bad.identity < real.identity);
}
