//! One interface over the two executors, so the trainer is written once, and the choice between
//! them.

mod choice;
mod cpu;
pub mod cpu_conv;
pub mod cpu_fuse;

pub use choice::{choose, is_real_gpu, resolve, Choice};
pub use cpu::{CpuProgram, Unit};

use crate::gpu::{Context, GpuError, GpuOptions, GpuProgram};
use crate::program::{Program, View};
use std::ops::Range;
use std::sync::Arc;

pub trait Executor {
    /// Runs ops `range` of the program `times` times in a row.
    fn run(&mut self, range: Range<usize>, times: usize) -> Result<(), GpuError>;
    fn read(&self, view: View) -> Result<Vec<u32>, GpuError>;
    fn write(&mut self, view: View, data: &[u32]);
    /// Blocks until submitted work is done (a no-op on the CPU).
    fn wait(&self) -> Result<(), GpuError>;
    fn describe(&self) -> String;

    /// Starts (true) or ends (false) a graphics-debugger capture (RenderDoc) around the work
    /// submitted in between; a no-op on the CPU or without a debugger attached.
    fn capture(&self, _start: bool) {}

    /// The kernel choices programs were planned with (`gpu::tune`), as JSON for checkpoints;
    /// None on the CPU.
    fn kernel_choices(&self) -> Option<String> {
        None
    }

    fn read_f32(&self, view: View) -> Result<Vec<f32>, GpuError> {
        Ok(bytemuck::cast_slice(&self.read(view)?).to_vec())
    }

    fn write_f32(&mut self, view: View, data: &[f32]) {
        self.write(view, bytemuck::cast_slice(data));
    }
}

pub struct GpuExec {
    pub ctx: Arc<Context>,
    pub gpu: GpuProgram,
}

impl GpuExec {
    pub fn new(ctx: Arc<Context>, program: &Program) -> Result<Self, GpuError> {
        let gpu = GpuProgram::new(&ctx, program)?;
        Ok(Self { ctx, gpu })
    }
}

impl Executor for GpuExec {
    fn run(&mut self, range: Range<usize>, times: usize) -> Result<(), GpuError> {
        self.ctx.check()?;
        self.gpu.run(&self.ctx, range, times);
        Ok(())
    }

    fn read(&self, view: View) -> Result<Vec<u32>, GpuError> {
        let data = self.gpu.read(&self.ctx, view)?;
        self.ctx.check()?;
        Ok(data)
    }

    fn write(&mut self, view: View, data: &[u32]) {
        self.gpu.write(&self.ctx, view, data);
    }

    fn wait(&self) -> Result<(), GpuError> {
        GpuProgram::wait(&self.ctx)?;
        self.ctx.check()
    }

    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn kernel_choices(&self) -> Option<String> {
        Some(self.ctx.tuning.used_json())
    }

    fn capture(&self, start: bool) {
        // SAFETY: captures are started and ended in pairs by the trainer, one at a time, with
        // the device idle at both ends (the trainer waits before and after).
        unsafe {
            if start {
                self.ctx.device.start_graphics_debugger_capture();
            } else {
                self.ctx.device.stop_graphics_debugger_capture();
            }
        }
    }
}

pub struct CpuExec {
    pub program: Program,
    pub cpu: CpuProgram,
}

impl CpuExec {
    pub fn new(program: &Program) -> Self {
        Self {
            program: program.clone(),
            cpu: CpuProgram::new(program),
        }
    }
}

impl Executor for CpuExec {
    fn run(&mut self, range: Range<usize>, times: usize) -> Result<(), GpuError> {
        for _ in 0..times {
            self.cpu.run_range(&self.program, range.clone());
        }
        Ok(())
    }

    fn read(&self, view: View) -> Result<Vec<u32>, GpuError> {
        Ok(self.cpu.read(view))
    }

    fn write(&mut self, view: View, data: &[u32]) {
        self.cpu.write(view, data);
    }

    fn wait(&self) -> Result<(), GpuError> {
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "CPU reference path ({} threads)",
            crate::cpu::par::threads()
        )
    }
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A real GPU when there is one (discrete, integrated, virtual), else the CPU path.
    #[default]
    Auto,
    /// The wgpu adapter, a software one (lavapipe) included; falls back to the CPU when none
    /// exists.
    Gpu,
    /// The CPU twins of every shader.
    Cpu,
}

/// The executor for `device`: the GPU, or the CPU twins when asked, when `auto` finds no real
/// GPU (`choice`), or when no adapter exists.
pub fn executor(
    device: DeviceKind,
    gpu: &GpuOptions,
    program: &Program,
) -> Result<Box<dyn Executor>, GpuError> {
    if resolve(device, gpu) == DeviceKind::Cpu {
        return Ok(Box::new(CpuExec::new(program)));
    }
    match Context::new(gpu) {
        Ok(ctx) => Ok(Box::new(GpuExec::new(Arc::new(ctx), program)?)),
        Err(GpuError::NoAdapter) => {
            eprintln!(
                "warning: {}; training on the CPU instead",
                GpuError::NoAdapter
            );
            Ok(Box::new(CpuExec::new(program)))
        }
        Err(e) => Err(e),
    }
}
