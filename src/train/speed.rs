//! Timed training iterations, for `cargo bench` (iterations/s of any model on either path).

use super::{upload_initial_state, TrainConfig, TrainError};
use crate::exec::executor;
use crate::gpu::GpuOptions;
use std::time::Instant;

/// Iterations recorded into one submission, as the trainer does.
const CHUNK: usize = 20;

/// The outcome of [`time_iterations`].
#[derive(Clone, Debug)]
pub struct Speed {
    /// The executor, in words (adapter name or the CPU path).
    pub device: String,
    pub iterations: usize,
    pub seconds: f64,
}

impl Speed {
    pub fn per_second(&self) -> f64 {
        self.iterations as f64 / self.seconds.max(f64::MIN_POSITIVE)
    }
}

/// Plans `cfg`'s training program on `cfg.device`, runs `warmup` untimed iterations, then times
/// `iterations` more; the clock stops once the device has finished them. For the DCGAN at
/// batch 64: `TrainConfig { device, ..TrainConfig::for_model(ModelKind::Dcgan) }`.
pub fn time_iterations(
    cfg: &TrainConfig,
    gpu: &GpuOptions,
    warmup: usize,
    iterations: usize,
) -> Result<Speed, TrainError> {
    cfg.validate()?;
    let sets = cfg.datasets()?;
    let gan = cfg.program_for(&sets)?;
    let mut exec = executor(cfg.device, gpu, &gan.prog)?;
    upload_initial_state(exec.as_mut(), &gan, &sets[0], cfg);
    super::upload_extra_datasets(exec.as_mut(), &gan, &sets);
    let mut run = |n: usize| -> Result<(), TrainError> {
        let mut left = n;
        while left > 0 {
            let chunk = left.min(CHUNK);
            exec.run(gan.iteration.clone(), chunk)?;
            left -= chunk;
        }
        exec.wait()?;
        Ok(())
    };
    run(warmup)?;
    let start = Instant::now();
    run(iterations)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Speed {
        device: exec.describe(),
        iterations,
        seconds,
    })
}
