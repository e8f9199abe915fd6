//! The `wgpu-gan` command line: clap structs, then a call into the library.

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use train_args::{model_name, TrainArgs};
use wgpu_gan::checkpoint::{Checkpoint, LoadOptions};
use wgpu_gan::exec::DeviceKind;
use wgpu_gan::gpu::{BackendChoice, GpuOptions};
use wgpu_gan::run_lock::RunLock;
use wgpu_gan::train::{ModelKind, TrainConfig, Trainer};

mod eval_args;
mod param_args;
mod train_args;
mod translate_args;
mod upscale_args;

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
    /// How products find their kernel: cached (time shapes not in the cache on this device,
    /// about 2 s at most), full (time every shape again), off (the fixed rule). Default cached,
    /// or $WGPU_GAN_TUNE. `info --tune` prints the cached table.
    #[arg(long, value_enum, global = true, num_args = 0..=1, default_missing_value = "cached")]
    tune: Option<wgpu_gan::gpu::tune::TuneMode>,
}

impl GpuArgs {
    /// --tune, else $WGPU_GAN_TUNE, else cached.
    fn tune_mode(&self) -> wgpu_gan::gpu::tune::TuneMode {
        use clap::ValueEnum;
        use wgpu_gan::gpu::tune::{TuneMode, TUNE_ENV};
        self.tune.unwrap_or_else(|| {
            std::env::var(TUNE_ENV)
                .ok()
                .and_then(|v| TuneMode::from_str(&v, true).ok())
                .unwrap_or(TuneMode::Cached)
        })
    }

    fn options(&self) -> GpuOptions {
        GpuOptions {
            backend: self.backend,
            adapter: self.adapter.clone(),
            debug: false,
            // WGPU_GAN_PORTABLE_KERNELS=1 still applies.
            portable_kernels: false,
            tune: self.tune_mode(),
            kernels: None,
            tune_pinned: None,
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
  wgpu-gan train --dataset fashion --device cpu   # Debian's Fashion-MNIST on the CPU path
  wgpu-gan train --model dcgan                    # DCGAN on MNIST: batch 64, 2,000 steps
  wgpu-gan train --model cgan                     # the MLP GAN conditioned on the digit
  wgpu-gan train --model acgan                    # conditioned G; D also classifies the digit
  wgpu-gan train --model infogan                  # categorical + continuous codes; code sweeps
  wgpu-gan train --model wgan-gp                  # critic, 5 critic steps, gradient penalty
  wgpu-gan train --loss lsgan                     # least-squares loss (any model but wgan-gp)
  wgpu-gan train --model dcgan --lr-g 1e-4 --lr-d 4e-4   # two time-scale rates (TTUR)
  wgpu-gan train --lr-schedule linear             # constant, then down to 0 over the last half
  wgpu-gan train --lr-schedule step --lr-decay-at 6000,9000 --lr-gamma 0.1   # MultiStepLR
  wgpu-gan train --model dcgan64 --data-folder ~/faces --channels 3   # 64x64 colour images
  wgpu-gan train --model srgan                    # x4 super-resolution: 2,000 pretrain, then --steps 2,000 GAN
  wgpu-gan train --model srgan --scale 2 --pretrain-steps 500 --steps 1000
  wgpu-gan train --model cyclegan --batch-size 16  # MNIST <-> optdigits, unpaired translation
  wgpu-gan train --model cyclegan --data-a ~/horses --data-b ~/zebras --size 64 --channels 3")]
    Train(Box<TrainArgs>),
    /// Generate images from a checkpoint (or a run directory: its latest checkpoint).
    #[command(after_help = "Examples:
  wgpu-gan sample --checkpoint runs/mlp-20261123-101500 --count 10000 --out samples.npy
  wgpu-gan sample --checkpoint runs/x/checkpoints/step_002000.safetensors --count 64 --out grid.png
  wgpu-gan sample --checkpoint runs/cgan-20261123-101500 --label 3 --count 100 --out threes.png")]
    Sample(SampleArgs),
    /// List the GPU adapters wgpu sees, with the features and limits the engine uses.
    Info,
    /// Time one training iteration of a recipe per op and per phase, on the GPU or the CPU path.
    #[command(after_help = "Examples:
  wgpu-gan profile                                # 3 warm-up + 10 timed iterations
  wgpu-gan profile --iterations 50 --trace t.json # also write a Chrome trace (open in Perfetto)
  wgpu-gan profile --model wgan-gp                # any recipe on the embedded MNIST
  wgpu-gan profile --model dcgan --device cpu     # the CPU path, op by op")]
    Profile(ProfileArgs),
    /// The classifier behind `eval` and `train --eval-every`.
    #[command(subcommand)]
    Classifier(eval_args::ClassifierCommand),
    /// Score a generator: Fréchet classifier distance, class entropy, classifier confidence.
    #[command(after_help = "Examples:
  wgpu-gan eval --checkpoint runs/mlp-20261123-101500             # 10,000 samples
  wgpu-gan eval --checkpoint runs/x --count 2000 --classifier my.safetensors
  wgpu-gan eval --checkpoint runs/acgan-20261123-101500           # + accuracy on the requested digit")]
    Eval(eval_args::EvalArgs),
    /// Super-resolve images with an srgan checkpoint (x4 or x2; larger images in blended tiles).
    #[command(after_help = "Examples:
  wgpu-gan upscale --checkpoint runs/srgan-20261207-000000 --input small.png --out big.png
  wgpu-gan upscale --checkpoint runs/srgan-x --input lr/ --out sr/ --reference hr/   # + PSNR
  wgpu-gan upscale --checkpoint runs/srgan-x --input lr.npy --out sr.npy   # [N, H, W] in [-1, 1]")]
    Upscale(upscale_args::UpscaleArgs),
    /// Translate images with a CycleGAN checkpoint's generator (a2b or b2a).
    #[command(after_help = "Examples:
  wgpu-gan translate --checkpoint runs/cyclegan-x --direction b2a --input digit.png --out mnist-style.png
  wgpu-gan translate --checkpoint runs/cyclegan-x --direction a2b --input ~/photos --out translated/
  wgpu-gan translate --checkpoint runs/cyclegan-x --direction a2b --input samples.npy --out b.npy")]
    Translate(translate_args::TranslateArgs),
}

#[derive(Args)]
struct SampleArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long, default_value_t = 64)]
    count: usize,
    /// Output: .npy (float32 in [-1, 1]: [N, H, W] for gray models, [N, C, H, W] for colour)
    /// or .png (a grid).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cgan: generate this class (0-9) [default: every class in turn]
    #[arg(long)]
    label: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
    /// Load a checkpoint holding NaN or infinite values instead of refusing it (debugging).
    #[arg(long)]
    allow_nonfinite: bool,
}

/// `--allow-nonfinite` as checkpoint load options.
pub fn load_options(allow_nonfinite: bool) -> LoadOptions {
    LoadOptions { allow_nonfinite }
}

fn main() {
    fix_mmap_threshold();
    exit_quietly_on_a_closed_pipe();
    quiet_vulkan_loader();
    let matches = match <Cli as clap::CommandFactory>::command().try_get_matches() {
        Ok(m) => m,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One clear line (clap's first), not its usage block.
            let text = e.render().to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            std::process::exit(2);
        }
    };
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = match &cli.command {
        Command::Train(a) => {
            let given = matches
                .subcommand_matches("train")
                .map(given_flags)
                .unwrap_or_default();
            train(a, &given, &cli.gpu)
        }
        Command::Sample(a) => sample(a, &cli.gpu),
        Command::Info => info(&cli.gpu),
        Command::Profile(a) => profile(a, &cli.gpu),
        Command::Classifier(c) => eval_args::classifier(c, &cli.gpu.options()),
        Command::Eval(a) => eval_args::eval(a, &cli.gpu.options()),
        Command::Upscale(a) => upscale_args::upscale(a, &cli.gpu.options()),
        Command::Translate(a) => translate_args::translate(a, &cli.gpu.options()),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Mesa's Vulkan WSI prints "XDG_RUNTIME_DIR is invalid" on headless machines, which reads like
/// an error of ours; a private runtime dir silences it. Compute never uses the directory.
fn quiet_vulkan_loader() {
    #[cfg(unix)]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join("wgpu-gan-runtime");
        let ok = std::fs::create_dir_all(&dir).is_ok()
            && std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).is_ok();
        if ok {
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
    }
}

/// The ids of the flags given on the command line (not defaulted).
fn given_flags(m: &clap::ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| id.to_string())
        .collect()
}

fn train(a: &TrainArgs, given: &[String], gpu: &GpuArgs) -> Result<()> {
    let mut options = gpu.options();
    // Labels reach Vulkan (and RenderDoc) only with the instance's debug flags.
    options.debug = !a.renderdoc_capture.is_empty();
    // Held until the run ends: no second trainer writes here meanwhile.
    let _lock;
    let mut trainer = if let Some(run) = &a.resume {
        // Not a run directory: latest_good says so.
        if run.join("checkpoints").is_dir() {
            _lock = RunLock::acquire(run)?;
        }
        let load = load_options(a.allow_nonfinite);
        let ckpt = wgpu_gan::train::resume::latest_good_with(run, load, |w| eprintln!("{w}"))?;
        let saved = wgpu_gan::sample::checkpoint_config(&ckpt)?;
        let cfg = a.resume_config(&saved, given)?;
        let t = wgpu_gan::train::resume_from(cfg, run, &ckpt, &options)?;
        eprintln!(
            "resuming {} at step {} from {}",
            run.display(),
            t.step,
            ckpt.path.display()
        );
        if t.step >= t.total_steps() {
            bail!(
                "{} is already at step {}; pass a larger --steps to go on",
                run.display(),
                t.step
            );
        }
        t
    } else {
        let out = a.out.clone().unwrap_or_else(|| {
            let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
            PathBuf::from(format!("runs/{}-{stamp}", model_name(a.model)))
        });
        let holds_run = || out.join("losses.csv").exists() || out.join("checkpoints").exists();
        if holds_run() {
            bail!(
                "{} already holds a run; continue it with --resume {0}, or choose another --out",
                out.display()
            );
        }
        let cfg = a.config()?;
        // A config that cannot train leaves no run directory behind.
        cfg.validate()?;
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create the output directory {}", out.display()))?;
        _lock = RunLock::acquire(&out)?;
        // Again under the lock: a trainer that held it may have written its run meanwhile.
        if holds_run() {
            bail!(
                "{} already holds a run; continue it with --resume {0}",
                out.display()
            );
        }
        Trainer::new(cfg, &out, &options)?
    };
    trainer.capture = a.renderdoc_capture.iter().map(|&s| s as usize).collect();
    eprintln!("{}", trainer.describe());
    let out = trainer.out.clone();
    eprintln!("writing to {}", out.display());
    let last = match wgpu_gan::train::run(trainer) {
        Err(e @ wgpu_gan::train::TrainError::Device(_)) => bail!(
            "{e}; the checkpoints in {0} are kept: resume with `wgpu-gan train --resume {0}`",
            out.display()
        ),
        other => other?,
    };
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
    if ext != "npy" && ext != "png" && ext != "gif" {
        bail!(
            "--out must end in .npy, .png or .gif (video) (got {})",
            a.out.display()
        );
    }
    let path = wgpu_gan::train::resolve_checkpoint(&a.checkpoint);
    let ckpt = Checkpoint::load_with(&path, load_options(a.allow_nonfinite))?;
    let request = wgpu_gan::sample_file::SampleRequest {
        out: &a.out,
        count: a.count,
        seed: a.seed,
        label: a.label,
        device: a.device,
    };
    wgpu_gan::sample_file::write_samples(&ckpt, &request, &gpu.options())?;
    eprintln!(
        "wrote {} images from {} to {}",
        a.count,
        path.display(),
        a.out.display()
    );
    Ok(())
}

#[derive(Args)]
struct ProfileArgs {
    /// The recipe to time (its defaults, on the embedded MNIST); dcgan64 needs an image folder
    /// and is not profiled here.
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    model: ModelKind,
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    /// [default: the model's, 32 for mlp]
    #[arg(long)]
    batch_size: Option<usize>,
    /// gpu: timestamp queries on the adapter; cpu: the CPU path, op by op (wall clock).
    #[arg(long, value_enum, default_value_t = DeviceKind::Auto)]
    device: DeviceKind,
    /// Write a Chrome trace JSON of one mean iteration here.
    #[arg(long)]
    trace: Option<PathBuf>,
}

fn profile(a: &ProfileArgs, gpu: &GpuArgs) -> Result<()> {
    if a.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let base = TrainConfig::for_model(a.model);
    let cfg = TrainConfig {
        batch_size: a.batch_size.unwrap_or(base.batch_size),
        device: a.device,
        ..base
    };
    cfg.validate()?;
    let (report, gan) = wgpu_gan::profile::profile(&cfg, &gpu.options(), a.warmup, a.iterations)?;
    print!("{}", wgpu_gan::profile::table(&report, &gan.prog.ops));
    if let Some(path) = &a.trace {
        wgpu_gan::profile::write_trace(path, &report, &gan.prog.ops)?;
        eprintln!("wrote {}", path.display());
    }
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
            "    features: timestamp_query={} timestamp_inside_passes={} subgroup={} shader_int64={} shader_f16={}; subgroup size {}..{}",
            f.contains(wgpu::Features::TIMESTAMP_QUERY),
            f.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
            f.contains(wgpu::Features::SUBGROUP),
            f.contains(wgpu::Features::SHADER_INT64),
            f.contains(wgpu::Features::SHADER_F16),
            info.subgroup_min_size,
            info.subgroup_max_size
        );
        // Devices are opened with the adapter's own limits (gpu::Context::new), not wgpu's.
        let d = wgpu::Limits::default();
        println!(
            "    limits (requested: the adapter's; wgpu's default in brackets): storage binding {} MiB [{}], buffer {} MiB [{}], workgroups/dim {}, invocations/workgroup {}, workgroup memory {} KiB",
            l.max_storage_buffer_binding_size >> 20,
            d.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            d.max_buffer_size >> 20,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_storage_size >> 10
        );
    }
    let chosen =
        wgpu_gan::gpu::Context::new(&gpu.options()).context("opening the preferred adapter")?;
    println!("training would use: {}", chosen.describe());
    if gpu.tune.is_some() {
        print!("{}", wgpu_gan::gpu::tune::describe_table(&chosen));
    }
    Ok(())
}

/// Fixes glibc's mmap threshold at 1 MiB. By default glibc raises it each time a large
/// mmapped block is freed (up to 32 MiB), so after the first checkpoint write its ~23 MB buffer
/// comes from the heap and stays resident: the CPU path stepped from 77 to 100 MB around
/// step 1,000 and stayed there. Fixed, large buffers go back to the system when freed.
/// `wgpu-gan info | head` closes stdout early. Rust ignores SIGPIPE, so the next print panicked
/// ("failed printing to stdout: Broken pipe"); with the default action the process ends quietly,
/// as other command-line tools do.
fn exit_quietly_on_a_closed_pipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: restores the default action of one signal before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn fix_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
