//! Builders for class conditioning (cgan): label draws, and the one-hot code appended to a
//! batch's rows with its backward.

use super::{check, RandomStream, Result};
use crate::cpu::condition::ConditionParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// out (n) = classes drawn uniformly from [0, classes), as f32 (the fakes' labels).
pub fn uniform_labels(
    prog: &mut Program,
    rs: RandomStream,
    counters: View,
    out: View,
    classes: usize,
    label: &str,
) {
    let p = rs.params(out.len, 0.0, 0.0, classes as u32);
    let b = vec![(counters, R), (out, W)];
    prog.push(
        Kernel::UniformLabels,
        &words(&p),
        b,
        grid_1d(out.len, 64),
        label,
    );
}

fn params(batch: usize, features: usize, classes: usize) -> ConditionParams {
    ConditionParams {
        batch: batch as u32,
        features: features as u32,
        classes: classes as u32,
        pad: 0,
    }
}

/// out (B, F + C) = [x (B, F), one_hot(labels (B), C)], with B = labels.len.
pub fn concat_one_hot_forward(
    prog: &mut Program,
    x: View,
    labels: View,
    classes: usize,
    out: View,
    label: &str,
) -> Result {
    let batch = labels.len;
    let features = x.len / batch.max(1);
    check(prog, label, x, batch * features)?;
    check(prog, label, out, batch * (features + classes))?;
    let p = params(batch, features, classes);
    let b = vec![(x, R), (labels, R), (out, W)];
    let g = grid_1d(out.len, 64);
    prog.push(Kernel::ConcatOneHotForward, &words(&p), b, g, label);
    Ok(())
}

/// dx (B, F) = dout (B, F + C)[:, :F]: the gradient of the rows without their label code.
pub fn concat_one_hot_backward(
    prog: &mut Program,
    dout: View,
    classes: usize,
    dx: View,
    batch: usize,
    label: &str,
) -> Result {
    let features = dx.len / batch.max(1);
    check(prog, label, dx, batch * features)?;
    check(prog, label, dout, batch * (features + classes))?;
    let p = params(batch, features, classes);
    let b = vec![(dout, R), (dx, W)];
    let g = grid_1d(dx.len, 64);
    prog.push(Kernel::ConcatOneHotBackward, &words(&p), b, g, label);
    Ok(())
}

/// G's input for `rows` samples: [z, codes, one_hot(labels, classes)], each part only when
/// given (InfoGAN's continuous codes; the label of cgan and ACGAN, InfoGAN's category), in new
/// buffers named after `name`; z itself when there is nothing to append.
pub fn generator_input(
    prog: &mut Program,
    name: &str,
    rows: usize,
    z: View,
    codes: Option<View>,
    labels: Option<(View, usize)>,
) -> Result<View> {
    let mut x = z;
    if let Some(c) = codes {
        let out = prog.tensor(&format!("{name}.codes"), z.len + c.len);
        let label = format!("{name} = [z, codes]");
        super::columns::concat_columns(prog, z, c, rows, out, &label)?;
        x = out;
    }
    append_one_hot(prog, name, x, labels)
}

/// [x, one_hot(labels, classes)] in a new buffer `name`; x itself without labels or classes.
pub fn append_one_hot(
    prog: &mut Program,
    name: &str,
    x: View,
    labels: Option<(View, usize)>,
) -> Result<View> {
    match labels {
        Some((y, classes)) if classes > 0 => {
            let out = prog.tensor(name, x.len + y.len * classes);
            let label = format!("{name} = [x, one_hot(y)]");
            concat_one_hot_forward(prog, x, y, classes, out, &label)?;
            Ok(out)
        }
        _ => Ok(x),
    }
}
