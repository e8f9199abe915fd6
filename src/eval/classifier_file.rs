//! A trained classifier as safetensors: the parameters under PyTorch names and layouts
//! (`c.conv1.weight` (32, 1, 4, 4), `c.fc1.weight` (128, 3136), ...), with the layer sizes, the
//! dataset, the steps and the held-out accuracy in the metadata.

use crate::checkpoint::CheckpointError;
use crate::data::DataSource;
use crate::models::ClassifierConfig;
use crate::nn::{Net, TensorKind};
use crate::program::Program;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "wgpu-gan-classifier-1";

/// A trained classifier: its sizes and its parameters in the layout of [`Classifier::net`].
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    pub config: ClassifierConfig,
    /// The flat parameter arena of `net()`.
    pub params: Vec<f32>,
    pub dataset: String,
    /// Accuracy on the held-out images, in [0, 1].
    pub accuracy: f64,
    pub held_out: usize,
    pub steps: usize,
}

/// Where `wgpu-gan classifier train` caches the classifier of a dataset, and where
/// `wgpu-gan eval` and `--eval-every` look for it: `classifiers/<dataset>.safetensors`
/// (`embedded`, `fashion`, or the IDX directory's name). Image folders have no labels: None.
pub fn default_path(data: &DataSource) -> Option<PathBuf> {
    let name = match data {
        DataSource::Embedded => "embedded".to_string(),
        DataSource::Fashion => "fashion".to_string(),
        DataSource::IdxDir(dir) => {
            let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            let last = canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            format!("idx-{}", last.unwrap_or_else(|| "data".into()))
        }
        DataSource::Folder { .. } => return None,
    };
    Some(PathBuf::from("classifiers").join(format!("{name}.safetensors")))
}

impl Classifier {
    /// The classifier's network, allocated in `prog` under the prefix `c`.
    pub fn net(&self, prog: &mut Program) -> Net {
        Net::new(prog, "c", self.config.image_len(), self.config.layers())
    }

    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let invalid = |message: String| CheckpointError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let net = self.net(&mut Program::new());
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = net
            .tensors
            .iter()
            .filter(|t| t.kind == TensorKind::Param)
            .map(|t| {
                let bytes = self.params[t.offset..t.offset + t.len]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                (format!("c.{}", t.name), t.shape.clone(), bytes)
            })
            .collect();
        let views = data
            .iter()
            .map(|(n, s, b)| TensorView::new(Dtype::F32, s.clone(), b).map(|v| (n.clone(), v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        let config = serde_json::to_string(&self.config).map_err(|e| invalid(e.to_string()))?;
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("config".to_string(), config),
            ("dataset".to_string(), self.dataset.clone()),
            ("accuracy".to_string(), format!("{:.6}", self.accuracy)),
            ("held_out".to_string(), self.held_out.to_string()),
            ("steps".to_string(), self.steps.to_string()),
        ]);
        let bytes =
            safetensors::serialize(views, Some(meta)).map_err(|e| invalid(e.to_string()))?;
        let io = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        crate::io::atomic_write(path, &bytes).map_err(io)
    }

    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        let invalid = |message: String| CheckpointError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| invalid(format!("not a readable safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).map(String::as_str).unwrap_or("");
        if get("format") != FORMAT {
            return Err(invalid(format!(
                "not a wgpu-gan classifier (no format {FORMAT} in its metadata)"
            )));
        }
        let config: ClassifierConfig = serde_json::from_str(get("config"))
            .map_err(|e| invalid(format!("unreadable config ({e})")))?;
        config.validate().map_err(&invalid)?;
        let mut c = Self {
            config,
            params: Vec::new(),
            dataset: get("dataset").to_string(),
            accuracy: get("accuracy").parse().unwrap_or(f64::NAN),
            held_out: get("held_out").parse().unwrap_or(0),
            steps: get("steps").parse().unwrap_or(0),
        };
        let net = c.net(&mut Program::new());
        c.params = vec![0.0; net.params.len];
        for t in net.tensors.iter().filter(|t| t.kind == TensorKind::Param) {
            let name = format!("c.{}", t.name);
            let view = st
                .tensor(&name)
                .map_err(|_| invalid(format!("has no tensor {name}")))?;
            if view.dtype() != Dtype::F32 || view.shape() != t.shape.as_slice() {
                return Err(invalid(format!(
                    "tensor {name} is {:?} {:?}, the classifier needs F32 {:?}",
                    view.dtype(),
                    view.shape(),
                    t.shape
                )));
            }
            let dst = &mut c.params[t.offset..t.offset + t.len];
            for (d, b) in dst.iter_mut().zip(view.data().chunks_exact(4)) {
                *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Ok(c)
    }
}
