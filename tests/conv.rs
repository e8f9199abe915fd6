//! The conv ops: every direct entry point on the GPU against its CPU twin
//! (`<entry>_gpu_matches_cpu`), finite-difference checks of every backward twin, and on both
//! paths (direct kernels, and the builders' lowering to matmul in tests/im2col.rs) hand-computed
//! values, the adjoint identity between conv2d and conv_transpose2d, gradient accumulation and
//! the builders' shape errors.

mod common;
mod conv_cases;

use common::*;
use conv_cases::*;
use wgpu_gan::cpu::conv2d::{self, ACCUMULATE, HAS_BIAS};
use wgpu_gan::cpu::conv_transpose2d;
use wgpu_gan::ops::conv;
use wgpu_gan::program::Program;

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
