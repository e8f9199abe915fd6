//! Datasets larger than a storage binding: streamed from host memory.
//!
//! A dataset whose images take more than [`budget`] bytes (128 MiB, the storage binding every
//! wgpu adapter offers) is not uploaded. It stays on the host as bytes, and before each
//! submission the host stages the rows that submission's iterations gather into one slot of a
//! two-slot ring on the device; while the device runs, the rows of the next submission go into
//! the other slot. The host draws the samples with the CPU twin of the device's Philox stream
//! (`cpu::random::philox`, lane 1 of the gather's stream), so a streamed run gathers exactly
//! the batches a resident one would, bit for bit, and a resumed one continues them from the
//! checkpoint's counter. Both executors stream the same way, so the CPU path holds the set once,
//! as bytes, too.
//!
//! `WGPU_GAN_STREAM_BUDGET=<bytes>` lowers (or raises) the threshold: the tests force a small
//! dataset to stream with it.

use super::schedule::DatasetViews;
use crate::cpu::random::{pack_bytes, philox};
use crate::cpu::stream::StreamParams;
use crate::exec::Executor;
use crate::kernels::Kernel;
use crate::ops::stream::{RingGeometry, CURSOR};
use crate::ops::{self, RandomStream};
use crate::program::{Program, View};

/// Datasets whose images are larger than this many bytes stream (wgpu's default storage
/// binding, which every adapter offers).
pub const DEFAULT_BUDGET: usize = 128 << 20;
/// The environment variable that overrides [`DEFAULT_BUDGET`].
pub const BUDGET_VAR: &str = "WGPU_GAN_STREAM_BUDGET";
/// The ring's size at most: two slots of up to 32 MiB, well inside one binding.
const RING_BYTES: usize = 64 << 20;
/// Iterations a ring slot is sized for (a submission runs at most 20; `train::outputs`).
const SLOT_ITERATIONS: usize = 20;
/// Gathers per iteration a ring slot is sized for at first (more fit fewer iterations).
const SLOT_GATHERS: usize = 4;
/// Gathers a ring slot holds at least.
const MIN_GATHERS: usize = 8;

/// The threshold in bytes: [`BUDGET_VAR`] when set to a byte count, else [`DEFAULT_BUDGET`].
pub fn budget() -> usize {
    let Ok(text) = std::env::var(BUDGET_VAR) else {
        return DEFAULT_BUDGET;
    };
    match text.trim().parse() {
        Ok(bytes) => bytes,
        Err(_) => {
            eprintln!("warning: {BUDGET_VAR}={text} is not a byte count; using 128 MiB");
            DEFAULT_BUDGET
        }
    }
}

/// The dataset's place in a program: whole (packed bytes and labels), or a ring of staged
/// rows when its `count * image_len` bytes exceed [`budget`].
pub fn dataset_views(
    prog: &mut Program,
    count: usize,
    image_len: usize,
    batch: usize,
) -> DatasetViews {
    place(prog, (count, image_len), batch, budget())
}

/// [`dataset_views`] with the threshold `budget` in bytes given.
pub fn place(
    prog: &mut Program,
    (count, image_len): (usize, usize),
    batch: usize,
    budget: usize,
) -> DatasetViews {
    if count * image_len <= budget {
        return DatasetViews {
            images: prog.tensor("dataset.images", (count * image_len).div_ceil(4)),
            labels: prog.tensor("dataset.labels", count.div_ceil(4)),
            count,
            image_len,
            ring: None,
        };
    }
    // The ring fits the budget too, where it can: a budget forced small (the tests) makes
    // small slots, so short runs cross many slot boundaries.
    let gather = batch * (image_len + 1);
    let want = SLOT_ITERATIONS * SLOT_GATHERS * gather;
    let slot_bytes = (budget / 2)
        .min(want)
        .min(RING_BYTES / 2)
        .max(MIN_GATHERS * gather);
    let rows = slot_bytes / (image_len + 1);
    let labels_at = (rows * image_len).next_multiple_of(4);
    let slot_words = (labels_at + rows)
        .div_ceil(4)
        .next_multiple_of(crate::program::VIEW_ALIGN);
    let placeholder = prog.tensor("dataset.streamed", 1);
    DatasetViews {
        images: placeholder,
        labels: placeholder,
        count,
        image_len,
        ring: Some(RingGeometry {
            cursor: prog.tensor("dataset.ring_cursor", CURSOR),
            ring: prog.tensor("dataset.ring", 2 * slot_words),
            slot_words,
            labels_at,
        }),
    }
}

/// Records the gather of one real batch `(x, labels)`: on the device from the whole dataset,
/// or from the ring.
pub fn record_gather(
    prog: &mut Program,
    (rs, counters): (RandomStream, View),
    ds: DatasetViews,
    (x, labels): (View, View),
    label: &str,
) -> ops::Result {
    let geometry = (ds.count, ds.image_len);
    let Some(ring) = ds.ring else {
        let (images, dl) = (ds.images, ds.labels);
        return ops::gather_batch(prog, rs, counters, images, dl, geometry, x, labels, label);
    };
    let input = prog
        .ops
        .iter()
        .filter(|op| op.kernel == Kernel::GatherStreamed)
        .count();
    let (c, len) = (counters, ds.image_len);
    ops::stream::gather_streamed(prog, rs, c, (ring, input), len, x, labels, label)
}

/// Uploads a resident dataset whole; a streamed one is staged by its [`Streamer`].
pub fn upload(exec: &mut dyn Executor, views: DatasetViews, ds: &crate::data::Dataset) {
    if views.ring.is_none() {
        exec.write(views.images, &pack_bytes(&ds.images));
        exec.write(views.labels, &pack_bytes(&ds.labels));
    }
}

/// What the host draws for one streamed gather: its Philox stream and key.
#[derive(Clone, Copy, Debug)]
struct Draw {
    stream: u32,
    key: [u32; 2],
}

/// The host side of a streamed dataset: its bytes, the gathers' streams, and what each ring
/// slot holds.
pub struct Streamer {
    images: Vec<u8>,
    labels: Vec<u8>,
    image_len: usize,
    batch: usize,
    geometry: RingGeometry,
    draws: Vec<Draw>,
    /// Iterations one slot holds.
    capacity: usize,
    /// (first iteration's counter, iterations) staged in each slot.
    staged: [Option<(u32, usize)>; 2],
    /// The slot the last submission read.
    current: usize,
    /// counters[ITERATION] before the next submission.
    counter: u32,
}

/// Why a dataset cannot stream.
#[derive(Debug, thiserror::Error)]
#[error(
    "a streamed dataset's ring slot holds {rows} rows but one iteration gathers {need} \
     (--batch-size too large to stream)"
)]
pub struct StreamError {
    rows: usize,
    need: usize,
}

impl Streamer {
    /// The host side of `views` when the dataset streams (else None), for the streamed gathers
    /// recorded in `prog`; takes the dataset's bytes.
    pub fn new(
        prog: &Program,
        views: Option<DatasetViews>,
        images: Vec<u8>,
        labels: Vec<u8>,
    ) -> Result<Option<Self>, StreamError> {
        let Some((geometry, image_len)) = views.and_then(|v| Some((v.ring?, v.image_len))) else {
            return Ok(None);
        };
        let params: Vec<StreamParams> = prog
            .ops
            .iter()
            .filter(|op| op.kernel == Kernel::GatherStreamed)
            .map(|op| crate::cpu::params(&op.params))
            .collect();
        let batch = params.first().map_or(0, |p| p.batch as usize);
        let draws: Vec<Draw> = params
            .iter()
            .map(|p| Draw {
                stream: p.stream,
                key: [p.seed_lo, p.seed_hi],
            })
            .collect();
        // Rows that fit both the images (before labels_at) and the labels (after it).
        let room = geometry.slot_words * 4 - geometry.labels_at;
        let rows = room.min(geometry.labels_at / image_len.max(1));
        let need = draws.len() * batch;
        let capacity = rows / need.max(1);
        if capacity == 0 {
            return Err(StreamError { rows, need });
        }
        let size = |b: usize| match b {
            b if b < 1 << 20 => format!("{b} bytes"),
            b => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        };
        eprintln!(
            "dataset: {} of images is over the stream budget ({}, {BUDGET_VAR} sets it); \
             streaming it from host memory through a ring of 2 x {}",
            size(images.len()),
            size(budget()),
            size(geometry.slot_words * 4)
        );
        Ok(Some(Self {
            images,
            labels,
            image_len,
            batch,
            geometry,
            draws,
            capacity,
            staged: [None; 2],
            current: 0,
            counter: 0,
        }))
    }

    /// Most iterations one submission may run.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The random streams' counter after a restore (the checkpoint's counters[ITERATION]).
    pub fn set_counter(&mut self, counter: u32) {
        self.counter = counter;
    }

    /// The slot whose staged iterations cover the next `n`, with the counter of its first.
    fn covering(&self, n: usize) -> Option<(usize, u32)> {
        let first = self.counter.wrapping_add(1);
        (0..2).find_map(|s| {
            let (start, len) = self.staged[s]?;
            let skip = first.wrapping_sub(start) as usize;
            (skip + n <= len).then_some((s, start))
        })
    }

    /// Before a submission of `n` (at most [`Self::capacity`]) iterations: makes sure a slot
    /// holds their rows (staging them now if the prefetch did not) and points the cursor at it.
    pub fn before(&mut self, exec: &mut dyn Executor, n: usize) {
        debug_assert!(n <= self.capacity, "the trainer splits submissions");
        let (slot, start) = match self.covering(n) {
            Some(hit) => hit,
            None => {
                let (slot, start) = (self.current ^ 1, self.counter.wrapping_add(1));
                self.stage(exec, slot, start, self.capacity);
                (slot, start)
            }
        };
        let k = self.draws.len() as u32;
        exec.write(self.geometry.cursor, &[slot as u32, start, k]);
        self.current = slot;
        self.counter = self.counter.wrapping_add(n as u32);
    }

    /// After a submission of `n` iterations went to the device: stages the rows of the next
    /// one, if it is like this one and the slot just read does not hold them, into the other
    /// slot while the device runs.
    pub fn prefetch(&mut self, exec: &mut dyn Executor, n: usize) {
        if self.covering(n).is_some() {
            return;
        }
        let slot = self.current ^ 1;
        self.stage(exec, slot, self.counter.wrapping_add(1), self.capacity);
    }

    /// Writes the rows and labels of `n` iterations from counter value `start` into `slot`.
    fn stage(&mut self, exec: &mut dyn Executor, slot: usize, start: u32, n: usize) {
        let (len, batch, k) = (self.image_len, self.batch, self.draws.len());
        let count = self.labels.len() as u32;
        let rows = n * k * batch;
        let mut images = vec![0u8; rows * len];
        let mut labels = vec![0u8; rows];
        for it in 0..n {
            let counter = start.wrapping_add(it as u32);
            for (g, d) in self.draws.iter().enumerate() {
                for r in 0..batch {
                    // The draw gather_batch makes on the device (random.wgsl, lane 1).
                    let sample = philox([r as u32, counter, d.stream, 1], d.key)[0] % count;
                    let (pos, sample) = ((it * k + g) * batch + r, sample as usize);
                    images[pos * len..(pos + 1) * len]
                        .copy_from_slice(&self.images[sample * len..(sample + 1) * len]);
                    labels[pos] = self.labels[sample];
                }
            }
        }
        let ring = self.geometry.ring;
        let at = ring.offset + slot * self.geometry.slot_words;
        let words = pack_bytes(&images);
        exec.write(
            View {
                offset: at,
                len: words.len(),
                ..ring
            },
            &words,
        );
        let words = pack_bytes(&labels);
        let offset = at + self.geometry.labels_at / 4;
        exec.write(
            View {
                offset,
                len: words.len(),
                ..ring
            },
            &words,
        );
        self.staged[slot] = Some((start, n));
    }
}
