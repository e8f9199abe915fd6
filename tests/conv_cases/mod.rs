//! Shared by tests/conv.rs and tests/im2col.rs: conv shapes, and one way to record any conv
//! entry point on either path (the direct kernel, or the builders' default lowering) and run it.
#![allow(dead_code)]

use crate::common::*;
use wgpu_gan::cpu::conv2d::{Conv2dGeometry, ACCUMULATE};
use wgpu_gan::cpu::conv_transpose2d::ConvTranspose2dGeometry;
use wgpu_gan::ops::conv;
use wgpu_gan::program::{Program, View};

/// [n, c_in, h, w, c_out, kh, kw, stride, pad], read as either op's geometry.
pub type Dims = [usize; 9];

/// Batch 1, odd and rectangular sizes, rectangular kernels, stride 1, 2 and 3, padding 0, 1, 2.
pub const SHAPES: &[Dims] = &[
    [1, 1, 5, 5, 1, 3, 3, 1, 0],
    [1, 2, 7, 5, 3, 3, 3, 2, 1],
    [2, 3, 9, 8, 2, 4, 4, 2, 1],
    [3, 2, 6, 7, 4, 3, 4, 1, 1],
    [2, 3, 5, 6, 2, 4, 3, 1, 0],
    [1, 2, 8, 7, 3, 4, 4, 3, 2],
    [2, 1, 3, 3, 2, 3, 3, 2, 1],
];

/// The DCGAN discriminator's convs (28 -> 14 -> 7) and generator's transposed convs (7 -> 14 -> 28).
pub const D_SHAPES: &[Dims] = &[
    [4, 1, 28, 28, 64, 4, 4, 2, 1],
    [2, 64, 14, 14, 128, 4, 4, 2, 1],
];
pub const G_SHAPES: &[Dims] = &[
    [3, 128, 7, 7, 64, 4, 4, 2, 1],
    [2, 64, 14, 14, 1, 4, 4, 2, 1],
];

/// 4.41M outputs: more than 65,535 workgroups of 64, so the 2-D grid path runs.
pub const LARGE: Dims = [1, 1, 2100, 2100, 1, 1, 1, 1, 0];

pub fn conv2d_geometry([n, c_in, h, w, c_out, kh, kw, stride, pad]: Dims) -> Conv2dGeometry {
    Conv2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride,
        pad,
    }
}

pub fn transposed_geometry(
    [n, c_in, h, w, c_out, kh, kw, stride, pad]: Dims,
) -> ConvTranspose2dGeometry {
    ConvTranspose2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride,
        pad,
        output_padding: 0,
    }
}

/// Which kernels a builder records: the direct conv kernel, or the builders' default (lowered to
/// a matmul wherever it fits).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Path {
    Direct,
    Lowered,
}

pub const PATHS: [Path; 2] = [Path::Direct, Path::Lowered];

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Entry {
    Forward,
    InputGrad,
    WeightGrad,
    BiasGrad,
}

/// One recorded entry point on tensors x, w, y (dy for the grads) and b (bias or db).
pub struct Case {
    pub prog: Program,
    pub x: View,
    pub w: View,
    pub y: View,
    pub b: View,
    pub out: View,
    /// How many terms each output sums, for the tolerance.
    pub terms: usize,
}

/// Records one entry point on existing tensors x, w, y (dy for the grads) and b (db), with an
/// optional forward bias and the grads' flags.
#[allow(clippy::too_many_arguments)]
pub fn record_into(
    p: &mut Program,
    path: Path,
    transposed: bool,
    entry: Entry,
    d: Dims,
    (x, w, y, b): (View, View, View, View),
    bias: Option<View>,
    flags: u32,
) -> wgpu_gan::ops::Result {
    let (g, t, l) = (conv2d_geometry(d), transposed_geometry(d), "conv");
    use conv::direct as d;
    match (path, transposed, entry) {
        (_, false, Entry::BiasGrad) => conv::conv2d_bias_grad(p, g, y, b, flags, l),
        (_, true, Entry::BiasGrad) => conv::conv_transpose2d_bias_grad(p, t, y, b, flags, l),
        (Path::Direct, false, Entry::Forward) => d::conv2d_forward(p, g, x, w, bias, y, l),
        (Path::Direct, false, Entry::InputGrad) => d::conv2d_input_grad(p, g, y, w, x, l),
        (Path::Direct, false, Entry::WeightGrad) => d::conv2d_weight_grad(p, g, x, y, w, flags, l),
        (Path::Direct, true, Entry::Forward) => d::conv_transpose2d_forward(p, t, x, w, bias, y, l),
        (Path::Direct, true, Entry::InputGrad) => d::conv_transpose2d_input_grad(p, t, y, w, x, l),
        (Path::Direct, true, Entry::WeightGrad) => {
            d::conv_transpose2d_weight_grad(p, t, x, y, w, flags, l)
        }
        (Path::Lowered, false, Entry::Forward) => conv::conv2d_forward(p, g, x, w, bias, y, l),
        (Path::Lowered, false, Entry::InputGrad) => conv::conv2d_input_grad(p, g, y, w, x, l),
        (Path::Lowered, false, Entry::WeightGrad) => {
            conv::conv2d_weight_grad(p, g, x, y, w, flags, l)
        }
        (Path::Lowered, true, Entry::Forward) => {
            conv::conv_transpose2d_forward(p, t, x, w, bias, y, l)
        }
        (Path::Lowered, true, Entry::InputGrad) => {
            conv::conv_transpose2d_input_grad(p, t, y, w, x, l)
        }
        (Path::Lowered, true, Entry::WeightGrad) => {
            conv::conv_transpose2d_weight_grad(p, t, x, y, w, flags, l)
        }
    }
}

/// Records one entry point of conv2d (or conv_transpose2d) on new tensors. `extra` adds the bias
/// to a forward and sets ACCUMULATE on a weight or bias grad.
pub fn record(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) -> Case {
    let (g, t) = (conv2d_geometry(d), transposed_geometry(d));
    let (xl, wl, yl) = if transposed {
        (t.x_len(), t.w_len(), t.y_len())
    } else {
        (g.x_len(), g.w_len(), g.y_len())
    };
    let mut prog = Program::new();
    let (x, w) = (prog.tensor("x", xl), prog.tensor("w", wl));
    let (y, b) = (prog.tensor("y", yl), prog.tensor("b", g.c_out));
    let flags = if extra { ACCUMULATE } else { 0 };
    let bias = extra.then_some(b);
    let out = match entry {
        Entry::Forward => y,
        Entry::InputGrad => x,
        Entry::WeightGrad => w,
        Entry::BiasGrad => b,
    };
    let views = (x, w, y, b);
    record_into(&mut prog, path, transposed, entry, d, views, bias, flags).unwrap();
    let (n, taps) = (d[0], d[5] * d[6]);
    let (x_plane, y_plane) = (xl / (n * d[1]), yl / (n * d[4]));
    let terms = match entry {
        Entry::Forward => d[1] * taps,
        Entry::InputGrad => d[4] * taps,
        Entry::WeightGrad => n * x_plane.min(y_plane),
        Entry::BiasGrad => n * y_plane,
    };
    Case {
        prog,
        x,
        w,
        y,
        b,
        out,
        terms,
    }
}

/// Random values for every tensor (the output too, so that overwrite and ACCUMULATE differ).
pub fn random_inputs(c: &Case) -> Vec<(View, Vec<u32>)> {
    [c.x, c.w, c.y, c.b]
        .iter()
        .zip(40..)
        .map(|(&v, seed)| (v, bits(&rand_vec(v.len, seed, -1.0, 1.0))))
        .collect()
}

pub fn describe(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) -> String {
    let op = if transposed {
        "conv_transpose2d"
    } else {
        "conv2d"
    };
    format!("{op} {path:?} {entry:?} {d:?} extra={extra}")
}

/// The GPU result against the CPU's, from the same random tensors.
pub fn gpu_case(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) {
    let c = record(path, transposed, entry, d, extra);
    let what = describe(path, transposed, entry, d, extra);
    let abs = 1e-6 * (c.terms as f32 + 1.0);
    gpu_matches_cpu(&c.prog, &random_inputs(&c), &[(&what, c.out)], abs, 1e-5);
}

pub fn shapes(transposed: bool) -> impl Iterator<Item = (usize, Dims)> {
    let dcgan = if transposed { G_SHAPES } else { D_SHAPES };
    SHAPES.iter().chain(dcgan).copied().enumerate()
}

pub fn gpu_cases(path: Path, transposed: bool, entry: Entry) {
    for (i, d) in shapes(transposed) {
        gpu_case(path, transposed, entry, d, i % 2 == 1);
    }
    if entry == Entry::Forward {
        gpu_case(path, transposed, entry, LARGE, true);
    }
}

pub const PRODUCTS: [Entry; 3] = [Entry::Forward, Entry::InputGrad, Entry::WeightGrad];

/// Runs `prog` on the CPU and, when there is one, on the GPU: one result set per executor.
pub fn run_both(
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    outputs: &[View],
) -> Vec<Vec<Vec<f32>>> {
    let to_f32 = |r: Vec<Vec<u32>>| r.iter().map(|v| floats(v)).collect::<Vec<_>>();
    let mut results = vec![to_f32(run_cpu(prog, inputs, outputs))];
    if let Some(ctx) = gpu() {
        results.push(to_f32(run_gpu(&ctx, prog, inputs, outputs)));
    }
    results
}
