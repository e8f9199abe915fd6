//! The GPU executor: a `Program` planned once into buffers, pipelines and bind groups, then
//! replayed as labelled compute passes.

mod context;
mod exec;
pub mod plan;
mod profile;
mod timing;
pub mod tune;
pub mod variants;

pub use context::{
    adapters, wanted_features, BackendChoice, Context, GpuOptions, PORTABLE_KERNELS_ENV,
};
pub use exec::GpuProgram;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found; install a Vulkan driver (on Debian/Ubuntu the software one is \
         `apt-get install mesa-vulkan-drivers libvulkan1`) or use --device cpu"
    )]
    NoAdapter,
    #[error("no adapter matches --adapter '{wanted}'; available: {available}")]
    AdapterNotFound { wanted: String, available: String },
    #[error("could not create the device: {0}")]
    Device(String),
    #[error("shader {file} failed to compile: {message}")]
    Shader { file: String, message: String },
    #[error(
        "tensor '{name}' needs {bytes} bytes but the adapter allows {limit} bytes per buffer or \
         storage binding; use a smaller batch or model"
    )]
    BufferTooLarge {
        name: String,
        bytes: u64,
        limit: u64,
    },
    #[error("GPU error: {0}")]
    Runtime(String),
    #[error("the GPU device was lost: {0}")]
    Lost(String),
    #[error("internal lock poisoned")]
    Poisoned,
}
