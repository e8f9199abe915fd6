//! `--device auto`: a real GPU when there is one, else the CPU path. A CPU-type adapter
//! (lavapipe, llvmpipe, SwiftShader) runs the same shaders several times slower than the CPU
//! twins on the same cores, so auto never picks one; `--device gpu` still does.

use super::DeviceKind;
use crate::gpu::{adapters, BackendChoice, GpuOptions};
use std::collections::HashMap;
use std::sync::Mutex;

/// What `auto` resolved to, and why, in one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub device: DeviceKind,
    pub reason: String,
}

/// Resolves `auto` to `Gpu` or `Cpu`; `Gpu` and `Cpu` are returned as they are. Prints the
/// choice once per process and set of GPU options (a run plans several programs).
pub fn resolve(device: DeviceKind, gpu: &GpuOptions) -> DeviceKind {
    if device != DeviceKind::Auto {
        return device;
    }
    static SEEN: Mutex<Option<HashMap<String, DeviceKind>>> = Mutex::new(None);
    let key = format!("{:?}/{:?}", gpu.backend, gpu.adapter);
    if let Ok(mut seen) = SEEN.lock() {
        let map = seen.get_or_insert_with(HashMap::new);
        if let Some(d) = map.get(&key) {
            return *d;
        }
        let c = choose(gpu);
        eprintln!("device: {}", c.reason);
        map.insert(key, c.device);
        return c.device;
    }
    choose(gpu).device
}

/// The choice `auto` makes with these options, without printing it.
pub fn choose(gpu: &GpuOptions) -> Choice {
    if gpu.adapter.is_some() || gpu.backend != BackendChoice::Auto {
        return Choice {
            device: DeviceKind::Gpu,
            reason: "auto chose the GPU: --adapter or --backend names one".into(),
        };
    }
    let list = adapters(gpu);
    let real = list
        .iter()
        .map(|a| a.get_info())
        .find(|i| is_real_gpu(i.device_type));
    if let Some(info) = real {
        return Choice {
            device: DeviceKind::Gpu,
            reason: format!(
                "auto chose the GPU {} ({:?}, {:?})",
                info.name, info.backend, info.device_type
            ),
        };
    }
    let why = match list.first().map(|a| a.get_info()) {
        Some(info) => format!(
            "the only adapter, {} ({:?}), is a software renderer, slower than the CPU path; \
             --device gpu forces it",
            info.name, info.device_type
        ),
        None => "no GPU adapter found".into(),
    };
    Choice {
        device: DeviceKind::Cpu,
        reason: format!("auto chose the CPU path: {why}"),
    }
}

/// Discrete, integrated or virtual GPUs; never a CPU adapter or an unknown one.
pub fn is_real_gpu(t: wgpu::DeviceType) -> bool {
    matches!(
        t,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}
