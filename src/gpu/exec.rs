//! Plan, then run (house rule 3): `GpuProgram::new` creates every buffer, pipeline, uniform and
//! bind group; `record` only encodes dispatches.

use super::{Context, GpuError};
use crate::program::{Program, View};
use std::ops::Range;
use std::sync::Mutex;

/// Each op's parameters sit at this stride inside one buffer (binding 0 of every kernel). It is
/// a read-only storage buffer, not a uniform buffer: lavapipe (Mesa 22.3) inlines uniform values
/// that feed loop bounds into a freshly compiled copy of the shader whenever they change between
/// dispatches, and never frees the copies; training grew by ~0.7 MiB per iteration that way
/// (tests/soak.rs).
const UNIFORM_STRIDE: u64 = 256;

pub(super) struct Step {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
}

impl Step {
    pub(super) fn dispatch(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.workgroups[0], self.workgroups[1], self.workgroups[2]);
    }
}

pub struct GpuProgram {
    pub buffers: Vec<wgpu::Buffer>,
    pub(super) steps: Vec<Step>,
    pub(super) phases: Vec<String>,
    pub(super) labels: Vec<String>,
    staging: Mutex<Option<wgpu::Buffer>>,
}

impl GpuProgram {
    pub fn new(ctx: &Context, program: &Program) -> Result<Self, GpuError> {
        let buffers = create_buffers(ctx, program)?;
        for (buffer, desc) in buffers.iter().zip(&program.buffers) {
            if !desc.init.is_empty() {
                ctx.queue
                    .write_buffer(buffer, 0, bytemuck::cast_slice(&desc.init));
            }
        }
        let uniform_size = (program.ops.len().max(1) as u64) * UNIFORM_STRIDE;
        let uniforms = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("op parameters"),
            size: uniform_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut bytes = vec![0u8; uniform_size as usize];
        let mut steps = Vec::with_capacity(program.ops.len());
        for (i, op) in program.ops.iter().enumerate() {
            let at = i * UNIFORM_STRIDE as usize;
            let words: &[u8] = bytemuck::cast_slice(&op.params);
            bytes[at..at + words.len()].copy_from_slice(words);
            // The device's own variant of the kernel, if any (same bindings and parameters).
            let (kernel, workgroups) =
                super::variants::adapter_kernel(ctx, op.kernel, &op.params, op.workgroups);
            let flags = super::variants::pipeline_flags(kernel, &op.params);
            let pipeline = ctx.pipeline(kernel, flags)?;
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &uniforms,
                    offset: at as u64,
                    size: wgpu::BufferSize::new(UNIFORM_STRIDE),
                }),
            }];
            for ((view, _), (number, _)) in op.bindings.iter().zip(kernel.bindings()) {
                check_binding(ctx, program, *view)?;
                entries.push(wgpu::BindGroupEntry {
                    binding: *number,
                    resource: wgpu::BindingResource::Buffer(binding(&buffers, *view)),
                });
            }
            let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&op.label),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            if let Some(e) = pollster::block_on(scope.pop()) {
                return Err(GpuError::Runtime(format!(
                    "binding {} ({}): {e}",
                    op.label,
                    kernel.entry()
                )));
            }
            steps.push(Step {
                pipeline,
                bind_group,
                workgroups,
            });
        }
        ctx.queue.write_buffer(&uniforms, 0, &bytes);
        Ok(Self {
            buffers,
            steps,
            phases: program.ops.iter().map(|o| o.phase.clone()).collect(),
            labels: program.ops.iter().map(|o| o.label.clone()).collect(),
            staging: Mutex::new(None),
        })
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Encodes ops `range`, one compute pass per run of ops sharing a phase, each dispatch in a
    /// debug group named after its layer and op.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, range: Range<usize>) {
        let mut i = range.start;
        while i < range.end {
            let phase = &self.phases[i];
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(phase),
                timestamp_writes: None,
            });
            while i < range.end && &self.phases[i] == phase {
                pass.push_debug_group(&self.labels[i]);
                self.steps[i].dispatch(&mut pass);
                pass.pop_debug_group();
                i += 1;
            }
        }
    }

    /// Records and submits ops `range` `times` times in one command buffer.
    pub fn run(&self, ctx: &Context, range: Range<usize>, times: usize) {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for _ in 0..times {
            self.record(&mut encoder, range.clone());
        }
        ctx.queue.submit([encoder.finish()]);
    }

    pub fn write(&self, ctx: &Context, view: View, data: &[u32]) {
        assert_eq!(view.len, data.len(), "write size mismatch");
        let buf = &self.buffers[view.buf.0];
        ctx.queue
            .write_buffer(buf, view.offset as u64 * 4, bytemuck::cast_slice(data));
    }

    pub fn write_f32(&self, ctx: &Context, view: View, data: &[f32]) {
        self.write(ctx, view, bytemuck::cast_slice(data));
    }

    /// Copies `view` back to the host, waiting for all submitted work.
    pub fn read(&self, ctx: &Context, view: View) -> Result<Vec<u32>, GpuError> {
        self.read_buffer(
            ctx,
            &self.buffers[view.buf.0],
            view.offset as u64 * 4,
            view.len as u64 * 4,
        )
    }

    /// Copies `bytes` bytes of `src` from `offset` back to the host.
    pub(super) fn read_buffer(
        &self,
        ctx: &Context,
        src: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Result<Vec<u32>, GpuError> {
        let mut staging = self.staging.lock().map_err(|_| GpuError::Poisoned)?;
        if staging.as_ref().is_none_or(|s| s.size() < bytes) {
            *staging = Some(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("read-back"),
                size: bytes.max(256),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let staging = staging.as_ref().ok_or(GpuError::Poisoned)?;
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.copy_buffer_to_buffer(src, offset, staging, 0, bytes);
        ctx.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Lost(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Runtime(e.to_string()))?
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        let out = {
            let range = staging
                .get_mapped_range(0..bytes)
                .map_err(|e| GpuError::Runtime(e.to_string()))?;
            bytemuck::pod_collect_to_vec::<u8, u32>(&range)
        };
        staging.unmap();
        Ok(out)
    }

    pub fn read_f32(&self, ctx: &Context, view: View) -> Result<Vec<f32>, GpuError> {
        Ok(bytemuck::cast_slice(&self.read(ctx, view)?).to_vec())
    }

    /// Blocks until the device is idle.
    pub fn wait(ctx: &Context) -> Result<(), GpuError> {
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| GpuError::Lost(e.to_string()))
    }
}

/// A buffer may be as large as the adapter's `max_buffer_size`; what one op binds of it, at
/// most `max_storage_buffer_binding_size` (both the adapter's own, see `Context::new`).
fn check_binding(ctx: &Context, program: &Program, v: View) -> Result<(), GpuError> {
    let (bytes, limit) = (v.len as u64 * 4, ctx.limits.max_storage_buffer_binding_size);
    if bytes > limit {
        return Err(GpuError::BufferTooLarge {
            name: program.buffers[v.buf.0].name.clone(),
            bytes,
            limit,
        });
    }
    Ok(())
}

fn create_buffers(ctx: &Context, program: &Program) -> Result<Vec<wgpu::Buffer>, GpuError> {
    let limit = ctx.limits.max_buffer_size;
    program
        .buffers
        .iter()
        .map(|b| {
            let bytes = b.words as u64 * 4;
            if bytes > limit {
                return Err(GpuError::BufferTooLarge {
                    name: b.name.clone(),
                    bytes,
                    limit,
                });
            }
            Ok(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&b.name),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }))
        })
        .collect()
}

fn binding(buffers: &[wgpu::Buffer], v: View) -> wgpu::BufferBinding<'_> {
    wgpu::BufferBinding {
        buffer: &buffers[v.buf.0],
        offset: v.offset as u64 * 4,
        size: wgpu::BufferSize::new(v.len.max(1) as u64 * 4),
    }
}
