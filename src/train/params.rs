//! Hyperparameters a family declares (`Family::params`): a flag, its default and its `--help`
//! text. `wgpu-gan train` offers each declared flag once, for every family that declares it;
//! the run's config keeps the value of each of its family's hyperparameters by name, so a
//! checkpoint's config restores them on resume. A flag given for a family that does not declare
//! it is refused, naming the families that take it.

use super::families::family;
use super::{ModelKind, TrainConfig, TrainError};
use std::collections::BTreeMap;
use std::str::FromStr;

/// A hyperparameter: `--<name> VALUE`, `default` when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// Every family's hyperparameters, each name once, with the models that declare it.
pub fn declared() -> Vec<(Param, Vec<ModelKind>)> {
    let mut all: Vec<(Param, Vec<ModelKind>)> = Vec::new();
    for &model in ModelKind::all() {
        for p in family(model).params() {
            match all.iter_mut().find(|(q, _)| q.name == p.name) {
                Some((_, models)) => models.push(model),
                None => all.push((*p, vec![model])),
            }
        }
    }
    all
}

/// The values of `model`'s hyperparameters: `given` ones, the declared defaults for the rest.
/// Fails on a given one that `model` does not declare.
pub fn resolve(
    model: ModelKind,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, TrainError> {
    let own = family(model).params();
    if let Some(name) = given.keys().find(|n| !own.iter().any(|p| p.name == *n)) {
        let takers: Vec<String> = declared()
            .into_iter()
            .find(|(p, _)| p.name == name)
            .map(|(_, models)| models.iter().map(|m| m.name()).collect())
            .unwrap_or_default();
        return Err(TrainError::Config(format!(
            "--{name} applies to --model {}, not {}",
            takers.join(", "),
            model.name()
        )));
    }
    Ok(own
        .iter()
        .map(|p| {
            let v = given.get(p.name).cloned();
            (
                p.name.to_string(),
                v.unwrap_or_else(|| p.default.to_string()),
            )
        })
        .collect())
}

impl TrainConfig {
    /// The value of hyperparameter `name` of the run's family (its default when the config
    /// predates it); fails, naming the flag, on a value that is not a `T`.
    pub fn param<T: FromStr>(&self, name: &str) -> Result<T, TrainError> {
        let declared = self.family().params().iter().find(|p| p.name == name);
        let value = self
            .params
            .get(name)
            .map(String::as_str)
            .or(declared.map(|p| p.default))
            .ok_or_else(|| {
                TrainError::Config(format!("--model {} has no --{name}", self.model.name()))
            })?;
        value.parse().map_err(|_| {
            let what = match std::any::type_name::<T>() {
                "usize" | "u32" | "u64" => "a whole number, 0 or more",
                "f32" | "f64" => "a number",
                "bool" => "true or false",
                other => other,
            };
            TrainError::Config(format!("--{name} {value}: expected {what}"))
        })
    }

    /// Checks that every hyperparameter of the run's family parses as a `T` (usually from the
    /// family's `validate`).
    pub fn check_params<T: FromStr>(&self, names: &[&str]) -> Result<(), String> {
        for name in names {
            self.param::<T>(name).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
