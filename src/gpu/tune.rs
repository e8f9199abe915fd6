//! Which kernel runs each product, chosen on the device itself (`--tune`): the choices of one
//! adapter, driver and wgpu-gan version, kept in the user's cache directory, and the choices a
//! checkpoint was trained with, which a resume takes over so that it stays bit for bit.
//!
//! A choice is keyed by the recorded (portable) kernel, the product's shape and flags, and the
//! elementwise op that follows it (`gpu::plan` fuses it when the kernel can); its value is the
//! kernel's entry point, with `+fused` when the follower was fused into it.

use super::Context;
use crate::kernels::Kernel;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `--tune`: how products find their kernel.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TuneMode {
    /// The fixed rule of before autotuning: the portable kernels, and on CPU adapters
    /// (lavapipe) the subgroup ones (`gpu::variants`); nothing fused.
    #[default]
    Off,
    /// The cached choices; shapes not in the cache are timed now (within the budget) and added.
    Cached,
    /// Times every shape again and rewrites the cache.
    Full,
}

/// Overrides the CLI's default `--tune` (tests set `off`).
pub const TUNE_ENV: &str = "WGPU_GAN_TUNE";
/// Comma-separated entry points to force where eligible (first eligible wins), e.g.
/// `matmul_tiled,matmul_at_tiled,matmul_bt_tiled`: a test hook for kernels a device would not pick.
pub const KERNELS_ENV: &str = "WGPU_GAN_KERNELS";
/// Milliseconds of timing allowed per process (default 2,000).
pub const BUDGET_ENV: &str = "WGPU_GAN_TUNE_BUDGET_MS";

/// The kernel named by an entry point.
pub fn kernel_named(entry: &str) -> Option<Kernel> {
    Kernel::ALL.iter().copied().find(|k| k.entry() == entry)
}

/// The entry points of `WGPU_GAN_KERNELS`, if set; unknown names are an error.
pub fn forced_from_env() -> Result<Option<Vec<Kernel>>, String> {
    let Ok(list) = std::env::var(KERNELS_ENV) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        out.push(kernel_named(name).ok_or_else(|| format!("{KERNELS_ENV}: no kernel {name}"))?);
    }
    Ok(Some(out))
}

/// One product's choice: the kernel, and whether the op after it is fused into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub kernel: Kernel,
    pub fused: bool,
}

impl Choice {
    pub fn encode(self) -> String {
        let fused = if self.fused { "+fused" } else { "" };
        format!("{}{fused}", self.kernel.entry())
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (name, fused) = match s.strip_suffix("+fused") {
            Some(n) => (n, true),
            None => (s, false),
        };
        Some(Self {
            kernel: kernel_named(name)?,
            fused,
        })
    }
}

/// The per-context tuning state: mode, forced kernels, the cached and pinned tables, the budget.
pub struct Tuning {
    pub mode: TuneMode,
    pub forced: Option<Vec<Kernel>>,
    /// Choices taken from a checkpoint: they win over everything.
    pinned: BTreeMap<String, String>,
    /// The adapter's cache, as loaded and as extended by timing.
    cache: Mutex<BTreeMap<String, String>>,
    /// Every choice made by programs planned on this context, for checkpoints.
    used: Mutex<BTreeMap<String, String>>,
    budget: Duration,
    spent: Mutex<Duration>,
    dirty: Mutex<bool>,
    path: Option<PathBuf>,
}

impl Tuning {
    pub fn new(
        mode: TuneMode,
        forced: Option<Vec<Kernel>>,
        pinned: BTreeMap<String, String>,
        adapter_key: &str,
    ) -> Self {
        let path = cache_file(adapter_key);
        let cache = match (&path, mode) {
            (Some(p), TuneMode::Cached) => read_table(p),
            _ => BTreeMap::new(),
        };
        let ms = std::env::var(BUDGET_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        Self {
            mode,
            forced,
            pinned,
            cache: Mutex::new(cache),
            used: Mutex::new(BTreeMap::new()),
            budget: Duration::from_millis(ms),
            spent: Mutex::new(Duration::ZERO),
            dirty: Mutex::new(false),
            path,
        }
    }

    /// A checkpoint's or the cache's choice for `key`, in that order (the cache only when tuning).
    pub fn known(&self, key: &str) -> Option<Choice> {
        if let Some(c) = self.pinned.get(key).and_then(|v| Choice::decode(v)) {
            return Some(c);
        }
        if self.mode == TuneMode::Off {
            return None;
        }
        let cache = self.cache.lock().ok()?;
        cache.get(key).and_then(|v| Choice::decode(v))
    }

    /// Whether any time is left for timing.
    pub fn has_budget(&self) -> bool {
        self.mode != TuneMode::Off && self.spent.lock().is_ok_and(|s| *s < self.budget)
    }

    /// Whether time is left once the time since `since` (not charged yet) is counted.
    pub fn has_budget_after(&self, since: Instant) -> bool {
        self.spent
            .lock()
            .is_ok_and(|s| *s + since.elapsed() < self.budget)
    }

    pub fn charge(&self, since: Instant) {
        if let Ok(mut s) = self.spent.lock() {
            *s += since.elapsed();
        }
    }

    /// Records a timed choice in the cache.
    pub fn learn(&self, key: &str, c: Choice) {
        if let (Ok(mut cache), Ok(mut dirty)) = (self.cache.lock(), self.dirty.lock()) {
            cache.insert(key.to_string(), c.encode());
            *dirty = true;
        }
    }

    /// Records the choice a program was planned with.
    pub fn used(&self, key: &str, c: Choice) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(key.to_string(), c.encode());
        }
    }

    /// Every choice made on this context, as JSON (checkpoint metadata).
    pub fn used_json(&self) -> String {
        let used = self.used.lock().map(|u| u.clone()).unwrap_or_default();
        serde_json::to_string(&used).unwrap_or_default()
    }

    /// Writes the cache back if timing added to it; a failure only warns (the run goes on).
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        let Ok(mut dirty) = self.dirty.lock() else {
            return;
        };
        if !*dirty {
            return;
        }
        *dirty = false;
        let table = self.cache.lock().map(|c| c.clone()).unwrap_or_default();
        let json = serde_json::to_vec_pretty(&table).unwrap_or_default();
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| crate::io::atomic_write(path, &json));
        if let Err(e) = written {
            eprintln!(
                "warning: could not write the tuning cache {}: {e}",
                path.display()
            );
        }
    }

    pub fn cache_path(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }
}

/// The checkpoint metadata key of the kernel choices.
pub const CHECKPOINT_KEY: &str = "kernel_choices";

/// `opts` for resuming from a checkpoint with `metadata`: its kernel choices pinned, so the
/// resumed run computes exactly what the first did even with the cache gone. A checkpoint
/// from before autotuning resumes with the fixed rule it was trained with.
pub fn resume_options(
    opts: &super::GpuOptions,
    metadata: &std::collections::HashMap<String, String>,
) -> super::GpuOptions {
    let mut opts = opts.clone();
    match metadata.get(CHECKPOINT_KEY) {
        Some(json) => opts.tune_pinned = Some(parse_table(json)),
        None => opts.tune = TuneMode::Off,
    }
    opts
}

/// The choices in a checkpoint's `kernel_choices` metadata.
pub fn parse_table(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn read_table(path: &PathBuf) -> BTreeMap<String, String> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// `$XDG_CACHE_HOME/wgpu-gan/` (else `~/.cache/wgpu-gan/`).
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wgpu-gan"))
}

/// The cache file of one adapter, driver and wgpu-gan version.
pub fn cache_file(adapter_key: &str) -> Option<PathBuf> {
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = adapter_key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Some(cache_dir()?.join(format!("tune-{hash:016x}.json")))
}

/// What a cache is valid for: the adapter, its driver, and this build.
pub fn adapter_key(ctx_info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} | {:?} | {} {} | {:04x}:{:04x} | wgpu-gan {}",
        ctx_info.name,
        ctx_info.backend,
        ctx_info.driver,
        ctx_info.driver_info,
        ctx_info.vendor,
        ctx_info.device,
        env!("CARGO_PKG_VERSION")
    )
}

/// The adapter's cache file and its table, for `wgpu-gan info --tune`.
pub fn table_of(ctx: &Context) -> (Option<PathBuf>, BTreeMap<String, String>) {
    let path = cache_file(&adapter_key(&ctx.info));
    let table = path.as_ref().map(read_table).unwrap_or_default();
    (path, table)
}

/// `wgpu-gan info --tune`: the adapter's cache file and its choices, one per line.
pub fn describe_table(ctx: &Context) -> String {
    let (path, table) = table_of(ctx);
    let mut out = match &path {
        Some(p) => format!("tuning cache: {} ({} choices)\n", p.display(), table.len()),
        None => "tuning cache: none (no $XDG_CACHE_HOME or $HOME)\n".to_string(),
    };
    for (key, choice) in &table {
        out.push_str(&format!("  {key:<64} -> {choice}\n"));
    }
    out
}
