//! CPU twin of `shaders/stream.wgsl`: the gather of a streamed dataset from its ring of staged
//! rows (`train::stream` stages them).

use super::{params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in stream.wgsl. `stream` and the seed are the Philox stream the host draws
/// the staged samples from (the kernel itself draws nothing).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct StreamParams {
    pub n: u32,
    pub image_len: u32,
    pub batch: u32,
    /// The iteration counter's slot in `counters`.
    pub slot: u32,
    /// Words per ring slot.
    pub slot_words: u32,
    /// Byte offset of the labels within a ring slot.
    pub labels_at: u32,
    /// Which of the iteration's streamed gathers this is (the order they were recorded in).
    pub input: u32,
    pub stream: u32,
    pub seed_lo: u32,
    pub seed_hi: u32,
}

/// Byte `k` of the ring; 0 past its end, where only a program run without its streamer (the
/// profiler's timed iterations) reads.
fn byte_at(words: &[u32], k: u32) -> u32 {
    let word = words.get((k / 4) as usize).copied().unwrap_or(0);
    (word >> (8 * (k & 3))) & 0xff
}

/// x (batch, image_len) and y (batch) from the rows staged for the current iteration.
pub fn gather_streamed(
    p: &StreamParams,
    counters: &[u32],
    cursor: &[u32],
    ring: &[u32],
    x: &mut [f32],
    y: &mut [f32],
) {
    let iteration = counters[p.slot as usize].wrapping_sub(cursor[1]);
    let first = (iteration.wrapping_mul(cursor[2]).wrapping_add(p.input)).wrapping_mul(p.batch);
    let base = cursor[0].wrapping_mul(p.slot_words * 4);
    for row in 0..p.n / p.image_len {
        let pos = first + row;
        for col in 0..p.image_len {
            let v = byte_at(ring, base.wrapping_add(pos.wrapping_mul(p.image_len) + col));
            x[(row * p.image_len + col) as usize] = (v as f32 - 127.5) / 127.5;
        }
        y[row as usize] = byte_at(ring, base.wrapping_add(p.labels_at + pos)) as f32;
    }
}

pub fn gather_streamed_op(w: &[u32], io: &mut CpuIo) {
    let (x, y) = (io.f32_mut(3), io.f32_mut(4));
    gather_streamed(&params(w), io.u32(0), io.u32(1), io.u32(2), x, y);
}
