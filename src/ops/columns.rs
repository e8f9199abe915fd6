//! Builders for the column plumbing of heads and codes (ACGAN, InfoGAN, WGAN-GP).

use super::{check, Head, Result};
use crate::cpu::columns::ColumnParams;
use crate::cpu::words;
use crate::kernels::Access::{Read as R, Write as W};
use crate::kernels::Kernel;
use crate::program::{grid_1d, Program, View};

/// out (B, F + E) = [a (B, F), b (B, E)].
pub fn concat_columns(
    prog: &mut Program,
    a: View,
    b: View,
    batch: usize,
    out: View,
    label: &str,
) -> Result {
    let (f, e) = (a.len / batch.max(1), b.len / batch.max(1));
    check(prog, label, a, batch * f)?;
    check(prog, label, b, batch * e)?;
    check(prog, label, out, batch * (f + e))?;
    let p = ColumnParams {
        batch: batch as u32,
        features: f as u32,
        extra: e as u32,
        ..ColumnParams::default()
    };
    let bind = vec![(a, R), (b, R), (out, W)];
    prog.push(
        Kernel::ConcatColumns,
        &words(&p),
        bind,
        grid_1d(out.len, 64),
        label,
    );
    Ok(())
}

/// The `width` columns of `head` in every row of `out` = value; the rest is untouched.
pub fn fill_columns(
    prog: &mut Program,
    out: View,
    head: Head,
    width: usize,
    value: f32,
    label: &str,
) -> Result {
    let rows = super::loss::check_head(prog, label, out, head, width)?;
    let p = ColumnParams {
        batch: rows as u32,
        stride: head.stride as u32,
        offset: head.offset as u32,
        width: width as u32,
        value,
        ..ColumnParams::default()
    };
    let g = grid_1d(rows * width, 64);
    prog.push(Kernel::FillColumns, &words(&p), vec![(out, W)], g, label);
    Ok(())
}

/// out (B, width) = a (B, stride)[:, offset .. offset + width] for `head` = (stride, offset):
/// one part of the gradient of `concat_columns`.
pub fn slice_columns(
    prog: &mut Program,
    a: View,
    head: Head,
    width: usize,
    out: View,
    label: &str,
) -> Result {
    let rows = super::loss::check_head(prog, label, a, head, width)?;
    check(prog, label, out, rows * width)?;
    let p = ColumnParams {
        batch: rows as u32,
        stride: head.stride as u32,
        offset: head.offset as u32,
        width: width as u32,
        ..ColumnParams::default()
    };
    let g = grid_1d(rows * width, 64);
    prog.push(
        Kernel::SliceColumns,
        &words(&p),
        vec![(a, R), (out, W)],
        g,
        label,
    );
    Ok(())
}

/// out[b] = t[b] a[b] + (1 - t[b]) c[b] for rows b of a, c and out (B = t.len).
pub fn interpolate(
    prog: &mut Program,
    a: View,
    t: View,
    c: View,
    out: View,
    label: &str,
) -> Result {
    let batch = t.len;
    let f = a.len / batch.max(1);
    for v in [a, c, out] {
        check(prog, label, v, batch * f)?;
    }
    let p = ColumnParams {
        batch: batch as u32,
        features: f as u32,
        ..ColumnParams::default()
    };
    let bind = vec![(a, R), (t, R), (out, W), (c, R)];
    prog.push(
        Kernel::Interpolate,
        &words(&p),
        bind,
        grid_1d(out.len, 64),
        label,
    );
    Ok(())
}
