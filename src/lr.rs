//! Learning rates that change while training: a schedule per run (PyTorch's MultiStepLR, and
//! LambdaLR with CycleGAN's linear rule, each stepped once per iteration), and the table on the
//! device that the optimizers read them from (`ops::LrSource`). The host writes one entry per
//! iteration of the next submission, so a schedule or a rollback needs no new plan.

use crate::exec::Executor;
use crate::program::View;

/// Entries per optimizer in the table: more than the iterations of one submission
/// (`outputs::MAX_CHUNK`), so no entry is rewritten while a submission may still read it.
pub const LR_TABLE: usize = 32;

/// Rows of the table: D's optimizer, then G's.
pub const D_LR: usize = 0;
pub const G_LR: usize = 1;
pub const LR_ROWS: usize = 2;

/// How the learning rate changes over the iterations of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiplied by `gamma` at each iteration of `at` (0-based, as `MultiStepLR`'s
    /// milestones count `scheduler.step()` calls).
    Step { at: Vec<usize>, gamma: f32 },
    /// The base rate until iteration `start`, then down by 1/(iters + 1) of it per iteration
    /// (CycleGAN's `LambdaLR` rule `1 - max(0, i + 1 - start) / (iters + 1)`), never below 0.
    Linear { start: usize, iters: usize },
}

impl LrSchedule {
    /// The factor on the base rate during 0-based iteration `i`.
    pub fn factor(&self, i: usize) -> f64 {
        match self {
            Self::Constant => 1.0,
            Self::Step { at, gamma } => {
                let passed = at.iter().filter(|&&m| m <= i).count();
                (*gamma as f64).powi(passed as i32)
            }
            Self::Linear { start, iters } => {
                let down = (i + 1).saturating_sub(*start) as f64 / (*iters as f64 + 1.0);
                (1.0 - down).max(0.0)
            }
        }
    }

    /// The same schedule starting `by` iterations later (after a family's stages): the
    /// factor is 1 before.
    pub fn shifted(&self, by: usize) -> Self {
        match self {
            Self::Constant => Self::Constant,
            Self::Step { at, gamma } => Self::Step {
                at: at.iter().map(|m| m + by).collect(),
                gamma: *gamma,
            },
            Self::Linear { start, iters } => Self::Linear {
                start: start + by,
                iters: *iters,
            },
        }
    }

    /// The rate during iteration `i` for base rate `base`, as the optimizers read it.
    pub fn rate(&self, base: f32, i: usize) -> f32 {
        (base as f64 * self.factor(i)) as f32
    }
}

/// The table's entry that iteration `i` (0-based) reads: the fills advance the iteration
/// counter first, so during iteration i it holds i + 1.
pub fn entry(i: usize) -> usize {
    (i + 1) % LR_TABLE
}

/// Row `row` of the table `lrs`, as one optimizer binds it.
pub fn row(lrs: View, row: usize) -> View {
    View {
        offset: lrs.offset + row * LR_TABLE,
        len: LR_TABLE,
        ..lrs
    }
}

/// Writes the rates of iterations `first..first + n` (n <= LR_TABLE) into `row` of the table,
/// for base rate `base`. Entries are written whole rows at a time (one small write per row).
pub fn write_rates(
    exec: &mut dyn Executor,
    lrs: View,
    row_index: usize,
    schedule: &LrSchedule,
    base: f32,
    (first, n): (usize, usize),
) {
    let mut table = vec![schedule.rate(base, first); LR_TABLE];
    for i in first..first + n.min(LR_TABLE) {
        table[entry(i)] = schedule.rate(base, i);
    }
    exec.write_f32(row(lrs, row_index), &table);
}
