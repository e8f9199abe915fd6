//! Recording the moving-MNIST clip generator (`shaders/moving_mnist.wgsl`): clips made on the
//! device from the digits of the dataset, a pure function of (seed, iteration, clip index).

use super::{check, RandomStream, Result, ShapeError};
use crate::cpu::moving_mnist::MovingMnistParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// What a batch of clips looks like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MovingMnist {
    pub clips: usize,
    pub frames: usize,
    /// Canvas side.
    pub size: usize,
    pub digits: usize,
    /// Side a digit is box-averaged down to.
    pub digit_size: usize,
    /// Pixels per frame.
    pub speed: f32,
}

/// The dataset the digits come from: `count` square single-channel images of `side` pixels, as
/// packed bytes (`cpu::random::pack_bytes`), and their labels, packed the same way.
#[derive(Clone, Copy, Debug)]
pub struct DigitSource {
    pub images: View,
    pub labels: View,
    pub count: usize,
    pub side: usize,
}

impl MovingMnist {
    /// Why these clips cannot be made, if they cannot.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let dims = [
            self.clips,
            self.frames,
            self.size,
            self.digits,
            self.digit_size,
        ];
        if dims.contains(&0) {
            return Err(format!(
                "clips, frames, size, digits and digit size must be at least 1 ({dims:?})"
            ));
        }
        if self.digit_size > self.size {
            return Err(format!(
                "digit size {} is larger than the canvas ({})",
                self.digit_size, self.size
            ));
        }
        if self.size > 1 << 12 || !(0.0..=1024.0).contains(&self.speed) {
            return Err(format!(
                "canvas {} (at most 4096) or speed {} (0 to 1024 px per frame) out of range",
                self.size, self.speed
            ));
        }
        Ok(())
    }

    pub fn clips_len(&self) -> usize {
        self.clips * self.frames * self.size * self.size
    }
}

/// clips (B, T, 1, S, S) in [-1, 1] (row b·T + t is clip b, frame t) and clip_labels (B, digits)
/// as f32, drawn from counters[rs.slot] (the iteration) and rs.seed, rs.stream.
pub fn moving_mnist(
    prog: &mut Program,
    rs: RandomStream,
    (counters, src): (View, DigitSource),
    m: MovingMnist,
    (clips, clip_labels): (View, View),
    label: &str,
) -> Result {
    let invalid = |why: String| ShapeError {
        op: format!("{label} ({why})"),
        tensor: "moving MNIST".into(),
        got: 0,
        expected: 0,
    };
    m.validate().map_err(invalid)?;
    if src.count == 0 || src.side == 0 || src.count * src.side * src.side > u32::MAX as usize {
        return Err(invalid(format!(
            "{} digit images of side {}",
            src.count, src.side
        )));
    }
    check(
        prog,
        label,
        src.images,
        (src.count * src.side * src.side).div_ceil(4),
    )?;
    check(prog, label, src.labels, src.count.div_ceil(4))?;
    check(prog, label, clips, m.clips_len())?;
    check(prog, label, clip_labels, m.clips * m.digits)?;
    let p = MovingMnistParams {
        clips: m.clips as u32,
        frames: m.frames as u32,
        size: m.size as u32,
        digits: m.digits as u32,
        digit_size: m.digit_size as u32,
        count: src.count as u32,
        side: src.side as u32,
        slot: rs.slot as u32,
        seed_lo: rs.seed as u32,
        seed_hi: (rs.seed >> 32) as u32,
        stream: rs.stream,
        speed: m.speed,
    };
    let b = vec![
        (counters, R),
        (src.images, R),
        (src.labels, R),
        (clips, W),
        (clip_labels, W),
    ];
    let grid = grid_1d(clips.len, 64);
    prog.push(Kernel::MovingMnist, &words(&p), b, grid, label);
    Ok(())
}
