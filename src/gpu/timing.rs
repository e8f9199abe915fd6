//! Times candidate dispatches of one product on the device (autotuning, `gpu::tune`): on
//! scratch buffers of the product's sizes, never the program's own (an accumulating product
//! would change them), two warm-up runs, then five in one pass between timestamp queries
//! (the host clock around a wait where the adapter has none). A candidate whose warm-up alone
//! takes several times the best so far is dropped untimed (on lavapipe the GPU-shaped kernels
//! are 10-50x slower), and the budget is checked before each candidate. Close candidates are
//! timed in three interleaved rounds and keep their fastest.

use super::plan::{Bind, Dispatch};
use super::tune::Choice;
use super::{variants, Context};
use crate::program::View;
use std::collections::HashMap;
use std::time::Instant;

const WARMUP: u32 = 2;
/// A warm-up run this many times slower than the best candidate so far ends the candidate.
const HOPELESS: f64 = 4.0;
const TIMED: u32 = 5;
/// Rounds of timing; after the first, only candidates within CONTENDER times the best so far.
const ROUNDS: usize = 3;
const CONTENDER: f64 = 1.5;

/// Buffers standing in for the program's views while timing: one per distinct view.
struct Scratch {
    buffers: HashMap<(usize, usize, usize), wgpu::Buffer>,
    /// (written, read) stand-ins for unused bindings.
    dummy: [wgpu::Buffer; 2],
}

fn storage(ctx: &Context, label: &str, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).next_multiple_of(16),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl Scratch {
    fn new(ctx: &Context) -> Self {
        Self {
            buffers: HashMap::new(),
            // Smaller than the program's, the device refused the bind group and the candidate
            // went untimed.
            dummy: [
                storage(ctx, "tuning dummy", variants::UNUSED_BINDING_BYTES),
                storage(ctx, "tuning dummy", variants::UNUSED_BINDING_BYTES),
            ],
        }
    }

    fn make(&mut self, ctx: &Context, b: Bind) {
        if let Bind::View(View { buf, offset, len }) = b {
            self.buffers
                .entry((buf.0, offset, len))
                .or_insert_with(|| storage(ctx, "tuning scratch", len as u64 * 4));
        }
    }

    fn get(&self, b: Bind, read: bool) -> &wgpu::Buffer {
        let dummy = &self.dummy[usize::from(read)];
        match b {
            Bind::View(View { buf, offset, len }) => {
                self.buffers.get(&(buf.0, offset, len)).unwrap_or(dummy)
            }
            Bind::Dummy => dummy,
        }
    }
}

type Prepared = (wgpu::ComputePipeline, wgpu::BindGroup);

/// The pipeline and bind group of `d` on scratch buffers, or None if the device refuses it.
fn prepare(ctx: &Context, scratch: &mut Scratch, d: &Dispatch) -> Option<Prepared> {
    let pipeline = ctx
        .pipeline(d.kernel, variants::pipeline_flags(d.kernel, &d.params))
        .ok()?;
    let params = storage(ctx, "tuning params", 256);
    ctx.queue
        .write_buffer(&params, 0, bytemuck::cast_slice(&d.params));
    for b in &d.binds {
        scratch.make(ctx, *b);
    }
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: params.as_entire_binding(),
    }];
    for ((number, access), b) in d.kernel.bindings().iter().zip(&d.binds) {
        let buffer = scratch.get(*b, *access == crate::kernels::Access::Read);
        entries.push(wgpu::BindGroupEntry {
            binding: *number,
            resource: buffer.as_entire_binding(),
        });
    }
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("tuning"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    pollster::block_on(scope.pop())
        .is_none()
        .then_some((pipeline, group))
}

/// A pass running `times` rounds of the prepared dispatches in order (a product, then its
/// follower when unfused: the follower waits for the product, as in the program).
fn encode(
    ctx: &Context,
    prepared: &[(Prepared, [u32; 3])],
    times: u32,
    stamps: Option<&wgpu::QuerySet>,
) -> wgpu::CommandEncoder {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("tuning"),
            timestamp_writes: stamps.map(|set| wgpu::ComputePassTimestampWrites {
                query_set: set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        for _ in 0..times {
            for ((pipeline, group), wg) in prepared {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(wg[0], wg[1], wg[2]);
            }
        }
    }
    encoder
}

fn wait(ctx: &Context) -> Option<()> {
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .ok()
        .map(|_| ())
}

/// Mean nanoseconds of one round of `ds` (a product and, unfused, its follower); only the
/// warm-up's wall time (per round) when that exceeds HOPELESS times `best`.
fn measure(
    ctx: &Context,
    scratch: &mut Scratch,
    ds: &[&Dispatch],
    best: Option<f64>,
) -> Option<f64> {
    let mut prepared = Vec::with_capacity(ds.len());
    for d in ds {
        prepared.push((prepare(ctx, scratch, d)?, d.workgroups));
    }
    let t = Instant::now();
    ctx.queue
        .submit([encode(ctx, &prepared, WARMUP, None).finish()]);
    wait(ctx)?;
    let warm = t.elapsed().as_secs_f64() * 1e9 / f64::from(WARMUP);
    if best.is_some_and(|b| warm > HOPELESS * b) {
        return Some(warm);
    }
    if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
        let t = Instant::now();
        ctx.queue
            .submit([encode(ctx, &prepared, TIMED, None).finish()]);
        wait(ctx)?;
        return Some(t.elapsed().as_secs_f64() * 1e9 / f64::from(TIMED));
    }
    let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("tuning timestamps"),
        ty: wgpu::QueryType::Timestamp,
        count: 2,
    });
    let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("tuning resolve"),
        size: 16,
        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let read = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("tuning read-back"),
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = encode(ctx, &prepared, TIMED, Some(&set));
    encoder.resolve_query_set(&set, 0..2, &resolve, 0);
    encoder.copy_buffer_to_buffer(&resolve, 0, &read, 0, 16);
    ctx.queue.submit([encoder.finish()]);
    read.map_async(wgpu::MapMode::Read, 0..16, |_| {});
    wait(ctx)?;
    let stamps: Vec<u64> = bytemuck::pod_collect_to_vec(&read.get_mapped_range(0..16).ok()?);
    let ticks = stamps.get(1)?.saturating_sub(*stamps.first()?);
    Some(ticks as f64 * f64::from(ctx.queue.get_timestamp_period()) / f64::from(TIMED))
}

/// The fastest of `options` timed before the budget ran out (the first, the fixed rule's, is
/// always timed). Each option is a sequence of dispatches: the product, then the ops after it
/// that it does not fuse, each waiting for the one before (the cost fusion saves). Candidates within CONTENDER of the best are
/// timed again in later rounds, interleaved, and each keeps its fastest round: a load spike on
/// a shared machine then hits one round of one candidate, not the choice. Charged to the tuning
/// budget.
pub fn fastest(ctx: &Context, options: &[(Choice, Vec<Dispatch>)]) -> Option<Choice> {
    let start = Instant::now();
    let mut scratch = Scratch::new(ctx);
    let mut times: Vec<Option<f64>> = vec![None; options.len()];
    let best = |times: &[Option<f64>]| times.iter().flatten().copied().reduce(f64::min);
    'rounds: for round in 0..ROUNDS {
        for (i, (_, ds)) in options.iter().enumerate() {
            let top = best(&times);
            if round > 0 && !times[i].zip(top).is_some_and(|(t, b)| t <= CONTENDER * b) {
                continue;
            }
            if top.is_some() && !ctx.tuning.has_budget_after(start) {
                break 'rounds;
            }
            let seq: Vec<&Dispatch> = ds.iter().collect();
            let Some(ns) = measure(ctx, &mut scratch, &seq, top) else {
                continue;
            };
            times[i] = Some(times[i].map_or(ns, |t| t.min(ns)));
        }
    }
    ctx.tuning.charge(start);
    let top = best(&times)?;
    let i = times.iter().position(|t| *t == Some(top))?;
    Some(options[i].0)
}
