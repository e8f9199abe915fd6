//! Checkpoint validation on load: a NaN or infinity in a weight, a running statistic, an Adam
//! moment or the sample noise is refused with the tensor named, so `sample` never writes NaN
//! images and `eval` never scores them, and `train --resume` falls back to an earlier checkpoint
//! instead of training on from a broken state.

use super::CheckpointError;
use std::collections::HashMap;
use std::path::Path;

/// Fails on the first tensor (by name) holding a non-finite value, saying how many it holds and
/// how many other tensors are broken too.
pub fn check_tensors(
    path: &Path,
    tensors: &HashMap<String, (Vec<usize>, Vec<f32>)>,
) -> Result<(), CheckpointError> {
    let mut bad: Vec<(&str, usize, usize)> = tensors
        .iter()
        .map(|(name, (_, data))| {
            let n = data.iter().filter(|v| !v.is_finite()).count();
            (name.as_str(), n, data.len())
        })
        .filter(|&(_, n, _)| n > 0)
        .collect();
    bad.sort();
    let Some(&(name, n, len)) = bad.first() else {
        return Ok(());
    };
    let others = match bad.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more tensor)".into(),
        k => format!(" (and {k} more tensors)"),
    };
    Err(CheckpointError::Invalid {
        path: path.to_path_buf(),
        message: format!(
            "tensor {name} holds {n} NaN or infinite values of {len}{others}; load it anyway \
             with --allow-nonfinite (for debugging)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_broken_tensor_and_counts_the_rest() {
        let mut t = HashMap::new();
        t.insert(
            "b".to_string(),
            (vec![3], vec![1.0, f32::NAN, f32::INFINITY]),
        );
        t.insert("a".to_string(), (vec![1], vec![f32::NEG_INFINITY]));
        t.insert("c".to_string(), (vec![1], vec![0.0]));
        let err = check_tensors(Path::new("x"), &t).unwrap_err().to_string();
        assert!(err.contains("tensor a holds 1 NaN or infinite values of 1 (and 1 more tensor)"));
        t.retain(|k, _| k == "c");
        check_tensors(Path::new("x"), &t).unwrap();
    }
}
