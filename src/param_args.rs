//! The families' own hyperparameters as `wgpu-gan train` flags (part of the binary): each
//! declared name (`train::params::declared`) once, its help naming the models that take it and
//! its default there. The values given are checked against the chosen family in
//! `train::params::resolve`.

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use std::collections::BTreeMap;
use wgpu_gan::train::families::family;
use wgpu_gan::train::params::declared;

/// The family hyperparameters given on the command line, by name.
#[derive(Clone, Debug, Default)]
pub struct ParamArgs {
    pub given: BTreeMap<String, String>,
}

impl FromArgMatches for ParamArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = Self::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for (p, _) in declared() {
            if let Some(v) = m.get_one::<String>(p.name) {
                self.given.insert(p.name.to_string(), v.clone());
            }
        }
        Ok(())
    }
}

impl Args for ParamArgs {
    fn augment_args(cmd: Command) -> Command {
        declared().into_iter().fold(cmd, |cmd, (p, models)| {
            // Each model's own default, where they differ (--ngf: 64 for dcgan64, 32 for cyclegan).
            let defaults: Vec<(String, &str)> = models
                .iter()
                .map(|m| {
                    let own = family(*m).params().iter().find(|q| q.name == p.name);
                    (m.name(), own.map_or(p.default, |q| q.default))
                })
                .collect();
            let default = if defaults.iter().all(|(_, d)| *d == p.default) {
                p.default.to_string()
            } else {
                let each: Vec<String> = defaults
                    .iter()
                    .map(|(m, d)| format!("{d} for {m}"))
                    .collect();
                each.join(", ")
            };
            let models: Vec<String> = models.iter().map(|m| m.name()).collect();
            let help = format!("{}: {} [default: {default}]", models.join(", "), p.help);
            let arg = Arg::new(p.name).long(p.name).value_name("VALUE").help(help);
            // A switch (default false) may be given bare: `--no-temporal-d`.
            let arg = match p.default {
                "false" => arg.num_args(0..=1).default_missing_value("true"),
                _ => arg,
            };
            cmd.arg(arg)
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
