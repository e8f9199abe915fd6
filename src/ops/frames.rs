//! Recording frame picks (`shaders/frames.wgsl`): the K frames of each clip D_S sees.

use super::{check, RandomStream, Result, ShapeError};
use crate::cpu::frames::{FramesParams, MAX_FRAMES};
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// Clip and frame counts of a pick: x (clips, frames, frame_len), indices (clips, picked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePick {
    pub clips: usize,
    pub frames: usize,
    pub picked: usize,
    pub frame_len: usize,
}

impl FramePick {
    fn params(&self) -> FramesParams {
        FramesParams {
            clips: self.clips as u32,
            frames: self.frames as u32,
            picked: self.picked as u32,
            frame_len: self.frame_len as u32,
            ..Default::default()
        }
    }

    fn check(
        &self,
        prog: &Program,
        label: &str,
        (clip, picks, indices): (View, View, View),
    ) -> Result {
        check(prog, label, clip, self.clips * self.frames * self.frame_len)?;
        check(
            prog,
            label,
            picks,
            self.clips * self.picked * self.frame_len,
        )?;
        check(prog, label, indices, self.clips * self.picked)
    }
}

/// y (clips, picked, frame_len) = the frames of x named by `indices` (frame numbers as f32, each
/// in [0, frames): the kernel reads whatever it is given, so whoever fills indices keeps them in
/// range).
pub fn gather_frames(
    prog: &mut Program,
    pick: FramePick,
    x: View,
    indices: View,
    y: View,
    label: &str,
) -> Result {
    pick.check(prog, label, (x, y, indices))?;
    let b = vec![(x, R), (indices, R), (y, W)];
    let grid = grid_1d(y.len, 64);
    prog.push(Kernel::GatherFrames, &words(&pick.params()), b, grid, label);
    Ok(())
}

/// dx (clips, frames, frame_len) = the gradient of [`gather_frames`] from dy.
pub fn gather_frames_backward(
    prog: &mut Program,
    pick: FramePick,
    dy: View,
    indices: View,
    dx: View,
    label: &str,
) -> Result {
    pick.check(prog, label, (dx, dy, indices))?;
    let b = vec![(dy, R), (indices, R), (dx, W)];
    let grid = grid_1d(dx.len, 64);
    prog.push(
        Kernel::GatherFramesBackward,
        &words(&pick.params()),
        b,
        grid,
        label,
    );
    Ok(())
}

/// indices (clips, picked) = `picked` distinct frames of each clip drawn uniformly (a partial
/// Fisher-Yates shuffle), from counters[rs.slot] and rs.seed, rs.stream: D_S's frames.
pub fn random_frames(
    prog: &mut Program,
    pick: FramePick,
    rs: RandomStream,
    counters: View,
    indices: View,
    label: &str,
) -> Result {
    if pick.picked > pick.frames || pick.frames > MAX_FRAMES {
        return Err(ShapeError {
            op: format!(
                "{label} ({} distinct frames of {}: at most the clip's, which is at most {MAX_FRAMES})",
                pick.picked, pick.frames
            ),
            tensor: prog.buffer_name(indices).to_string(),
            got: pick.picked,
            expected: pick.frames.min(MAX_FRAMES),
        });
    }
    check(prog, label, indices, pick.clips * pick.picked)?;
    let p = FramesParams {
        seed_lo: rs.seed as u32,
        seed_hi: (rs.seed >> 32) as u32,
        stream: rs.stream,
        slot: rs.slot as u32,
        ..pick.params()
    };
    let b = vec![(counters, R), (indices, W)];
    prog.push(
        Kernel::RandomFrames,
        &words(&p),
        b,
        grid_1d(pick.clips, 64),
        label,
    );
    Ok(())
}
