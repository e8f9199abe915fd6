//! Adapter-specific kernels: a `Program` names portable kernels only, and `GpuProgram::new` asks
//! [`adapter_kernel`] for each op whether this device has a faster equivalent. A variant binds
//! the same buffers at the same numbers, takes the same parameters and has the same CPU twin,
//! so the program, its CPU run and its results do not depend on the choice.
//!
//! Today, on CPU adapters only (lavapipe; `Context::lavapipe_tuned` says why):
//! - the subgroup matmuls (`shaders/matmul_subgroup.wgsl`) replace the `_vec4` ones for products
//!   whose out rows are a multiple of [`OUT_FLOATS_PER_STORE`] long, on devices with the
//!   SUBGROUP and SHADER_INT64 features whose subgroups hold at least 8 invocations (one
//!   workgroup); their pipelines are compiled per value of the product's flags
//!   ([`pipeline_flags`]);
//! - `adam_step_wide` (`shaders/adam_wide.wgsl`) replaces `adam_step` for arenas whose length
//!   is a multiple of 8, on devices with SHADER_INT64;
//! - the serial batch-norm kernels (`batch_norm_*_serial`) replace the reducing ones for channels
//!   of at most [`SERIAL_BATCH_NORM_MAX`] values, and the serial instance-norm kernels
//!   (`instance_norm_*_serial`) the reducing ones for planes of at most
//!   [`SERIAL_INSTANCE_NORM_MAX`] values.
//!
//! `GpuOptions::portable_kernels` or `WGPU_GAN_PORTABLE_KERNELS=1` turns all this off.

use super::Context;
use crate::cpu::adam::AdamParams;
use crate::cpu::batch_norm::BatchNormParams;
use crate::cpu::instance_norm::InstanceNormParams;
use crate::cpu::matmul::{MatmulParams, ACCUMULATE, HAS_BIAS};
use crate::cpu::matmul_fused::{BIAS_GRAD, BIAS_GRAD_ACCUMULATE};
use crate::kernels::Kernel;
use crate::ops::tiling;
use crate::program::grid_1d;

/// Smallest subgroup the subgroup kernels work with: their workgroup of 8 invocations must be
/// one subgroup, and they broadcast from lanes 0..7.
pub const MIN_SUBGROUP_SIZE: u32 = 8;

/// The subgroup matmuls write out this many floats at a time (one vec4<u64>): the length of
/// out's rows must be a multiple of it.
pub const OUT_FLOATS_PER_STORE: u32 = 8;

/// Bytes of the stand-in bound where a fused epilogue's output or input is unused (the
/// program's and autotuning's): one element of the widest such binding, matmul_subgroup's
/// vec4<u64>. Smaller, the device refuses the bind group.
pub const UNUSED_BINDING_BYTES: u64 = OUT_FLOATS_PER_STORE as u64 * 4;

/// The kernel and workgroup counts that run `kernel` with `params` on `ctx`'s device, where
/// `workgroups` is what the portable kernel would dispatch.
pub fn adapter_kernel(
    ctx: &Context,
    kernel: Kernel,
    params: &[u32],
    workgroups: [u32; 3],
) -> (Kernel, [u32; 3]) {
    if kernel == Kernel::AdamStep {
        return wide_adam(ctx, params).unwrap_or((kernel, workgroups));
    }
    if let Some(serial) = serial_batch_norm(ctx, kernel, params) {
        return serial;
    }
    if let Some(serial) = serial_instance_norm(ctx, kernel, params) {
        return serial;
    }
    if !ctx.subgroup_kernels() {
        return (kernel, workgroups);
    }
    let variant = match kernel {
        Kernel::MatmulVec4 => Kernel::MatmulSubgroup,
        Kernel::MatmulAtVec4 => Kernel::MatmulAtSubgroup,
        Kernel::MatmulBtVec4 => Kernel::MatmulBtSubgroup,
        _ => return (kernel, workgroups),
    };
    let Ok(p) = bytemuck::try_pod_read_unaligned::<MatmulParams>(bytemuck::cast_slice(params))
    else {
        return (kernel, workgroups);
    };
    if !p.n.is_multiple_of(OUT_FLOATS_PER_STORE) {
        return (kernel, workgroups);
    }
    let grid = tiling::matmul_grid(variant, p.m as usize, p.n as usize);
    (variant, grid)
}

/// The subgroup twin of a `_vec4` product where the device has the features and the shape
/// fits, whatever the adapter type: a candidate for autotuning (`gpu::plan`).
pub fn subgroup_variant(ctx: &Context, kernel: Kernel, params: &[u32]) -> Option<Kernel> {
    let has = ctx
        .features
        .contains(wgpu::Features::SUBGROUP | wgpu::Features::SHADER_INT64)
        && ctx.info.subgroup_min_size >= MIN_SUBGROUP_SIZE;
    let variant = match kernel {
        Kernel::MatmulVec4 => Kernel::MatmulSubgroup,
        Kernel::MatmulAtVec4 => Kernel::MatmulAtSubgroup,
        Kernel::MatmulBtVec4 => Kernel::MatmulBtSubgroup,
        _ => return None,
    };
    let p = bytemuck::try_pod_read_unaligned::<MatmulParams>(bytemuck::cast_slice(params)).ok()?;
    (has && p.n.is_multiple_of(OUT_FLOATS_PER_STORE)).then_some(variant)
}

/// Most values per channel the serial batch-norm kernels take: the forward loops over them three
/// times, under the 65,535 iterations after which lavapipe ends an invocation's loops.
pub const SERIAL_BATCH_NORM_MAX: u32 = 16_384;

/// The serial batch-norm kernels (one invocation per channel) and their workgroups, on CPU
/// adapters for channels of at most SERIAL_BATCH_NORM_MAX values: there the 256-wide reduction
/// tree's barriers cost more than the whole sum (the seed MLP's 1,024 channels of 32 values
/// took 70% of an iteration).
fn serial_batch_norm(ctx: &Context, kernel: Kernel, params: &[u32]) -> Option<(Kernel, [u32; 3])> {
    let variant = match kernel {
        Kernel::BatchNormForwardTrain => Kernel::BatchNormForwardTrainSerial,
        Kernel::BatchNormBackward => Kernel::BatchNormBackwardSerial,
        _ => return None,
    };
    let words = params.get(..6)?;
    let p =
        bytemuck::try_pod_read_unaligned::<BatchNormParams>(bytemuck::cast_slice(words)).ok()?;
    let short = p.n.checked_mul(p.hw)? <= SERIAL_BATCH_NORM_MAX;
    (ctx.lavapipe_tuned() && !ctx.portable && short).then(|| (variant, grid_1d(p.c as usize, 64)))
}

/// Most values per plane the serial instance-norm kernels take: the backward loops over them four
/// times, under the 65,535 iterations after which lavapipe ends an invocation's loops.
pub const SERIAL_INSTANCE_NORM_MAX: u32 = 16_383;

/// The serial instance-norm kernels (one invocation per plane) and their workgroups, on CPU
/// adapters for planes of at most SERIAL_INSTANCE_NORM_MAX values: the reducing kernels' 256-wide
/// trees made instance norm 58% of a CycleGAN batch-16 iteration on lavapipe.
fn serial_instance_norm(
    ctx: &Context,
    kernel: Kernel,
    params: &[u32],
) -> Option<(Kernel, [u32; 3])> {
    let variant = match kernel {
        Kernel::InstanceNormForward => Kernel::InstanceNormForwardSerial,
        Kernel::InstanceNormBackward => Kernel::InstanceNormBackwardSerial,
        _ => return None,
    };
    let words = params.get(..4)?;
    let p =
        bytemuck::try_pod_read_unaligned::<InstanceNormParams>(bytemuck::cast_slice(words)).ok()?;
    let short = p.hw <= SERIAL_INSTANCE_NORM_MAX;
    (ctx.lavapipe_tuned() && !ctx.portable && short)
        .then(|| (variant, grid_1d(p.planes as usize, 64)))
}

/// `adam_step_wide` and its workgroups, where the device and the arena's length allow.
fn wide_adam(ctx: &Context, params: &[u32]) -> Option<(Kernel, [u32; 3])> {
    let p = bytemuck::try_pod_read_unaligned::<AdamParams>(bytemuck::cast_slice(params)).ok()?;
    let wide = ctx.lavapipe_tuned()
        && ctx.features.contains(wgpu::Features::SHADER_INT64)
        && p.n.is_multiple_of(8);
    wide.then(|| (Kernel::AdamStepWide, grid_1d(p.n as usize / 8, 64)))
}

/// The flags a subgroup pipeline is compiled for: bias, accumulation, the activation (derivative)
/// epilogues (bits 4..10) and the bias gradient.
const EPILOGUE_FLAGS: u32 = HAS_BIAS | ACCUMULATE | 0x770 | BIAS_GRAD | BIAS_GRAD_ACCUMULATE;

/// The value of the `FLAGS` pipeline constant of `kernel` run with `params`, for kernels that
/// declare one: their pipeline is compiled per flags, so that the compiler drops what a product
/// does not use (on lavapipe, every load and store is a loop over the lanes, taken or not).
pub fn pipeline_flags(kernel: Kernel, params: &[u32]) -> Option<u32> {
    match kernel {
        Kernel::MatmulSubgroup
        | Kernel::MatmulAtSubgroup
        | Kernel::MatmulBtSubgroup
        | Kernel::MatmulDirect
        | Kernel::MatmulAtDirect
        | Kernel::MatmulBtDirect => {
            // A fused product's params carry leaky_relu's slope after the four words.
            let words = params.get(..4)?;
            let p = bytemuck::try_pod_read_unaligned::<MatmulParams>(bytemuck::cast_slice(words));
            p.ok().map(|p| p.flags & EPILOGUE_FLAGS)
        }
        _ => None,
    }
}
