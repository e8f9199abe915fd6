//! CPU twins of `shaders/frames.wgsl`: picking K frames of each clip, and its gradient.

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in frames.wgsl: x (clips, frames, frame_len), y (clips, picked, frame_len).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct FramesParams {
    pub clips: u32,
    pub frames: u32,
    pub picked: u32,
    pub frame_len: u32,
    /// `random_frames` only.
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub stream: u32,
    pub slot: u32,
}

/// The Philox lane of frame draws, apart from random.wgsl's and moving_mnist.wgsl's.
pub const LANE: u32 = 4;
/// Most frames `random_frames` shuffles (the shader's local array).
pub const MAX_FRAMES: usize = 64;

/// y[b, k] = x[b, indices[b, k]] (frame numbers held as f32).
pub fn gather_frames(p: &FramesParams, x: &[f32], indices: &[f32], y: &mut [f32]) {
    let (f, t) = (p.frame_len as usize, p.frames as usize);
    let rows = y[..(p.clips * p.picked) as usize * f].chunks_exact_mut(f);
    for (row, out) in rows.enumerate() {
        let b = row / p.picked as usize;
        let src = (b * t + indices[row] as u32 as usize) * f;
        out.copy_from_slice(&x[src..src + f]);
    }
}

/// dx[b, t] = the sum over k (ascending) of dy[b, k] where indices[b, k] = t.
pub fn gather_frames_backward(p: &FramesParams, dy: &[f32], indices: &[f32], dx: &mut [f32]) {
    let (f, t, k) = (p.frame_len as usize, p.frames as usize, p.picked as usize);
    let rows = dx[..p.clips as usize * t * f].chunks_exact_mut(f);
    for (row, out) in rows.enumerate() {
        let (b, frame) = (row / t, row % t);
        out.fill(0.0);
        for j in 0..k {
            if indices[b * k + j] as u32 as usize == frame {
                let src = &dy[(b * k + j) * f..][..f];
                out.iter_mut().zip(src).for_each(|(o, d)| *o += d);
            }
        }
    }
}

/// indices (clips, picked): distinct frames of each clip, in the order a partial Fisher-Yates
/// shuffle of 0..frames draws them.
pub fn random_frames(p: &FramesParams, counters: &[u32], indices: &mut [f32]) {
    for b in 0..p.clips {
        let mut order: Vec<u32> = (0..p.frames).collect();
        for k in 0..p.picked {
            let ctr = [b * p.picked + k, counters[p.slot as usize], p.stream, LANE];
            let r = super::random::philox(ctr, [p.seed_lo, p.seed_hi]);
            let j = k + r[0] % (p.frames - k);
            order.swap(k as usize, j as usize);
            indices[(b * p.picked + k) as usize] = order[k as usize] as f32;
        }
    }
}

pub fn random_frames_op(w: &[u32], io: &mut CpuIo) {
    let indices = io.f32_mut(1);
    random_frames(&params(w), io.u32(0), indices);
}

pub fn gather_frames_op(w: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(2);
    gather_frames(&params(w), io.f32(0), io.f32(1), y);
}

pub fn gather_frames_backward_op(w: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(2);
    gather_frames_backward(&params(w), io.f32(0), io.f32(1), dx);
}
