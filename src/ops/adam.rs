//! Recording Adam, the moving averages of weights and the step counters (shaders/adam.wgsl).

use super::{check, Result, ShapeError};
use crate::cpu::adam::AdamParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
}

/// Where an optimizer reads its learning rate: entry counters[iteration_slot] % table.len of
/// `table`. The host writes the table between submissions (`crate::lr`), one entry per
/// iteration of the next submission, so schedules and rollbacks change the rate without a new
/// plan; a fixed rate is a table of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LrSource {
    pub table: View,
    pub iteration_slot: usize,
}

/// One Adam step over flat buffers at the fixed learning rate `cfg.lr`; the step count is
/// counters[t_slot], which this call increments first.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    prog: &mut Program,
    cfg: AdamConfig,
    params: View,
    grads: View,
    m: View,
    v: View,
    counters: View,
    t_slot: usize,
    nonfinite: (View, usize),
    label: &str,
) -> Result {
    let table = prog.constant(&format!("{label}.lr"), &[cfg.lr.to_bits()]);
    let lr = LrSource {
        table,
        iteration_slot: t_slot,
    };
    let arenas = AdamArenas {
        params,
        grads,
        m,
        v,
    };
    adam_step_from(prog, cfg, lr, arenas, (counters, t_slot), nonfinite, label)
}

/// The buffers one Adam step updates: the flat parameters, their gradients and moments.
#[derive(Clone, Copy, Debug)]
pub struct AdamArenas {
    pub params: View,
    pub grads: View,
    pub m: View,
    pub v: View,
}

/// One Adam step over flat buffers with the learning rate read from `lr` (`cfg.lr` is not
/// used); the step count is counters[t_slot], which this call increments first.
pub fn adam_step_from(
    prog: &mut Program,
    cfg: AdamConfig,
    lr: LrSource,
    a: AdamArenas,
    (counters, t_slot): (View, usize),
    nonfinite: (View, usize),
    label: &str,
) -> Result {
    if nonfinite.1 >= nonfinite.0.len {
        return Err(ShapeError {
            op: label.to_string(),
            tensor: prog.buffer_name(nonfinite.0).to_string(),
            got: nonfinite.0.len,
            expected: nonfinite.1 + 1,
        });
    }
    for t in [a.grads, a.m, a.v] {
        check(prog, label, t, a.params.len)?;
    }
    // The shader works in vec4s: a length that is not a multiple of 4 would drop its tail.
    check(prog, label, a.params, a.params.len.next_multiple_of(4))?;
    if lr.table.len == 0 || lr.iteration_slot >= counters.len {
        return Err(ShapeError {
            op: label.to_string(),
            tensor: prog.buffer_name(lr.table).to_string(),
            got: lr.table.len,
            expected: 1,
        });
    }
    counter_increment(prog, counters, t_slot, label);
    let p = AdamParams {
        n: a.params.len as u32,
        t_slot: t_slot as u32,
        lr_period: lr.table.len as u32,
        iteration_slot: lr.iteration_slot as u32,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        flag_slot: nonfinite.1 as u32,
    };
    let b = vec![
        (a.grads, R),
        (counters, R),
        (a.params, W),
        (a.m, W),
        (a.v, W),
        (nonfinite.0, W),
        (lr.table, R),
    ];
    let g = grid_1d(a.params.len / 4, 64);
    prog.push(Kernel::AdamStep, &words(&p), b, g, label);
    Ok(())
}

/// ema = beta·ema + (1 - beta)·values with beta = min(decay, (1 + t)/(10 + t)), t =
/// counters[t_slot] (the step count of the optimizer that updates `values`).
pub fn ema_update(
    prog: &mut Program,
    values: View,
    ema: View,
    decay: f32,
    (counters, t_slot): (View, usize),
    label: &str,
) -> Result {
    check(prog, label, ema, values.len)?;
    // vec4s, as Adam's.
    check(prog, label, values, values.len.next_multiple_of(4))?;
    let p = AdamParams {
        n: values.len as u32,
        t_slot: t_slot as u32,
        beta1: decay,
        ..AdamParams::default()
    };
    let b = vec![(values, R), (counters, R), (ema, W)];
    let g = grid_1d(values.len / 4, 64);
    prog.push(Kernel::EmaUpdate, &words(&p), b, g, label);
    Ok(())
}

pub fn counter_increment(prog: &mut Program, counters: View, slot: usize, label: &str) {
    let p = AdamParams {
        n: slot as u32,
        ..Default::default()
    };
    let l = format!("{label} / step counter");
    prog.push(
        Kernel::CounterIncrement,
        &words(&p),
        vec![(counters, W)],
        [1, 1, 1],
        &l,
    );
}
