//! Checkpoints as safetensors with PyTorch names and layouts: `g.fc1.weight` (out, in),
//! `g.bn1.running_mean`, `g.fc1.weight.adam_m`, ... plus the step counters, the fixed sample
//! noise and the full config in the metadata. A Python user loads the generator with
//! `{k[2:]: v for k, v in load_file(path).items() if k.startswith("g.") and "adam" not in k}`.

mod finite;

use crate::exec::Executor;
use crate::gpu::GpuError;
use crate::nn::{ArenaKind, Net, TensorKind};
use crate::program::View;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "wgpu-gan-checkpoint-1";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Device(#[from] GpuError),
}

/// A checkpoint read into memory: named f32 tensors, u32 counters and metadata.
pub struct Checkpoint {
    pub path: PathBuf,
    pub tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    pub counters: Vec<u32>,
    pub metadata: HashMap<String, String>,
}

fn le_bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Every tensor of `net` with its checkpoint name and the view it is read from.
pub fn net_entries(net: &Net) -> Vec<(String, Vec<usize>, View)> {
    let mut out = Vec::new();
    for t in &net.tensors {
        let name = format!("{}.{}", net.prefix, t.name);
        out.push((
            name.clone(),
            t.shape.clone(),
            net.view(t, ArenaKind::Params),
        ));
        if t.kind == TensorKind::Param {
            out.push((
                format!("{name}.adam_m"),
                t.shape.clone(),
                net.view(t, ArenaKind::AdamM),
            ));
            out.push((
                format!("{name}.adam_v"),
                t.shape.clone(),
                net.view(t, ArenaKind::AdamV),
            ));
        }
    }
    out
}

/// The moving average of a net's weights and running statistics as checkpoint entries
/// `<net>_ema.<tensor>` (`g_ema.*`: PyTorch names and layouts, as `g.*`), read from `sampler`:
/// the net whose arenas are the averages.
pub fn ema_entries(sampler: &Net) -> Vec<(String, Vec<usize>, View)> {
    sampler
        .tensors
        .iter()
        .map(|t| {
            let name = format!("{}_ema.{}", sampler.prefix, t.name);
            (name, t.shape.clone(), sampler.view(t, ArenaKind::Params))
        })
        .collect()
}

/// Reads the state of `nets`, `counters` and `extra` f32 views from the executor and writes a
/// checkpoint atomically (temp file, fsync, rename).
pub fn save(
    path: &Path,
    exec: &dyn Executor,
    nets: &[&Net],
    counters: View,
    extra: &[(&str, Vec<usize>, View)],
    metadata: HashMap<String, String>,
) -> Result<(), CheckpointError> {
    let mut data: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    for net in nets {
        for (name, shape, view) in net_entries(net) {
            data.push((name, shape, Dtype::F32, le_bytes_f32(&exec.read_f32(view)?)));
        }
    }
    for (name, shape, view) in extra {
        data.push((
            name.to_string(),
            shape.clone(),
            Dtype::F32,
            le_bytes_f32(&exec.read_f32(*view)?),
        ));
    }
    let c: Vec<u8> = exec
        .read(counters)?
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    data.push(("counters".into(), vec![counters.len], Dtype::U32, c));
    let invalid = |message: String| CheckpointError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let views = data
        .iter()
        .map(|(n, s, d, b)| TensorView::new(*d, s.clone(), b).map(|v| (n.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let mut meta = metadata;
    meta.insert("format".into(), FORMAT.into());
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| invalid(e.to_string()))?;
    crate::io::atomic_write(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// What loading checks beyond the format, dtypes and (later, per tensor) shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Load tensors holding NaN or infinity (`--allow-nonfinite`, for debugging a broken run)
    /// instead of refusing the file.
    pub allow_nonfinite: bool,
}

impl Checkpoint {
    /// Loads and validates `path`: a NaN or infinity in any tensor is an error naming it.
    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        Self::load_with(path, LoadOptions::default())
    }

    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Self, CheckpointError> {
        let ckpt = Self::read(path)?;
        if !options.allow_nonfinite {
            finite::check_tensors(path, &ckpt.tensors)?;
        }
        Ok(ckpt)
    }

    fn read(path: &Path) -> Result<Self, CheckpointError> {
        let invalid = |message: String| CheckpointError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        if metadata.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(invalid(format!(
                "not a wgpu-gan checkpoint (no format {FORMAT} in its metadata)"
            )));
        }
        let st =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        let mut tensors = HashMap::new();
        let mut counters = Vec::new();
        for (name, t) in st.tensors() {
            let words: Vec<u32> = t
                .data()
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            match t.dtype() {
                Dtype::U32 if name == "counters" => counters = words,
                Dtype::F32 => {
                    tensors.insert(
                        name,
                        (
                            t.shape().to_vec(),
                            words.iter().map(|w| f32::from_bits(*w)).collect(),
                        ),
                    );
                }
                other => {
                    return Err(invalid(format!(
                        "tensor {name} has unsupported dtype {other:?}"
                    )))
                }
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
            counters,
            metadata,
        })
    }

    /// The tensor `name` with exactly `shape`, or an error naming both shapes.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32], CheckpointError> {
        let invalid = |message: String| CheckpointError::Invalid {
            path: self.path.clone(),
            message,
        };
        let (s, data) = self
            .tensors
            .get(name)
            .ok_or_else(|| invalid(format!("has no tensor {name} (another model?)")))?;
        if s != shape {
            return Err(invalid(format!(
                "tensor {name} has shape {s:?}, the model needs {shape:?}"
            )));
        }
        Ok(data)
    }

    /// Writes every tensor of `net` (parameters, running statistics and, when `with_adam`, the
    /// Adam moments) into the executor.
    pub fn restore_net(
        &self,
        exec: &mut dyn Executor,
        net: &Net,
        with_adam: bool,
    ) -> Result<(), CheckpointError> {
        for (name, shape, view) in net_entries(net) {
            if !with_adam && name.contains(".adam_") {
                continue;
            }
            let data = self.get(&name, &shape)?;
            exec.write_f32(view, data);
        }
        Ok(())
    }

    /// Writes the checkpoint's `<net>_ema.*` entries into `sampler`'s arenas.
    pub fn restore_ema(
        &self,
        exec: &mut dyn Executor,
        sampler: &Net,
    ) -> Result<(), CheckpointError> {
        for (name, shape, view) in ema_entries(sampler) {
            exec.write_f32(view, self.get(&name, &shape)?);
        }
        Ok(())
    }
}
