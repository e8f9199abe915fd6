//! Recording the gather of a streamed dataset (`shaders/stream.wgsl`).

use super::{check, RandomStream, Result};
use crate::cpu::stream::StreamParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// Where a streamed gather reads: the ring (two slots of `slot_words`, labels from byte
/// `labels_at` of a slot) and the cursor the host points at the slot of each submission.
#[derive(Clone, Copy, Debug)]
pub struct RingGeometry {
    pub cursor: View,
    pub ring: View,
    pub slot_words: usize,
    pub labels_at: usize,
}

/// Words of the cursor: [ring slot, first iteration's counter, streamed gathers per iteration].
pub const CURSOR: usize = 3;

/// x (batch, image_len) and labels_out (batch) from the rows staged in `geometry.ring` for the
/// current iteration, as gather number `input` of the iteration; `rs` is the stream the host draws the samples from, as
/// [`super::gather_batch`] would on the device.
#[allow(clippy::too_many_arguments)]
pub fn gather_streamed(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    (geometry, input): (RingGeometry, usize),
    image_len: usize,
    x: View,
    labels_out: View,
    label: &str,
) -> Result {
    let batch = labels_out.len;
    check(prog, label, x, batch * image_len)?;
    check(prog, label, geometry.ring, 2 * geometry.slot_words)?;
    check(prog, label, geometry.cursor, CURSOR)?;
    let p = StreamParams {
        n: x.len as u32,
        image_len: image_len as u32,
        batch: batch as u32,
        slot: rs.slot as u32,
        slot_words: geometry.slot_words as u32,
        labels_at: geometry.labels_at as u32,
        input: input as u32,
        stream: rs.stream,
        seed_lo: rs.seed as u32,
        seed_hi: (rs.seed >> 32) as u32,
    };
    let b = vec![
        (counters, R),
        (geometry.cursor, R),
        (geometry.ring, R),
        (x, W),
        (labels_out, W),
    ];
    prog.push(
        Kernel::GatherStreamed,
        &words(&p),
        b,
        grid_1d(x.len, 64),
        label,
    );
    Ok(())
}
