//! Plan, then run (house rule 3): `GpuProgram::new` creates every buffer, pipeline, uniform and
//! bind group; `record` only encodes dispatches.

use super::plan::{Bind, Dispatch};
use super::{Context, GpuError};
use crate::kernels::{Access, Kernel};
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
    /// Op i and the ops after it in one dispatch, where `gpu::plan` fused them, and how many
    /// ops that dispatch runs.
    fused: Vec<Option<Step>>,
    spans: Vec<usize>,
    kernels: Vec<Kernel>,
    fused_kernels: Vec<Option<Kernel>>,
    pub(super) phases: Vec<String>,
    pub(super) labels: Vec<String>,
    fused_labels: Vec<String>,
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
        // Two parameter slots per op: its own dispatch, and the fused one (`gpu::plan`).
        let uniform_size = (2 * program.ops.len().max(1) as u64) * UNIFORM_STRIDE;
        let uniforms = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("op parameters"),
            size: uniform_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let dummy = ["unused fused output", "unused fused input"].map(|label| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: super::variants::UNUSED_BINDING_BYTES,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        let mut bytes = vec![0u8; uniform_size as usize];
        let planned = super::plan::plan(ctx, program);
        let mut steps = Vec::with_capacity(program.ops.len());
        let mut fused = Vec::with_capacity(program.ops.len());
        let targets = Targets {
            program,
            buffers: &buffers,
            uniforms: &uniforms,
            dummy: &dummy,
        };
        for (i, (op, plan)) in program.ops.iter().zip(&planned).enumerate() {
            let slot = 2 * i * UNIFORM_STRIDE as usize;
            steps.push(targets.step(ctx, &mut bytes, slot, &op.label, &plan.own)?);
            let slot = slot + UNIFORM_STRIDE as usize;
            fused.push(match &plan.fused {
                Some(d) => Some(targets.step(ctx, &mut bytes, slot, &op.label, d)?),
                None => None,
            });
        }
        ctx.queue.write_buffer(&uniforms, 0, &bytes);
        let labels: Vec<String> = program.ops.iter().map(|o| o.label.clone()).collect();
        let spans: Vec<usize> = planned.iter().map(|p| p.span).collect();
        let fused_labels = (0..labels.len())
            .map(|i| match labels.get(i..i + spans[i]) {
                Some(run) if fused[i].is_some() => run.join(" + "),
                _ => labels[i].clone(),
            })
            .collect();
        Ok(Self {
            buffers,
            steps,
            fused,
            spans,
            kernels: planned.iter().map(|p| p.own.kernel).collect(),
            fused_kernels: planned
                .iter()
                .map(|p| p.fused.as_ref().map(|d| d.kernel))
                .collect(),
            phases: program.ops.iter().map(|o| o.phase.clone()).collect(),
            labels,
            fused_labels,
            staging: Mutex::new(None),
        })
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The dispatch that runs op `i` in a run ending before `end`, how many ops it covers (more
    /// than 1 when the ops after it are fused into it) and its debug label.
    pub(super) fn step_at(&self, i: usize, end: usize) -> (&Step, usize, &str) {
        match &self.fused[i] {
            Some(f) if i + self.spans[i] <= end => (f, self.spans[i], &self.fused_labels[i]),
            _ => (&self.steps[i], 1, &self.labels[i]),
        }
    }

    /// Dispatches of one run of ops `range` (fused pairs count once).
    pub fn dispatches(&self, range: Range<usize>) -> usize {
        let (mut i, mut n) = (range.start, 0);
        while i < range.end {
            i += self.step_at(i, range.end).1;
            n += 1;
        }
        n
    }

    /// The kernel each op runs as on this device when run alone (`gpu::plan`), and the one
    /// that runs it together with the ops after it, if those were fused.
    pub fn kernel_of(&self, i: usize) -> (Kernel, Option<Kernel>) {
        (self.kernels[i], self.fused_kernels[i])
    }

    /// Encodes ops `range` as one compute pass: the phases as debug groups, and in them each
    /// dispatch in a debug group named after its layer and op (RenderDoc shows both).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, range: Range<usize>) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("wgpu-gan"),
            timestamp_writes: None,
        });
        self.record_into(&mut pass, range);
    }

    fn record_into(&self, pass: &mut wgpu::ComputePass<'_>, range: Range<usize>) {
        let mut i = range.start;
        let mut phase: Option<&str> = None;
        while i < range.end {
            if phase != Some(self.phases[i].as_str()) {
                if phase.is_some() {
                    pass.pop_debug_group();
                }
                pass.push_debug_group(&self.phases[i]);
                phase = Some(&self.phases[i]);
            }
            let (step, covers, label) = self.step_at(i, range.end);
            pass.push_debug_group(label);
            step.dispatch(pass);
            pass.pop_debug_group();
            i += covers;
        }
        if phase.is_some() {
            pass.pop_debug_group();
        }
    }

    /// Records and submits ops `range` `times` times in one command buffer and one pass.
    pub fn run(&self, ctx: &Context, range: Range<usize>, times: usize) {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("wgpu-gan"),
                timestamp_writes: None,
            });
            for _ in 0..times {
                self.record_into(&mut pass, range.clone());
            }
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

/// What a program's dispatches bind: its buffers, the parameter slots, the unused-binding buffer.
struct Targets<'a> {
    program: &'a Program,
    buffers: &'a [wgpu::Buffer],
    uniforms: &'a wgpu::Buffer,
    /// (written, read) stand-ins for unused fused bindings.
    dummy: &'a [wgpu::Buffer; 2],
}

impl Targets<'_> {
    /// The pipeline and bind group of `d`, its parameters written into `bytes` at `slot`.
    fn step(
        &self,
        ctx: &Context,
        bytes: &mut [u8],
        slot: usize,
        label: &str,
        d: &Dispatch,
    ) -> Result<Step, GpuError> {
        let words: &[u8] = bytemuck::cast_slice(&d.params);
        bytes[slot..slot + words.len()].copy_from_slice(words);
        let flags = super::variants::pipeline_flags(d.kernel, &d.params);
        let pipeline = ctx.pipeline(d.kernel, flags)?;
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: self.uniforms,
                offset: slot as u64,
                size: wgpu::BufferSize::new(UNIFORM_STRIDE),
            }),
        }];
        for (bind, (number, access)) in d.binds.iter().zip(d.kernel.bindings()) {
            let resource = match bind {
                Bind::View(view) => {
                    check_binding(ctx, self.program, *view)?;
                    binding(self.buffers, *view)
                }
                Bind::Dummy => wgpu::BufferBinding {
                    buffer: &self.dummy[usize::from(*access == Access::Read)],
                    offset: 0,
                    size: None,
                },
            };
            entries.push(wgpu::BindGroupEntry {
                binding: *number,
                resource: wgpu::BindingResource::Buffer(resource),
            });
        }
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Runtime(format!(
                "binding {label} ({}): {e}",
                d.kernel.entry()
            )));
        }
        Ok(Step {
            pipeline,
            bind_group,
            workgroups: d.workgroups,
        })
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
