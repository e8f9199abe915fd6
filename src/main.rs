//! The `wgpu-gan` command line: clap structs, then a call into the library.

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use wgpu_gan::gpu::{BackendChoice, GpuOptions};
use wgpu_gan::train::{DataSource, DeviceKind, ModelKind, TrainConfig, Trainer};

#[derive(Parser)]
#[command(
    name = "wgpu-gan",
    version,
    about = "Train GANs on any GPU: every op is a WGSL compute shader run through wgpu"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    gpu: GpuArgs,
}

#[derive(Args, Clone)]
struct GpuArgs {
    /// Graphics API to use.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto, global = true)]
    backend: BackendChoice,
    /// Pick the adapter whose name contains this text (see `wgpu-gan info`).
    #[arg(long, global = true)]
    adapter: Option<String>,
}

impl GpuArgs {
    fn options(&self) -> GpuOptions {
        GpuOptions {
            backend: self.backend,
            adapter: self.adapter.clone(),
            debug: false,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN (default: the seed tutorial's MLP GAN on the embedded MNIST sample).
    #[command(after_help = "Examples:
  wgpu-gan train                                  # seed recipe, embedded MNIST, 12,000 steps
  wgpu-gan train --steps 2000 --out runs/quick    # a shorter run
  wgpu-gan train --data ~/mnist                   # train-images-idx3-ubyte[.gz] + labels
  wgpu-gan train --dataset fashion --device cpu   # Debian's Fashion-MNIST on the CPU path")]
    Train(TrainArgs),
    /// Generate images from a checkpoint (or a run directory: its latest checkpoint).
    #[command(after_help = "Examples:
  wgpu-gan sample --checkpoint runs/mlp-20261123-101500 --count 10000 --out samples.npy
  wgpu-gan sample --checkpoint runs/x/checkpoints/step_002000.safetensors --count 64 --out grid.png")]
    Sample(SampleArgs),
    /// List the GPU adapters wgpu sees, with the features and limits the engine uses.
    Info,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DatasetName {
    /// The 10,000 MNIST digits embedded in the binary.
    Embedded,
    /// Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
    Fashion,
}

#[derive(Args)]
struct TrainArgs {
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    model: ModelKind,
    #[arg(long, default_value_t = 12_000)]
    steps: usize,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[arg(long, default_value_t = 100)]
    latent_dim: usize,
    #[arg(long, default_value_t = 2e-4)]
    lr: f32,
    #[arg(long, default_value_t = 0.5)]
    beta1: f32,
    #[arg(long, default_value_t = 0.999)]
    beta2: f32,
    /// D steps (a real batch and a fake batch each) per iteration.
    #[arg(long, default_value_t = 1)]
    d_steps: usize,
    /// G steps per iteration.
    #[arg(long, default_value_t = 2)]
    g_steps: usize,
    /// Write samples/step_NNNNNN.png every N iterations.
    #[arg(long, default_value_t = 200)]
    sample_every: usize,
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: usize,
    /// Append to losses.csv every N iterations.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A directory with MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte; .gz ok).
    #[arg(long, conflicts_with = "dataset")]
    data: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DatasetName::Embedded)]
    dataset: DatasetName,
    #[arg(long, value_enum, default_value_t = DeviceKind::Gpu)]
    device: DeviceKind,
    /// Run directory (default runs/<model>-<timestamp>); must not hold a run already.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct SampleArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Output: .npy ([N, 28, 28] float32 in [-1, 1]) or .png (a grid).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = DeviceKind::Gpu)]
    device: DeviceKind,
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => train(a, &cli.gpu),
        Command::Sample(a) => sample(a, &cli.gpu),
        Command::Info => info(&cli.gpu),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn train(a: &TrainArgs, gpu: &GpuArgs) -> Result<()> {
    let data = match (&a.data, a.dataset) {
        (Some(dir), _) => DataSource::IdxDir(dir.clone()),
        (None, DatasetName::Fashion) => DataSource::Fashion,
        (None, DatasetName::Embedded) => DataSource::Embedded,
    };
    let cfg = TrainConfig {
        model: a.model,
        steps: a.steps,
        batch_size: a.batch_size,
        latent_dim: a.latent_dim,
        lr: a.lr,
        beta1: a.beta1,
        beta2: a.beta2,
        d_steps: a.d_steps,
        g_steps: a.g_steps,
        sample_every: a.sample_every,
        checkpoint_every: a.checkpoint_every,
        log_every: a.log_every,
        seed: a.seed,
        data,
        device: a.device,
        ..TrainConfig::default()
    };
    let out = a.out.clone().unwrap_or_else(|| {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        PathBuf::from(format!(
            "runs/{}-{stamp}",
            format!("{:?}", a.model).to_lowercase()
        ))
    });
    if out.join("losses.csv").exists() || out.join("checkpoints").exists() {
        bail!(
            "{} already holds a run; choose another --out",
            out.display()
        );
    }
    let mut trainer = Trainer::new(cfg, &out, &gpu.options())?;
    eprintln!("{}", trainer.describe());
    eprintln!("writing to {}", out.display());
    let last = trainer.train()?;
    if let Some(row) = last {
        eprintln!(
            "done: {} steps in {:.1} s; last losses {}",
            row.step,
            row.seconds,
            row.csv()
        );
    }
    Ok(())
}

fn sample(a: &SampleArgs, gpu: &GpuArgs) -> Result<()> {
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if ext != "npy" && ext != "png" {
        bail!("--out must end in .npy or .png (got {})", a.out.display());
    }
    let path = wgpu_gan::train::resolve_checkpoint(&a.checkpoint);
    let images = wgpu_gan::sample::sample(&path, a.count, a.seed, a.device, &gpu.options())?;
    if ext == "npy" {
        wgpu_gan::io::npy::write_npy(&a.out, &images, &[a.count, 28, 28])?;
    } else {
        let cols = (a.count as f64).sqrt().ceil() as usize;
        wgpu_gan::io::png::save_grid(&a.out, &images, a.count, 1, 28, 28, cols)?;
    }
    eprintln!(
        "wrote {} images from {} to {}",
        a.count,
        path.display(),
        a.out.display()
    );
    Ok(())
}

fn info(gpu: &GpuArgs) -> Result<()> {
    let list = wgpu_gan::gpu::adapters(&gpu.options());
    if list.is_empty() {
        bail!("{}", wgpu_gan::gpu::GpuError::NoAdapter);
    }
    for (i, adapter) in list.iter().enumerate() {
        let info = adapter.get_info();
        let f = adapter.features();
        let l = adapter.limits();
        println!(
            "[{i}] {} ({:?}, {:?})",
            info.name, info.backend, info.device_type
        );
        println!("    driver: {} {}", info.driver, info.driver_info);
        println!(
            "    features: timestamp_query={} timestamp_inside_passes={} subgroup={} shader_f16={}; subgroup size {}..{}",
            f.contains(wgpu::Features::TIMESTAMP_QUERY),
            f.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            f.contains(wgpu::Features::SUBGROUP),
            f.contains(wgpu::Features::SHADER_F16),
            info.subgroup_min_size,
            info.subgroup_max_size
        );
        println!(
            "    limits: storage binding {} MiB, buffer {} MiB, workgroups/dim {}, invocations/workgroup {}, workgroup memory {} KiB",
            l.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_storage_size >> 10
        );
    }
    let chosen =
        wgpu_gan::gpu::Context::new(&gpu.options()).context("opening the preferred adapter")?;
    println!("training would use: {}", chosen.describe());
    Ok(())
}
