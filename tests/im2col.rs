//! The conv builders' lowering to the matmul kernels. The reshapes (`shaders/im2col.wgsl`): each
//! entry point on the GPU against its CPU twin (`<entry>_gpu_matches_cpu`), the twins against
//! their definitions written one element at a time, im2col and col2im as adjoints, the two
//! transposes as inverses, and the builders' shape errors. The lowered convs: on the GPU against
//! the CPU, against the direct kernels, where they apply, their shared scratch and the reshape a
//! backward pass records once.

mod common;
mod conv_cases;

use common::*;
use conv_cases::{
    conv2d_geometry, describe, random_inputs, record, record_into, run_both, shapes,
    transposed_geometry, Entry, Path, D_SHAPES, G_SHAPES, LARGE, PRODUCTS,
};
use wgpu_gan::cpu::conv2d::{Conv2dGeometry, HAS_BIAS};
use wgpu_gan::cpu::im2col;
use wgpu_gan::kernels::Kernel;
use wgpu_gan::ops::{conv, Activation};
use wgpu_gan::program::{Program, View};

/// [n, c_in, h, w, c_out, kh, kw, stride, pad]
type Dims = [usize; 9];

/// Odd and rectangular sizes and kernels; a kernel narrower than its stride (x pixels no output
/// sees) and padding wider than the kernel (rows of cols that are all padding); DCGAN's D.
const SHAPES: &[Dims] = &[
    [1, 1, 5, 5, 1, 3, 3, 1, 0],
    [1, 2, 7, 5, 3, 3, 3, 2, 1],
    [2, 3, 9, 8, 2, 4, 4, 2, 1],
    [3, 2, 6, 7, 4, 3, 4, 1, 1],
    [1, 2, 8, 7, 3, 4, 4, 3, 2],
    [2, 1, 7, 6, 2, 1, 2, 3, 0],
    [1, 2, 3, 4, 2, 2, 2, 1, 2],
    [4, 1, 28, 28, 64, 4, 4, 2, 1],
    [2, 64, 14, 14, 128, 4, 4, 2, 1],
];

fn geometry([n, c_in, h, w, c_out, kh, kw, stride, pad]: Dims) -> Conv2dGeometry {
    let g = Conv2dGeometry {
        n,
        c_in,
        h,
        w,
        c_out,
        kh,
        kw,
        stride,
        pad,
    };
    assert!(g.validate().is_ok(), "{g:?}");
    g
}

/// (K, N·P): the shape of cols.
fn cols_shape(g: &Conv2dGeometry) -> (usize, usize) {
    (g.c_in * g.kh * g.kw, g.n * g.out_h() * g.out_w())
}

/// Calls `f(cols index, x index)` for every cols entry that holds an x element, straight from the
/// definition cols[(ci, ky, kx), (b, oy, ox)] = x[b, ci, oy·s + ky - pad, ox·s + kx - pad].
fn for_each_patch_entry(g: &Conv2dGeometry, mut f: impl FnMut(usize, usize)) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let np = cols_shape(g).1;
    for ci in 0..g.c_in {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let k = (ci * g.kh + ky) * g.kw + kx;
                for b in 0..g.n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                            let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                            if (0..g.h as isize).contains(&iy) && (0..g.w as isize).contains(&ix) {
                                let xi =
                                    ((b * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize;
                                f(k * np + (b * oh + oy) * ow + ox, xi);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&a, &b)| a as f64 * b as f64).sum()
}

#[test]
fn im2col_and_col2im_twins_match_their_definitions() {
    for &d in SHAPES {
        let g = geometry(d);
        let (k, np) = cols_shape(&g);
        let x = rand_vec(g.x_len(), 1, -1.0, 1.0);
        let mut want = vec![0.0f32; k * np];
        for_each_patch_entry(&g, |c, xi| want[c] = x[xi]);
        let mut got = vec![f32::NAN; k * np];
        im2col::im2col(&g.params(0), &x, &mut got);
        assert_close(&format!("im2col {d:?}"), &got, &want, 0.0, 0.0);

        // col2im scatters each entry back: the adjoint, so <im2col(x), c> = <x, col2im(c)>.
        let cols = rand_vec(k * np, 2, -1.0, 1.0);
        let mut scattered = vec![0.0f64; g.x_len()];
        for_each_patch_entry(&g, |c, xi| scattered[xi] += cols[c] as f64);
        let scattered: Vec<f32> = scattered.iter().map(|&v| v as f32).collect();
        let mut x_back = vec![f32::NAN; g.x_len()];
        im2col::col2im(&g.params(0), &cols, &[], &mut x_back);
        let taps = (g.kh.div_ceil(g.stride) * g.kw.div_ceil(g.stride)) as f32;
        assert_close(
            &format!("col2im {d:?}"),
            &x_back,
            &scattered,
            1e-6 * taps,
            0.0,
        );
        let (lhs, rhs) = (dot(&got, &cols), dot(&x, &x_back));
        assert!(
            (lhs - rhs).abs() <= 1e-5 * lhs.abs().max(1.0),
            "{d:?}: <im2col(x), c> = {lhs}, <x, col2im(c)> = {rhs}"
        );
    }
}

#[test]
fn the_transposes_swap_batch_and_channel_and_undo_each_other() {
    for &d in SHAPES {
        let g = geometry(d);
        let (n, c, plane) = (g.n, g.c_out, g.out_h() * g.out_w());
        let y = rand_vec(g.y_len(), 3, -1.0, 1.0);
        let mut y_t = vec![f32::NAN; y.len()];
        im2col::nchw_to_cnhw(&g.params(0), &y, &mut y_t);
        for (i, v) in y.iter().enumerate() {
            let (b, ch, s) = (i / (c * plane), (i / plane) % c, i % plane);
            assert_eq!(y_t[(ch * n + b) * plane + s], *v, "{d:?} [{i}]");
        }
        let mut back = vec![f32::NAN; y.len()];
        im2col::cnhw_to_nchw(&g.params(0), &y_t, &[], &mut back);
        assert_close(&format!("round trip {d:?}"), &back, &y, 0.0, 0.0);
        let bias = rand_vec(c, 4, -1.0, 1.0);
        im2col::cnhw_to_nchw(&g.params(HAS_BIAS), &y_t, &bias, &mut back);
        let want: Vec<f32> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[(i / plane) % c])
            .collect();
        assert_close(&format!("bias {d:?}"), &back, &want, 0.0, 0.0);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Reshape {
    Im2col,
    Col2im,
    NchwToCnhw,
    CnhwToNchw,
}

/// Records one reshape from a random source into a destination that starts as NaN (so a word
/// left unwritten fails), and compares the GPU with the CPU twin.
fn gpu_case(r: Reshape, d: Dims, with_bias: bool) {
    let g = geometry(d);
    let (k, np) = cols_shape(&g);
    let (src_len, dst_len, channels) = match r {
        Reshape::Im2col => (g.x_len(), k * np, 0),
        Reshape::Col2im => (k * np, g.x_len(), g.c_in),
        _ => (g.y_len(), g.y_len(), g.c_out),
    };
    let channels = channels.max(1);
    let mut prog = Program::new();
    let (src, dst) = (prog.tensor("src", src_len), prog.tensor("dst", dst_len));
    let bias_view = prog.tensor("bias", channels);
    let bias = with_bias.then_some(bias_view);
    let (p, l) = (&mut prog, "reshape");
    match r {
        Reshape::Im2col => conv::im2col(p, g, src, dst, l),
        Reshape::Col2im => conv::col2im(p, g, src, bias, dst, l),
        Reshape::NchwToCnhw => conv::nchw_to_cnhw(p, g, src, dst, l),
        Reshape::CnhwToNchw => conv::cnhw_to_nchw(p, g, src, bias, dst, l),
    }
    .unwrap();
    let inputs: Vec<(View, Vec<u32>)> = vec![
        (src, bits(&rand_vec(src_len, 5, -1.0, 1.0))),
        (dst, bits(&vec![f32::NAN; dst_len])),
        (bias_view, bits(&rand_vec(channels, 6, -1.0, 1.0))),
    ];
    let want = floats(&run_cpu(&prog, &inputs, &[dst])[0]);
    assert!(
        want.iter().all(|v| v.is_finite()),
        "{r:?} {d:?}: the twin left words unwritten"
    );
    // col2im adds its terms in the shader's order; the tolerance only allows an adapter that
    // reassociates them.
    let abs = if r == Reshape::Col2im { 1e-6 } else { 0.0 };
    let what = format!("{r:?} {d:?} bias={with_bias}");
    gpu_matches_cpu(&prog, &inputs, &[(&what, dst)], abs, 0.0);
}

fn reshape_cases(r: Reshape) {
    for (i, &d) in SHAPES.iter().enumerate() {
        gpu_case(r, d, i % 2 == 1);
    }
}

#[test]
fn im2col_gpu_matches_cpu() {
    reshape_cases(Reshape::Im2col);
}

#[test]
fn col2im_gpu_matches_cpu() {
    reshape_cases(Reshape::Col2im);
}

#[test]
fn nchw_to_cnhw_gpu_matches_cpu() {
    reshape_cases(Reshape::NchwToCnhw);
}

#[test]
fn cnhw_to_nchw_gpu_matches_cpu() {
    reshape_cases(Reshape::CnhwToNchw);
}

#[test]
fn reshape_builders_reject_bad_lengths() {
    let g = geometry([2, 3, 8, 8, 4, 4, 4, 2, 1]);
    let (k, np) = cols_shape(&g);
    let mut prog = Program::new();
    let x = prog.tensor("x", g.x_len());
    let short_cols = prog.tensor("short_cols", k * np - 1);
    let bias = prog.tensor("bias", g.c_out);
    let err = conv::im2col(&mut prog, g, x, short_cols, "im2col").unwrap_err();
    assert!(err.to_string().contains("'short_cols'"), "{err}");
    let cols = prog.tensor("cols", k * np);
    // col2im's bias has one value per input channel (3), not per output channel (4).
    let err = conv::col2im(&mut prog, g, cols, Some(bias), x, "col2im").unwrap_err();
    assert!(
        err.to_string()
            .contains("'bias' has 4 elements, expected 3"),
        "{err}"
    );
    let err = conv::nchw_to_cnhw(&mut prog, g, x, cols, "transpose").unwrap_err();
    assert!(err.to_string().contains("'x'"), "{err}");
    assert!(prog.ops.is_empty());
}

/// The builders' default path (im2col/col2im and the matmul kernels) on the GPU against the CPU
/// (the matmul twins); LARGE's forward does not fit the lowering and records the direct kernel.
#[test]
fn lowered_convs_gpu_match_cpu() {
    for transposed in [false, true] {
        for entry in PRODUCTS {
            conv_cases::gpu_cases(Path::Lowered, transposed, entry);
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
                lowered_matches_direct(transposed, entry, d, i % 2 == 1, 1);
            }
        }
    }
}

/// The lowered program of (transposed, entry, d, extra) holds `matmuls` products and computes
/// on the CPU what the direct twins compute; only the order of the sums differs.
fn lowered_matches_direct(transposed: bool, entry: Entry, d: Dims, extra: bool, matmuls: usize) {
    let (lowered, direct) = (
        record(Path::Lowered, transposed, entry, d, extra),
        record(Path::Direct, transposed, entry, d, extra),
    );
    let products = lowered.prog.ops.iter();
    let products = products.filter(|op| op.kernel.entry().starts_with("matmul"));
    assert_eq!(
        products.count(),
        matmuls,
        "{d:?} is lowered to {matmuls} matmuls"
    );
    // Both programs declare x, w, y and b first: the same views.
    let inputs = random_inputs(&lowered);
    let got = run_cpu(&lowered.prog, &inputs, &[lowered.out]);
    let want = run_cpu(&direct.prog, &inputs, &[direct.out]);
    let what = describe(Path::Lowered, transposed, entry, d, extra);
    let abs = 1e-6 * (lowered.terms as f32 + 1.0);
    assert_close(&what, &floats(&got[0]), &floats(&want[0]), abs, 1e-5);
}

/// A conv whose scratch would pass one buffer for the whole batch (cols of 42M words here) is
/// lowered in batch chunks, two matmuls, and still computes what the direct twins compute; a
/// weight gradient sums its chunks (the accumulating case adds to what dw held).
#[test]
fn convs_too_big_for_one_lowering_run_in_batch_chunks() {
    // conv2d: K = 64·9 = 576, N·P = 8·96·96; the transposed one's adjoint conv2d has the same.
    let cases = [
        (false, [8, 64, 96, 96, 8, 3, 3, 1, 1]),
        (true, [8, 8, 96, 96, 64, 3, 3, 1, 1]),
    ];
    for (transposed, d) in cases {
        for (entry, extra) in PRODUCTS
            .iter()
            .flat_map(|&e| [(e, false), (e, true)])
            .filter(|&(e, extra)| !extra || e == Entry::WeightGrad)
        {
            lowered_matches_direct(transposed, entry, d, extra, 2);
        }
    }
}

/// The DCGAN's convs are lowered; a conv whose grid or scratch would not fit even for one sample
/// is not.
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
    // Cols would need 1.2G words for the batch: one sample (19M words) at a time fits.
    let chunked = conv2d_geometry([64, 512, 64, 64, 64, 3, 3, 1, 1]);
    assert!(
        conv::conv2d_is_lowered(chunked),
        "lowered one sample at a time"
    );
    // Too few output channels for the reshapes to pay: direct.
    let thin = conv2d_geometry([64, 512, 64, 64, 4, 3, 3, 1, 1]);
    assert!(!conv::conv2d_is_lowered(thin), "4 output channels");
    // Nor where one output channel would read a large cols (CycleGAN's c_out at batch 16:
    // 19.7M words), even though it fits; DCGAN-64's last conv (0.5M words) is lowered.
    let cyclegan_out = conv2d_geometry([16, 32, 34, 34, 1, 7, 7, 1, 0]);
    assert!(!conv::conv2d_is_lowered(cyclegan_out), "thin and large");
    let dcgan64_logit = conv2d_geometry([64, 512, 4, 4, 1, 4, 4, 1, 0]);
    assert!(conv::conv2d_is_lowered(dcgan64_logit), "thin and small");
    let huge = conv2d_geometry([1, 512, 128, 128, 64, 3, 3, 1, 1]);
    assert!(
        !conv::conv2d_is_lowered(huge),
        "one sample's cols would need 75M words"
    );
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
