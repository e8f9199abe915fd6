//! The conv ops: every direct entry point on the GPU against its CPU twin
//! (`<entry>_gpu_matches_cpu`), the builders' matmul lowering against the direct kernels and on
//! the GPU against the CPU, finite-difference checks of every backward twin, hand-computed
//! values, the adjoint identity between conv2d and conv_transpose2d, gradient accumulation and
//! the builders' shape errors; the last four on both paths.

mod common;

use common::*;
use wgpu_gan::cpu::conv2d::{self, Conv2dGeometry, ACCUMULATE, HAS_BIAS};
use wgpu_gan::cpu::conv_transpose2d::{self, ConvTranspose2dGeometry};
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{conv, Activation};
use wgpu_gan::program::{Program, View};

/// [n, c_in, h, w, c_out, kh, kw, stride, pad], read as either op's geometry.
type Dims = [usize; 9];

/// Batch 1, odd and rectangular sizes, rectangular kernels, stride 1, 2 and 3, padding 0, 1, 2.
const SHAPES: &[Dims] = &[
    [1, 1, 5, 5, 1, 3, 3, 1, 0],
    [1, 2, 7, 5, 3, 3, 3, 2, 1],
    [2, 3, 9, 8, 2, 4, 4, 2, 1],
    [3, 2, 6, 7, 4, 3, 4, 1, 1],
    [2, 3, 5, 6, 2, 4, 3, 1, 0],
    [1, 2, 8, 7, 3, 4, 4, 3, 2],
    [2, 1, 3, 3, 2, 3, 3, 2, 1],
];

/// The DCGAN discriminator's convs (28 -> 14 -> 7) and generator's transposed convs (7 -> 14 -> 28).
const D_SHAPES: &[Dims] = &[
    [4, 1, 28, 28, 64, 4, 4, 2, 1],
    [2, 64, 14, 14, 128, 4, 4, 2, 1],
];
const G_SHAPES: &[Dims] = &[
    [3, 128, 7, 7, 64, 4, 4, 2, 1],
    [2, 64, 14, 14, 1, 4, 4, 2, 1],
];

/// 4.41M outputs: more than 65,535 workgroups of 64, so the 2-D grid path runs.
const LARGE: Dims = [1, 1, 2100, 2100, 1, 1, 1, 1, 0];

fn conv2d_geometry([n, c_in, h, w, c_out, kh, kw, stride, pad]: Dims) -> Conv2dGeometry {
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

fn transposed_geometry(
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
    }
}

/// Which kernels a builder records: the direct conv kernel, or the builders' default (lowered to
/// a matmul wherever it fits).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Path {
    Direct,
    Lowered,
}

const PATHS: [Path; 2] = [Path::Direct, Path::Lowered];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Entry {
    Forward,
    InputGrad,
    WeightGrad,
    BiasGrad,
}

/// One recorded entry point on tensors x, w, y (dy for the grads) and b (bias or db).
struct Case {
    prog: Program,
    x: View,
    w: View,
    y: View,
    b: View,
    out: View,
    /// How many terms each output sums, for the tolerance.
    terms: usize,
}

/// Records one entry point on existing tensors x, w, y (dy for the grads) and b (db), with an
/// optional forward bias and the grads' flags.
#[allow(clippy::too_many_arguments)]
fn record_into(
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
fn record(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) -> Case {
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
fn random_inputs(c: &Case) -> Vec<(View, Vec<u32>)> {
    [c.x, c.w, c.y, c.b]
        .iter()
        .zip(40..)
        .map(|(&v, seed)| (v, bits(&rand_vec(v.len, seed, -1.0, 1.0))))
        .collect()
}

fn describe(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) -> String {
    let op = if transposed {
        "conv_transpose2d"
    } else {
        "conv2d"
    };
    format!("{op} {path:?} {entry:?} {d:?} extra={extra}")
}

/// The GPU result against the CPU's, from the same random tensors.
fn gpu_case(path: Path, transposed: bool, entry: Entry, d: Dims, extra: bool) {
    let c = record(path, transposed, entry, d, extra);
    let what = describe(path, transposed, entry, d, extra);
    let abs = 1e-6 * (c.terms as f32 + 1.0);
    gpu_matches_cpu(&c.prog, &random_inputs(&c), &[(&what, c.out)], abs, 1e-5);
}

fn shapes(transposed: bool) -> impl Iterator<Item = (usize, Dims)> {
    let dcgan = if transposed { G_SHAPES } else { D_SHAPES };
    SHAPES.iter().chain(dcgan).copied().enumerate()
}

fn gpu_cases(path: Path, transposed: bool, entry: Entry) {
    for (i, d) in shapes(transposed) {
        gpu_case(path, transposed, entry, d, i % 2 == 1);
    }
    if entry == Entry::Forward {
        gpu_case(path, transposed, entry, LARGE, true);
    }
}

const PRODUCTS: [Entry; 3] = [Entry::Forward, Entry::InputGrad, Entry::WeightGrad];

/// The builders' default path (im2col/col2im and the matmul kernels) on the GPU against the CPU
/// (the matmul twins); LARGE's forward does not fit the lowering and records the direct kernel.
#[test]
fn lowered_convs_gpu_match_cpu() {
    for transposed in [false, true] {
        for entry in PRODUCTS {
            gpu_cases(Path::Lowered, transposed, entry);
        }
    }
}

/// On the CPU, the lowering computes what the direct conv twins compute, for every entry point
/// and shape; only the order of the sums differs.
#[test]
fn lowered_convs_match_direct_kernels() {
    for transposed in [false, true] {
        for entry in PRODUCTS {
            for (i, d) in shapes(transposed) {
                let extra = i % 2 == 1;
                let (lowered, direct) = (
                    record(Path::Lowered, transposed, entry, d, extra),
                    record(Path::Direct, transposed, entry, d, extra),
                );
                let matmuls = lowered.prog.ops.iter();
                let matmuls = matmuls.filter(|op| op.kernel.entry().starts_with("matmul"));
                assert_eq!(matmuls.count(), 1, "{d:?} is lowered to one matmul");
                // Both programs declare x, w, y and b first: the same views.
                let inputs = random_inputs(&lowered);
                let got = run_cpu(&lowered.prog, &inputs, &[lowered.out]);
                let want = run_cpu(&direct.prog, &inputs, &[direct.out]);
                let what = describe(Path::Lowered, transposed, entry, d, extra);
                let abs = 1e-6 * (lowered.terms as f32 + 1.0);
                assert_close(&what, &floats(&got[0]), &floats(&want[0]), abs, 1e-5);
            }
        }
    }
}

/// The DCGAN's convs are lowered; a conv whose grid or scratch would not fit is not.
#[test]
fn builders_lower_where_it_fits() {
    for &d in D_SHAPES {
        assert!(conv::conv2d_is_lowered(conv2d_geometry(d)), "{d:?}");
    }
    for &d in G_SHAPES {
        assert!(
            conv::conv_transpose2d_is_lowered(transposed_geometry(d)),
            "{d:?}"
        );
    }
    assert!(!conv::conv2d_is_lowered(conv2d_geometry(LARGE)));
    let huge = conv2d_geometry([64, 512, 64, 64, 64, 3, 3, 1, 1]);
    assert!(!conv::conv2d_is_lowered(huge), "cols would need 1.2G words");
    assert!(huge.validate().is_ok());
}

/// Every conv of a program shares two scratch buffers, sized for the largest.
#[test]
fn lowered_convs_share_their_scratch() {
    let mut prog = Program::new();
    for (i, &d) in D_SHAPES.iter().enumerate() {
        let g = conv2d_geometry(d);
        let (x, w, y) = (
            prog.tensor("x", g.x_len()),
            prog.tensor("w", g.w_len()),
            prog.tensor("y", g.y_len()),
        );
        conv::conv2d_forward(&mut prog, g, x, w, None, y, "conv").unwrap();
        conv::conv2d_input_grad(&mut prog, g, y, w, x, "conv").unwrap();
        assert_eq!(
            prog.buffers.len(),
            3 * (i + 1) + 2 + 1,
            "x, w, y, 2 scratch, dummy"
        );
    }
    let g = conv2d_geometry(D_SHAPES[1]);
    let cols = g.c_in * g.kh * g.kw * g.n * g.out_h() * g.out_w();
    assert!(prog.buffers.iter().any(|b| b.words == cols));
}

/// A layer's weight grad and input grad start from the same reshape of dy (conv2d: transposed;
/// conv_transpose2d: im2col): the input grad reuses it from scratch unless dy was written in
/// between, and both ways give the input grad recorded alone.
#[test]
fn a_backward_pass_reshapes_dy_once() {
    let d = [2, 3, 7, 6, 2, 4, 4, 2, 1];
    for (transposed, rewrite_dy) in [(false, false), (false, true), (true, false), (true, true)] {
        let c = record(Path::Lowered, transposed, Entry::WeightGrad, d, false);
        let mut prog = c.prog;
        // The weight grad wrote into c.w: the input grad reads its own weight.
        let (dx, w) = (prog.tensor("dx", c.x.len), prog.tensor("w2", c.w.len));
        let dy_src = prog.tensor("dy_src", c.y.len);
        if rewrite_dy {
            // LeakyReLU(1) is the identity: dy keeps its values but has been written.
            let copy = Activation::LeakyRelu(1.0);
            wgpu_gan::ops::activation_forward(&mut prog, copy, dy_src, c.y, "copy").unwrap();
        }
        let (views, input_grad) = ((dx, w, c.y, c.b), Entry::InputGrad);
        record_into(
            &mut prog,
            Path::Lowered,
            transposed,
            input_grad,
            d,
            views,
            None,
            0,
        )
        .unwrap();
        let reshape = if transposed {
            Kernel::Im2col
        } else {
            Kernel::NchwToCnhw
        };
        let reshapes = prog.ops.iter().filter(|op| op.kernel == reshape).count();
        assert_eq!(reshapes, 1 + rewrite_dy as usize, "transposed={transposed}");
        let alone = record(Path::Lowered, transposed, input_grad, d, false);
        let mut inputs = random_inputs(&alone);
        inputs.extend([(w, inputs[1].1.clone()), (dy_src, inputs[2].1.clone())]);
        let want = run_cpu(&alone.prog, &inputs[..4], &[alone.out]);
        for got in run_both(&prog, &inputs, &[dx]) {
            let what = format!("input grad transposed={transposed} rewrite_dy={rewrite_dy}");
            assert_close(&what, &got[0], &floats(&want[0]), 1e-5, 1e-5);
        }
    }
}

#[test]
fn conv2d_forward_gpu_matches_cpu() {
    gpu_cases(Path::Direct, false, Entry::Forward);
}

#[test]
fn conv2d_input_grad_gpu_matches_cpu() {
    gpu_cases(Path::Direct, false, Entry::InputGrad);
}

#[test]
fn conv2d_weight_grad_gpu_matches_cpu() {
    gpu_cases(Path::Direct, false, Entry::WeightGrad);
}

#[test]
fn conv2d_bias_grad_gpu_matches_cpu() {
    gpu_cases(Path::Direct, false, Entry::BiasGrad);
}

#[test]
fn conv_transpose2d_forward_gpu_matches_cpu() {
    gpu_cases(Path::Direct, true, Entry::Forward);
}

#[test]
fn conv_transpose2d_input_grad_gpu_matches_cpu() {
    gpu_cases(Path::Direct, true, Entry::InputGrad);
}

#[test]
fn conv_transpose2d_weight_grad_gpu_matches_cpu() {
    gpu_cases(Path::Direct, true, Entry::WeightGrad);
}

#[test]
fn conv_transpose2d_bias_grad_reuses_conv2d_bias_grad() {
    gpu_cases(Path::Direct, true, Entry::BiasGrad);
}

const GRADCHECK_SHAPES: &[Dims] = &[[2, 2, 5, 4, 3, 3, 3, 2, 1], [1, 2, 6, 6, 2, 4, 4, 2, 1]];

#[test]
fn conv2d_backward_matches_finite_differences() {
    for &d in GRADCHECK_SHAPES {
        let g = conv2d_geometry(d);
        let (p, p0) = (g.params(HAS_BIAS), g.params(0));
        let x = rand_vec(g.x_len(), 1, -1.0, 1.0);
        let w = rand_vec(g.w_len(), 2, -1.0, 1.0);
        let bias = rand_vec(g.c_out, 3, -1.0, 1.0);
        let r = rand_vec(g.y_len(), 4, -1.0, 1.0);
        let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut y = vec![0.0; g.y_len()];
            conv2d::conv2d_forward(&p, x, w, b, &mut y);
            y
        };
        let mut dx = vec![0.0; x.len()];
        conv2d::conv2d_input_grad(&p0, &r, &w, &mut dx);
        gradcheck("conv2d dx", |x| fwd(x, &w, &bias), &x, &r, &dx);
        let mut dw = vec![0.0; w.len()];
        conv2d::conv2d_weight_grad(&p0, &x, &r, &mut dw);
        gradcheck("conv2d dw", |w| fwd(&x, w, &bias), &w, &r, &dw);
        let mut db = vec![0.0; bias.len()];
        conv2d::conv2d_bias_grad(&p0, &r, &mut db);
        gradcheck("conv2d db", |b| fwd(&x, &w, b), &bias, &r, &db);
    }
}

#[test]
fn conv_transpose2d_backward_matches_finite_differences() {
    for &d in GRADCHECK_SHAPES {
        let g = transposed_geometry(d);
        let (p, p0) = (g.params(HAS_BIAS), g.params(0));
        let x = rand_vec(g.x_len(), 5, -1.0, 1.0);
        let w = rand_vec(g.w_len(), 6, -1.0, 1.0);
        let bias = rand_vec(g.c_out, 7, -1.0, 1.0);
        let r = rand_vec(g.y_len(), 8, -1.0, 1.0);
        let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
            let mut y = vec![0.0; g.y_len()];
            conv_transpose2d::conv_transpose2d_forward(&p, x, w, b, &mut y);
            y
        };
        let mut dx = vec![0.0; x.len()];
        conv_transpose2d::conv_transpose2d_input_grad(&p0, &r, &w, &mut dx);
        gradcheck("conv_transpose2d dx", |x| fwd(x, &w, &bias), &x, &r, &dx);
        let mut dw = vec![0.0; w.len()];
        conv_transpose2d::conv_transpose2d_weight_grad(&p0, &x, &r, &mut dw);
        gradcheck("conv_transpose2d dw", |w| fwd(&x, w, &bias), &w, &r, &dw);
        let mut db = vec![0.0; bias.len()];
        conv2d::conv2d_bias_grad(&p0, &r, &mut db);
        gradcheck("conv_transpose2d db", |b| fwd(&x, &w, b), &bias, &r, &db);
    }
}

/// Runs `prog` on the CPU and, when there is one, on the GPU: one result set per executor.
fn run_both(prog: &Program, inputs: &[(View, Vec<u32>)], outputs: &[View]) -> Vec<Vec<Vec<f32>>> {
    let to_f32 = |r: Vec<Vec<u32>>| r.iter().map(|v| floats(v)).collect::<Vec<_>>();
    let mut results = vec![to_f32(run_cpu(prog, inputs, outputs))];
    if let Some(ctx) = gpu() {
        results.push(to_f32(run_gpu(&ctx, prog, inputs, outputs)));
    }
    results
}

#[test]
fn conv_forwards_match_hand_computed_values() {
    for path in PATHS {
        hand_computed_values(path);
    }
}

fn hand_computed_values(path: Path) {
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let w = [1.0f32, 2.0, 3.0, 4.0];
    // 3x3 input, 2x2 kernel, bias 0.5: stride 1 pad 0, and stride 2 pad 1 (corners see one tap).
    for (stride, pad, want) in [
        (1, 0, [37.5, 47.5, 67.5, 77.5]),
        (2, 1, [4.5, 18.5, 36.5, 77.5]),
    ] {
        let d = [1, 1, 3, 3, 1, 2, 2, stride, pad];
        let mut prog = Program::new();
        let (xv, wv, bv, yv) = (
            prog.tensor("x", 9),
            prog.tensor("w", 4),
            prog.tensor("b", 1),
            prog.tensor("y", 4),
        );
        let views = (xv, wv, yv, bv);
        record_into(
            &mut prog,
            path,
            false,
            Entry::Forward,
            d,
            views,
            Some(bv),
            0,
        )
        .unwrap();
        let inputs = [(xv, bits(&x)), (wv, bits(&w)), (bv, bits(&[0.5]))];
        for got in run_both(&prog, &inputs, &[yv]) {
            let what = format!("conv2d {path:?} s{stride} p{pad}");
            assert_close(&what, &got[0], &want, 0.0, 0.0);
        }
    }
    // 2x2 input, 2x2 kernel: stride 2 stamps the scaled kernel into four blocks; stride 1 overlaps.
    let stamped = [
        1., 2., 2., 4., 3., 4., 6., 8., 3., 6., 4., 8., 9., 12., 12., 16.,
    ];
    let overlapped = [1., 4., 4., 6., 20., 16., 9., 24., 16.];
    for (stride, want) in [(2, &stamped[..]), (1, &overlapped[..])] {
        let d = [1, 1, 2, 2, 1, 2, 2, stride, 0];
        let g = transposed_geometry(d);
        assert_eq!((g.out_h(), g.out_w()), (stride + 2, stride + 2));
        let mut prog = Program::new();
        let (xv, wv, yv) = (
            prog.tensor("x", 4),
            prog.tensor("w", 4),
            prog.tensor("y", g.y_len()),
        );
        let views = (xv, wv, yv, prog.dummy());
        record_into(&mut prog, path, true, Entry::Forward, d, views, None, 0).unwrap();
        let inputs = [(xv, bits(&[1.0, 2.0, 3.0, 4.0])), (wv, bits(&w))];
        for got in run_both(&prog, &inputs, &[yv]) {
            let what = format!("conv_transpose2d {path:?} s{stride}");
            assert_close(&what, &got[0], want, 0.0, 0.0);
        }
    }
}

#[test]
fn conv_transpose2d_forward_is_the_adjoint_of_conv2d_forward() {
    // Shapes where (h + 2 pad - k) divides by stride, so the transposed conv maps back to h x w.
    let shapes: &[Dims] = &[
        [2, 3, 9, 7, 4, 3, 3, 2, 1],
        [1, 2, 6, 5, 3, 3, 3, 1, 1],
        [2, 1, 28, 28, 8, 4, 4, 2, 1],
    ];
    for (&d, path) in shapes.iter().flat_map(|d| PATHS.map(|p| (d, p))) {
        let g = conv2d_geometry(d);
        let td = [
            g.n,
            g.c_out,
            g.out_h(),
            g.out_w(),
            g.c_in,
            g.kh,
            g.kw,
            g.stride,
            g.pad,
        ];
        let t = transposed_geometry(td);
        assert_eq!((t.out_h(), t.out_w(), t.y_len()), (g.h, g.w, g.x_len()));
        let mut prog = Program::new();
        let (x, w, y) = (
            prog.tensor("x", g.x_len()),
            prog.tensor("w", g.w_len()),
            prog.tensor("y", g.y_len()),
        );
        let (conv_x, conv_t_y) = (
            prog.tensor("conv(x)", g.y_len()),
            prog.tensor("convT(y)", g.x_len()),
        );
        let (p, f, none) = (&mut prog, Entry::Forward, x);
        record_into(p, path, false, f, d, (x, w, conv_x, none), None, 0).unwrap();
        record_into(p, path, true, f, td, (y, w, conv_t_y, none), None, 0).unwrap();
        let (xs, ys) = (
            rand_vec(x.len, 30, -1.0, 1.0),
            rand_vec(y.len, 31, -1.0, 1.0),
        );
        let inputs = [
            (x, bits(&xs)),
            (w, bits(&rand_vec(w.len, 32, -1.0, 1.0))),
            (y, bits(&ys)),
        ];
        let dot = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum::<f64>()
        };
        for got in run_both(&prog, &inputs, &[conv_x, conv_t_y]) {
            let (lhs, rhs) = (dot(&got[0], &ys), dot(&xs, &got[1]));
            let scale = got[0].iter().map(|v| v.abs() as f64).sum::<f64>();
            assert!(
                (lhs - rhs).abs() <= 1e-5 * scale,
                "{d:?} {path:?}: <conv(x), y> = {lhs}, <x, convT(y)> = {rhs}"
            );
        }
    }
}

/// DCGAN's D sums the gradients of a real and a fake pass: grad(dy1) then ACCUMULATE grad(dy2)
/// must equal grad(dy1 + dy2).
#[test]
fn weight_and_bias_grads_accumulate() {
    let d = [2, 3, 7, 6, 2, 4, 4, 2, 1];
    for (transposed, path) in [false, true]
        .into_iter()
        .flat_map(|t| PATHS.map(|p| (t, p)))
    {
        for entry in [Entry::WeightGrad, Entry::BiasGrad] {
            let c = record(path, transposed, entry, d, false);
            let once = c.prog.clone();
            let mut prog = c.prog;
            let dy2 = prog.tensor("dy2", c.y.len);
            let (x, out, views) = (c.x, c.out, (c.x, c.w, dy2, c.b));
            record_into(
                &mut prog, path, transposed, entry, d, views, None, ACCUMULATE,
            )
            .unwrap();
            let xs = rand_vec(x.len, 33, -1.0, 1.0);
            let (a, b) = (
                rand_vec(dy2.len, 34, -1.0, 1.0),
                rand_vec(dy2.len, 35, -1.0, 1.0),
            );
            let sum: Vec<f32> = a.iter().zip(&b).map(|(a, b)| a + b).collect();
            let want = run_cpu(&once, &[(x, bits(&xs)), (c.y, bits(&sum))], &[out]);
            let inputs = [(x, bits(&xs)), (c.y, bits(&a)), (dy2, bits(&b))];
            for got in run_both(&prog, &inputs, &[out]) {
                let what = format!("{entry:?} {path:?} transposed={transposed}");
                assert_close(&what, &got[0], &floats(&want[0]), 1e-4, 1e-4);
            }
        }
    }
}

#[test]
fn builders_reject_bad_shapes_and_geometry() {
    let good = [2, 3, 8, 8, 4, 4, 4, 2, 1];
    let g = conv2d_geometry(good);
    let mut prog = Program::new();
    let (x, w, y) = (
        prog.tensor("x", g.x_len()),
        prog.tensor("w", g.w_len()),
        prog.tensor("y", g.y_len()),
    );
    let short_w = prog.tensor("short_w", g.w_len() - 1);
    let bad_bias = prog.tensor("bias", g.c_out + 1);
    let err = conv::conv2d_forward(&mut prog, g, x, short_w, None, y, "d conv")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("short_w") && err.contains(&format!("{}", g.w_len() - 1)),
        "{err}"
    );
    let err = conv::conv2d_forward(&mut prog, g, x, w, Some(bad_bias), y, "d conv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("'bias'"), "{err}");
    let err = conv::conv2d_weight_grad(&mut prog, g, x, y, y, 0, "d conv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("'y'"), "{err}");
    // Geometries with no output, a zero stride or absurd sizes are errors, never panics.
    let cases: &[(Dims, bool, bool)] = &[
        (good, true, true),
        ([2, 3, 8, 8, 4, 4, 4, 0, 1], false, false),
        ([2, 3, 2, 2, 4, 4, 4, 1, 0], false, true),
        ([1, 1, 1, 1, 1, 2, 2, 1, 1], true, false),
        ([1, 1, 1 << 40, 1, 1, 1, 1, 1, usize::MAX / 4], false, false),
        ([1, 1, 4, 4, 1, 0, 3, 1, 1], false, false),
        ([1, 1, 0, 4, 1, 3, 3, 1, 2], false, false),
    ];
    for &(d, conv_ok, transposed_ok) in cases {
        let (g, t) = (conv2d_geometry(d), transposed_geometry(d));
        assert_eq!(g.validate().is_ok(), conv_ok, "conv2d {d:?}");
        assert_eq!(t.validate().is_ok(), transposed_ok, "transposed {d:?}");
    }
    let zero_stride = conv2d_geometry(cases[1].0);
    let err = conv::conv2d_forward(&mut prog, zero_stride, x, w, None, y, "d conv").unwrap_err();
    assert!(err.to_string().contains("stride 0"), "{err}");
    let empty = transposed_geometry(cases[3].0);
    let err = conv::conv_transpose2d_forward(&mut prog, empty, x, w, None, y, "g conv");
    assert!(err.unwrap_err().to_string().contains("no output"));
    assert!(prog.ops.is_empty());
    assert_eq!(prog.buffers.len(), 5, "a rejected op allocates no scratch");
}
