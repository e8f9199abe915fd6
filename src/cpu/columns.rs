//! CPU twins of `shaders/columns.wgsl`: column plumbing for heads and codes.

use super::{par, params, CpuIo};
use bytemuck::{Pod, Zeroable};

/// Mirrors `Params` in columns.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ColumnParams {
    pub batch: u32,
    /// Row length of the first input (F).
    pub features: u32,
    /// Row length of `concat_columns`' second input (E).
    pub extra: u32,
    /// `fill_columns`: row length of the output, first column filled and how many.
    pub stride: u32,
    pub offset: u32,
    pub width: u32,
    pub value: f32,
    pub pad: u32,
}

/// out (B, F + E) = [a (B, F), b (B, E)].
pub fn concat_columns(p: &ColumnParams, a: &[f32], b: &[f32], out: &mut [f32]) {
    let (f, e) = (p.features as usize, p.extra as usize);
    for r in 0..p.batch as usize {
        let row = &mut out[r * (f + e)..(r + 1) * (f + e)];
        row[..f].copy_from_slice(&a[r * f..(r + 1) * f]);
        row[f..].copy_from_slice(&b[r * e..(r + 1) * e]);
    }
}

/// Columns offset .. offset + width of each row of `stride` in `out` = value.
pub fn fill_columns(p: &ColumnParams, out: &mut [f32]) {
    let (s, o, w) = (p.stride as usize, p.offset as usize, p.width as usize);
    for r in 0..p.batch as usize {
        out[r * s + o..r * s + o + w].fill(p.value);
    }
}

/// out (B, width) = a (B, stride)[:, offset .. offset + width].
pub fn slice_columns(p: &ColumnParams, a: &[f32], out: &mut [f32]) {
    let (s, o, w) = (p.stride as usize, p.offset as usize, p.width as usize);
    for r in 0..p.batch as usize {
        out[r * w..(r + 1) * w].copy_from_slice(&a[r * s + o..r * s + o + w]);
    }
}

/// out[b] = t[b] a[b] + (1 - t[b]) c[b], rows of F.
pub fn interpolate(p: &ColumnParams, a: &[f32], t: &[f32], c: &[f32], out: &mut [f32]) {
    let f = p.features as usize;
    par::blocks(&mut out[..p.batch as usize * f], |first, out| {
        for (i, o) in (first..).zip(out.iter_mut()) {
            let tb = t[i / f];
            *o = tb * a[i] + (1.0 - tb) * c[i];
        }
    });
}

pub fn concat_columns_op(w: &[u32], io: &mut CpuIo) {
    concat_columns(&params(w), io.f32(0), io.f32(1), io.f32_mut(2));
}

pub fn fill_columns_op(w: &[u32], io: &mut CpuIo) {
    fill_columns(&params(w), io.f32_mut(0));
}

pub fn slice_columns_op(w: &[u32], io: &mut CpuIo) {
    slice_columns(&params(w), io.f32(0), io.f32_mut(1));
}

pub fn interpolate_op(w: &[u32], io: &mut CpuIo) {
    interpolate(&params(w), io.f32(0), io.f32(1), io.f32(3), io.f32_mut(2));
}
