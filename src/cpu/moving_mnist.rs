//! CPU twin of `shaders/moving_mnist.wgsl`: moving-MNIST clips made from digit images, a pure
//! function of (seed, iteration counter, clip index). Positions are integers (1/256 px), so the
//! twin follows the shader's path exactly; only the velocity's rounding touches `cos`/`sin`.

use super::random::philox;
use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in moving_mnist.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct MovingMnistParams {
    pub clips: u32,
    pub frames: u32,
    /// Canvas side S.
    pub size: u32,
    pub digits: u32,
    pub digit_size: u32,
    /// Images in the dataset.
    pub count: u32,
    /// Side of a dataset image (28 for MNIST).
    pub side: u32,
    pub slot: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub stream: u32,
    /// Pixels per frame.
    pub speed: f32,
}

/// The Philox lane of moving-MNIST draws, apart from random.wgsl's lanes 0..=2.
pub const LANE: u32 = 3;

fn byte(words: &[u32], k: u32) -> u32 {
    (words[(k / 4) as usize] >> (8 * (k & 3))) & 0xff
}

/// Source rows (or columns) [lo, hi) of digit cell c: at least one.
fn cell(p: &MovingMnistParams, c: u32) -> (u32, u32) {
    let lo = c * p.side / p.digit_size;
    (lo, ((c + 1) * p.side / p.digit_size).max(lo + 1))
}

/// The rounded mean of the source bytes under digit cell (cy, cx) of image `sample`.
fn digit_pixel(p: &MovingMnistParams, dataset: &[u32], sample: u32, (cy, cx): (u32, u32)) -> u32 {
    let (rows, cols) = (cell(p, cy), cell(p, cx));
    let mut sum = 0u32;
    for y in rows.0..rows.1 {
        for x in cols.0..cols.1 {
            sum += byte(dataset, (sample * p.side + y) * p.side + x);
        }
    }
    let n = (rows.1 - rows.0) * (cols.1 - cols.0);
    (sum + n / 2) / n
}

/// Position (1/256 px) after `steps` frames from `start` with velocity `vel`, bouncing in
/// [0, span]: at an edge the position is clamped and the velocity flipped.
pub fn travel(start: i32, vel: i32, span: i32, steps: u32) -> i32 {
    let (mut pos, mut v) = (start, vel);
    for _ in 0..steps {
        pos += v;
        if pos < 0 {
            pos = 0;
            v = -v;
        } else if pos > span {
            pos = span;
            v = -v;
        }
    }
    pos
}

/// One digit's path: the image, its start (x, y) and velocity (x, y), in 1/256 px.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigitPath {
    pub sample: u32,
    pub start: (i32, i32),
    pub velocity: (i32, i32),
}

/// The path of digit d of clip b, drawn as the shader draws it.
pub fn digit_path(p: &MovingMnistParams, counters: &[u32], b: u32, d: u32) -> DigitPath {
    let ctr = [b * p.digits + d, counters[p.slot as usize], p.stream, LANE];
    let r = philox(ctr, [p.seed_lo, p.seed_hi]);
    let span = ((p.size - p.digit_size) * 256) as i32;
    let theta = 6.283_185_5 * (r[3] >> 8) as f32 * 5.960_464_5e-8;
    let round = |x: f32| (x + 0.5).floor() as i32;
    DigitPath {
        sample: r[0] % p.count,
        start: (
            (r[1] % (span as u32 + 1)) as i32,
            (r[2] % (span as u32 + 1)) as i32,
        ),
        velocity: (
            round(256.0 * p.speed * theta.cos()),
            round(256.0 * p.speed * theta.sin()),
        ),
    }
}

/// clips (B, T, 1, S, S) in [-1, 1] and clip_labels (B, digits).
pub fn moving_mnist(
    p: &MovingMnistParams,
    (counters, dataset, labels): (&[u32], &[u32], &[u32]),
    clips: &mut [f32],
    clip_labels: &mut [f32],
) {
    let (s, ds) = (p.size as i32, p.digit_size as i32);
    let span = (s - ds) * 256;
    let plane = (s * s) as usize;
    for b in 0..p.clips {
        let paths: Vec<DigitPath> = (0..p.digits)
            .map(|d| digit_path(p, counters, b, d))
            .collect();
        // Each digit downscaled once per clip, not once per frame.
        let mut digits = Vec::with_capacity(paths.len());
        for (d, path) in paths.iter().enumerate() {
            clip_labels[(b * p.digits) as usize + d] = byte(labels, path.sample) as f32;
            let cells = (0..ds * ds).map(|k| (k / ds, k % ds));
            let pixels =
                cells.map(|(cy, cx)| digit_pixel(p, dataset, path.sample, (cy as u32, cx as u32)));
            digits.push(pixels.collect::<Vec<u32>>());
        }
        for t in 0..p.frames {
            let frame = &mut clips[(b * p.frames + t) as usize * plane..][..plane];
            let mut v = vec![0u32; plane];
            for (path, digit) in paths.iter().zip(&digits) {
                let px = (travel(path.start.0, path.velocity.0, span, t) + 128) / 256;
                let py = (travel(path.start.1, path.velocity.1, span, t) + 128) / 256;
                for cy in 0..ds {
                    for cx in 0..ds {
                        let at = ((py + cy) * s + px + cx) as usize;
                        v[at] = v[at].max(digit[(cy * ds + cx) as usize]);
                    }
                }
            }
            for (o, &v) in frame.iter_mut().zip(&v) {
                *o = (v as f32 - 127.5) / 127.5;
            }
        }
    }
}

/// Bindings counters(1) dataset(3) labels(4) -> clips(2) clip_labels(5).
pub fn moving_mnist_op(w: &[u32], io: &mut CpuIo) {
    let (clips, clip_labels) = (io.f32_mut(3), io.f32_mut(4));
    let ins = (io.u32(0), io.u32(1), io.u32(2));
    moving_mnist(&params(w), ins, clips, clip_labels);
}
