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
}

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

pub fn gather_frames_op(w: &[u32], io: &mut CpuIo) {
    let y = io.f32_mut(2);
    gather_frames(&params(w), io.f32(0), io.f32(1), y);
}

pub fn gather_frames_backward_op(w: &[u32], io: &mut CpuIo) {
    let dx = io.f32_mut(2);
    gather_frames_backward(&params(w), io.f32(0), io.f32(1), dx);
}
