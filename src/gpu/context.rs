//! Adapter choice, device creation and the pipeline cache: built once, reused by every program.

use crate::kernels::{shader, Kernel};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::GpuError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    #[default]
    Auto,
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl BackendChoice {
    pub fn backends(self) -> wgpu::Backends {
        match self {
            Self::Auto => wgpu::Backends::all(),
            Self::Vulkan => wgpu::Backends::VULKAN,
            Self::Metal => wgpu::Backends::METAL,
            Self::Dx12 => wgpu::Backends::DX12,
            Self::Gl => wgpu::Backends::GL,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    pub backend: BackendChoice,
    /// Case-insensitive substring of the adapter name.
    pub adapter: Option<String>,
    /// Instance debug flags (labels reach Vulkan debug utils, for RenderDoc).
    pub debug: bool,
    /// Run the portable kernels only, as on a device without subgroups (also set by
    /// `WGPU_GAN_PORTABLE_KERNELS=1`); see `gpu::variants`.
    pub portable_kernels: bool,
    /// How products find their kernel (`gpu::tune`); the library's default is the fixed rule.
    pub tune: super::tune::TuneMode,
    /// Kernels to force where eligible (a test hook; else `WGPU_GAN_KERNELS`).
    pub kernels: Option<Vec<Kernel>>,
    /// Choices a checkpoint was trained with (`kernel_choices`): a resume plans with them.
    pub tune_pinned: Option<std::collections::BTreeMap<String, String>>,
}

/// The environment variable that forces [`GpuOptions::portable_kernels`].
pub const PORTABLE_KERNELS_ENV: &str = "WGPU_GAN_PORTABLE_KERNELS";

impl GpuOptions {
    /// Whether the options or the environment ask for the portable kernels only.
    pub fn wants_portable_kernels(&self) -> bool {
        self.portable_kernels
            || std::env::var(PORTABLE_KERNELS_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
    }
}

/// The features the engine uses when the adapter has them.
pub fn wanted_features() -> wgpu::Features {
    wgpu::Features::TIMESTAMP_QUERY
        | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
        | wgpu::Features::SUBGROUP
        | wgpu::Features::SHADER_INT64
}

pub fn instance(opts: &GpuOptions) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = opts.backend.backends();
    if opts.debug {
        desc.flags |= wgpu::InstanceFlags::DEBUG;
    }
    wgpu::Instance::new(desc)
}

/// Every adapter the instance sees, best first (discrete, integrated, virtual, then CPU).
pub fn adapters(opts: &GpuOptions) -> Vec<wgpu::Adapter> {
    let inst = instance(opts);
    let mut list = pollster::block_on(inst.enumerate_adapters(opts.backend.backends()));
    list.sort_by_key(|a| rank(a.get_info().device_type));
    list
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The tuning state `opts` ask for on the adapter of `info`.
fn tuning(opts: &GpuOptions, info: &wgpu::AdapterInfo) -> Result<super::tune::Tuning, GpuError> {
    use super::tune;
    let portable = opts.wants_portable_kernels();
    let forced = match &opts.kernels {
        Some(k) => Some(k.clone()),
        None => tune::forced_from_env().map_err(GpuError::Runtime)?,
    };
    let mode = if portable {
        tune::TuneMode::Off
    } else {
        opts.tune
    };
    Ok(tune::Tuning::new(
        mode,
        forced.filter(|_| !portable),
        opts.tune_pinned.clone().unwrap_or_default(),
        &tune::adapter_key(info),
    ))
}

pub struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<(Kernel, Option<u32>), wgpu::ComputePipeline>>,
    /// Kernel choices: mode, cache, checkpoint pins, budget (`gpu::tune`).
    pub tuning: super::tune::Tuning,
    /// `GpuOptions::portable_kernels`: no variants at all (`gpu::variants`).
    pub portable: bool,
    /// The first device error not caught by an error scope, or the device loss; wgpu's default
    /// handler would panic, so these are kept and returned by `check`.
    fault: Arc<Mutex<Option<GpuError>>>,
}

impl Context {
    pub fn new(opts: &GpuOptions) -> Result<Self, GpuError> {
        let all = adapters(opts);
        let adapter = match &opts.adapter {
            None => all.into_iter().next(),
            Some(want) => {
                let want_lc = want.to_lowercase();
                let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
                let found = all
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&want_lc));
                if found.is_none() && !names.is_empty() {
                    return Err(GpuError::AdapterNotFound {
                        wanted: want.clone(),
                        available: names.join(", "),
                    });
                }
                found
            }
        };
        let adapter = adapter.ok_or(GpuError::NoAdapter)?;
        let mut features = adapter.features() & wanted_features();
        if opts.wants_portable_kernels() {
            features.remove(wgpu::Features::SUBGROUP | wgpu::Features::SHADER_INT64);
        }
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("wgpu-gan"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let fault: Arc<Mutex<Option<GpuError>>> = Arc::new(Mutex::new(None));
        let keep = |slot: &Arc<Mutex<Option<GpuError>>>, e: GpuError| {
            if let Ok(mut f) = slot.lock() {
                f.get_or_insert(e);
            }
        };
        let errors = Arc::clone(&fault);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            keep(&errors, GpuError::Runtime(e.to_string()))
        }));
        let lost = Arc::clone(&fault);
        device.set_device_lost_callback(move |reason, message| {
            keep(&lost, GpuError::Lost(format!("{reason:?}: {message}")))
        });
        let info = adapter.get_info();
        let tuning = tuning(opts, &info)?;
        Ok(Self {
            device,
            queue,
            tuning,
            portable: opts.wants_portable_kernels(),
            info,
            features,
            limits,
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            fault,
        })
    }

    /// The first device error or loss since the device was created, if any.
    pub fn check(&self) -> Result<(), GpuError> {
        match self.fault.lock() {
            Ok(mut f) => f.take().map_or(Ok(()), Err),
            Err(_) => Err(GpuError::Poisoned),
        }
    }

    /// Whether this device takes the variants (`gpu::variants`), which are tuned for a CPU
    /// running Vulkan (lavapipe: a loop over the lanes for every load and store, registers
    /// spilled to a cache that is cheap). Their large register tiles in workgroups of 8 are
    /// unmeasured on GPUs and likely wrong there, so GPUs keep the portable kernels.
    pub fn lavapipe_tuned(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether programs planned on this device use the subgroup kernels (`gpu::variants`).
    pub fn subgroup_kernels(&self) -> bool {
        self.lavapipe_tuned()
            && self
                .features
                .contains(wgpu::Features::SUBGROUP | wgpu::Features::SHADER_INT64)
            && self.info.subgroup_min_size >= super::variants::MIN_SUBGROUP_SIZE
    }

    /// Which kernel set programs use here, in words.
    pub fn kernel_set(&self) -> String {
        if self.subgroup_kernels() {
            format!(
                "subgroup matmuls (subgroups of {}..{})",
                self.info.subgroup_min_size, self.info.subgroup_max_size
            )
        } else {
            "portable kernels".into()
        }
    }

    /// One line naming the adapter, for logs and benchmark output.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?}, driver {} {})",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            self.info.driver,
            self.info.driver_info
        )
    }

    /// The compute pipeline of `kernel`, with its `FLAGS` pipeline constant when it has one
    /// (`variants::pipeline_flags`), compiled on first use and cached.
    pub fn pipeline(
        &self,
        kernel: Kernel,
        flags: Option<u32>,
    ) -> Result<wgpu::ComputePipeline, GpuError> {
        let mut cache = self.pipelines.lock().map_err(|_| GpuError::Poisoned)?;
        if let Some(p) = cache.get(&(kernel, flags)) {
            return Ok(p.clone());
        }
        let module = self.module(kernel.shader())?;
        let constants: Vec<(&str, f64)> = flags.iter().map(|&f| ("FLAGS", f64::from(f))).collect();
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.entry()),
                layout: None,
                module: &module,
                entry_point: Some(kernel.entry()),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    ..Default::default()
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Shader {
                file: format!("shaders/{}.wgsl", kernel.shader()),
                message: format!("entry point {}: {e}", kernel.entry()),
            });
        }
        cache.insert((kernel, flags), pipeline.clone());
        Ok(pipeline)
    }

    fn module(&self, file: &'static str) -> Result<wgpu::ShaderModule, GpuError> {
        let mut cache = self.modules.lock().map_err(|_| GpuError::Poisoned)?;
        if let Some(m) = cache.get(file) {
            return Ok(m.clone());
        }
        let shader = shader(file).ok_or_else(|| GpuError::Shader {
            file: format!("shaders/{file}.wgsl"),
            message: "not embedded in the binary".into(),
        })?;
        // Named with its parts: wgpu's line numbers count through all of them.
        let module = self.compile(&shader.path(), shader.source)?;
        cache.insert(file, module.clone());
        Ok(module)
    }

    /// Compiles WGSL `source`; a failure names `path`.
    pub fn compile(&self, path: &str, source: &str) -> Result<wgpu::ShaderModule, GpuError> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(path),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(GpuError::Shader {
                file: path.to_string(),
                message: e.to_string(),
            }),
            None => Ok(module),
        }
    }
}
