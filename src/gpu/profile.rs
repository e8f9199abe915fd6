//! Per-dispatch GPU timings with timestamp queries: inside compute passes where the adapter
//! supports it (lavapipe does), else one pass per dispatch with pass timestamps.

use super::exec::GpuProgram;
use super::{Context, GpuError};
use std::ops::Range;

impl GpuProgram {
    /// Mean GPU nanoseconds of each op in `range` over `iterations` runs, or None when the
    /// adapter has no timestamp queries.
    pub fn op_times(
        &self,
        ctx: &Context,
        range: Range<usize>,
        iterations: usize,
    ) -> Result<Option<Vec<f64>>, GpuError> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Ok(None);
        }
        let inside = ctx
            .features
            .contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES);
        // A query set holds at most QUERY_SET_MAX_QUERIES timestamps (2 per op): longer
        // iterations (DVD-GAN's 2,468 ops) are timed in consecutive segments, each submitted and
        // read back in program order.
        let count = range.len();
        let segment = (wgpu::QUERY_SET_MAX_QUERIES / 2) as usize;
        let queries = (2 * count.clamp(1, segment)) as u32;
        let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("op timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: queries,
        });
        let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("op timestamps resolved"),
            size: queries as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let period = ctx.queue.get_timestamp_period() as f64;
        let mut total = vec![0.0f64; count];
        for _ in 0..iterations {
            for first in range.clone().step_by(segment) {
                let part = first..(first + segment).min(range.end);
                let q = (2 * part.len()) as u32;
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                if inside {
                    self.record_inside(&mut encoder, &set, part.clone());
                } else {
                    self.record_per_pass(&mut encoder, &set, part.clone());
                }
                encoder.resolve_query_set(&set, 0..q, &resolve, 0);
                ctx.queue.submit([encoder.finish()]);
                let words = self.read_buffer(ctx, &resolve, 0, q as u64 * 8)?;
                let at = |q: usize| words[2 * q] as u64 | (words[2 * q + 1] as u64) << 32;
                let times = &mut total[first - range.start..][..part.len()];
                for (k, t) in times.iter_mut().enumerate() {
                    *t += at(2 * k + 1).saturating_sub(at(2 * k)) as f64 * period;
                }
            }
        }
        Ok(Some(
            total.iter().map(|t| t / iterations.max(1) as f64).collect(),
        ))
    }

    /// One pass, a pair of timestamps around each op: a fused pair's time is the first op's,
    /// and the second's two timestamps follow each other.
    fn record_inside(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        set: &wgpu::QuerySet,
        range: Range<usize>,
    ) {
        let start = range.start;
        let mut i = start;
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("wgpu-gan"),
            timestamp_writes: None,
        });
        while i < range.end {
            let (step, covers, _) = self.step_at(i, range.end);
            let q = (2 * (i - start)) as u32;
            pass.write_timestamp(set, q);
            step.dispatch(&mut pass);
            pass.write_timestamp(set, q + 1);
            for j in 1..covers as u32 {
                pass.write_timestamp(set, q + 2 * j);
                pass.write_timestamp(set, q + 2 * j + 1);
            }
            i += covers;
        }
    }

    /// A pass per dispatch with pass timestamps (an empty pass for an op fused into the one
    /// before it).
    fn record_per_pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        set: &wgpu::QuerySet,
        range: Range<usize>,
    ) {
        let mut i = range.start;
        while i < range.end {
            let (step, covers, label) = self.step_at(i, range.end);
            for j in 0..covers {
                let q = (2 * (i + j - range.start)) as u32;
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(label),
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: set,
                        beginning_of_pass_write_index: Some(q),
                        end_of_pass_write_index: Some(q + 1),
                    }),
                });
                if j == 0 {
                    step.dispatch(&mut pass);
                }
            }
            i += covers;
        }
    }
}
