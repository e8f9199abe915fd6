//! Resuming a run: finding the newest checkpoint that loads (falling back past broken ones),
//! keeping the last K checkpoints, and rewinding losses.csv to the checkpoint's step so that a
//! resumed run continues without duplicate or missing rows.

use crate::checkpoint::{Checkpoint, CheckpointError, LoadOptions};
use std::path::{Path, PathBuf};

/// The checkpoint files of a run directory, newest first.
pub fn checkpoint_files(run: &Path) -> Vec<PathBuf> {
    let dir = run.join("checkpoints");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|it| {
            it.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("step_") && name.ends_with(".safetensors")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.reverse();
    files
}

/// The newest checkpoint of `run` that loads. Each one that fails is reported (by name, with
/// the reason) through `warn` before falling back to the one before it.
pub fn latest_good(run: &Path, warn: impl FnMut(&str)) -> Result<Checkpoint, CheckpointError> {
    latest_good_with(run, LoadOptions::default(), warn)
}

/// [`latest_good`], loading with `options` (`--allow-nonfinite`).
pub fn latest_good_with(
    run: &Path,
    options: LoadOptions,
    mut warn: impl FnMut(&str),
) -> Result<Checkpoint, CheckpointError> {
    let files = checkpoint_files(run);
    if files.is_empty() {
        return Err(CheckpointError::Invalid {
            path: run.join("checkpoints"),
            message: "no checkpoint to resume from (is this a wgpu-gan run directory?)".into(),
        });
    }
    let mut last_err = None;
    for (i, path) in files.iter().enumerate() {
        match Checkpoint::load_with(path, options) {
            Ok(c) => {
                if i > 0 {
                    warn(&format!(
                        "resuming from the previous good checkpoint {}",
                        path.display()
                    ));
                }
                return Ok(c);
            }
            Err(e) => {
                warn(&format!("warning: {e}; skipping it"));
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or(CheckpointError::Invalid {
        path: run.to_path_buf(),
        message: "no checkpoint loads".into(),
    }))
}

/// Deletes all but the newest `keep` checkpoints (never the one `latest` names).
pub fn prune(run: &Path, keep: usize) -> std::io::Result<()> {
    let latest =
        std::fs::read_to_string(run.join("checkpoints").join("latest")).unwrap_or_default();
    for old in checkpoint_files(run).into_iter().skip(keep.max(1)) {
        if old.file_name().and_then(|n| n.to_str()) != Some(latest.trim()) {
            std::fs::remove_file(old)?;
        }
    }
    Ok(())
}

/// Drops the rows of losses.csv after `step` (written after the checkpoint the run resumes
/// from) and any row a kill left torn, atomically.
pub fn rewind_csv(path: &Path, step: usize) -> std::io::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let columns = text.lines().next().map_or(0, |h| h.split(',').count());
    let whole = |line: &str| {
        let fields: Vec<&str> = line.split(',').collect();
        fields.len() == columns && fields.iter().all(|f| f.parse::<f64>().is_ok())
    };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, line)| {
            *i == 0
                || (whole(line)
                    && line
                        .split(',')
                        .next()
                        .and_then(|s| s.parse::<usize>().ok())
                        .is_some_and(|s| s <= step))
        })
        .map(|(_, l)| l)
        .collect();
    let mut out = kept.join("\n");
    out.push('\n');
    crate::io::atomic_write(path, out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewind_keeps_the_header_and_rows_up_to_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("losses.csv");
        std::fs::write(&p, "step,a\n50,1\n100,2\n150,3\n").unwrap();
        rewind_csv(&p, 100).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "step,a\n50,1\n100,2\n"
        );
        std::fs::write(&p, "step,a\n50,1\n100,2\n10").unwrap();
        rewind_csv(&p, 100).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "step,a\n50,1\n100,2\n"
        );
    }

    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("checkpoints");
        std::fs::create_dir_all(&c).unwrap();
        for s in [1, 2, 3, 4] {
            std::fs::write(c.join(format!("step_{s:06}.safetensors")), "x").unwrap();
        }
        std::fs::write(c.join("latest"), "step_000004.safetensors").unwrap();
        prune(dir.path(), 2).unwrap();
        let left: Vec<String> = checkpoint_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["step_000004.safetensors", "step_000003.safetensors"]);
    }
}
