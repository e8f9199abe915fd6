//! The CPU executor's fused conv steps (`exec::cpu_conv`): a lowered conv's forward and input
//! gradient run a block of samples at a time, and give the recorded ops' results bit for bit.

mod common;
mod conv_cases;

use common::*;
use conv_cases::*;
use wgpu_gan::cpu::conv3d::Conv3dGeometry;
use wgpu_gan::exec::cpu_conv::StepKind;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::ops::{self, conv};
use wgpu_gan::program::{Program, View};

/// Runs `prog` fused and as recorded; asserts `outputs` agree bit for bit; returns the kinds of
/// the steps fused.
fn fused_matches_recorded(
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    outputs: &[View],
    what: &str,
) -> Vec<StepKind> {
    let run = |mut cpu: CpuProgram| {
        for (v, data) in inputs {
            cpu.write(*v, data);
        }
        cpu.run(prog);
        let kinds = cpu.conv_steps().iter().map(|s| s.kind).collect::<Vec<_>>();
        (
            outputs.iter().map(|v| cpu.read(*v)).collect::<Vec<_>>(),
            kinds,
        )
    };
    let (fused, kinds) = run(CpuProgram::new(prog));
    let (recorded, none) = run(CpuProgram::unfused(prog));
    assert!(none.is_empty());
    assert_eq!(
        fused, recorded,
        "{what}: fused differs from the recorded ops"
    );
    kinds
}

/// Forward (with and without bias) and input gradient, conv2d and conv_transpose2d, on the
/// test shapes, the DCGAN's, and batches that leave a shorter last block (9 samples of 7x7).
#[test]
fn fused_conv_steps_match_the_recorded_ops_bit_for_bit() {
    let blocks: [Dims; 2] = [[9, 8, 7, 7, 16, 3, 3, 1, 1], [9, 16, 7, 7, 8, 4, 4, 2, 1]];
    let shapes = SHAPES.iter().chain(D_SHAPES).chain(G_SHAPES).chain(&blocks);
    let (mut kinds, mut cases) = (Vec::new(), 0);
    for &d in shapes {
        for transposed in [false, true] {
            for (entry, extra) in [
                (Entry::Forward, false),
                (Entry::Forward, true),
                (Entry::InputGrad, false),
            ] {
                let case = record(Path::Lowered, transposed, entry, d, extra);
                let what = describe(Path::Lowered, transposed, entry, d, extra);
                let inputs = random_inputs(&case);
                cases += 1;
                kinds.extend(fused_matches_recorded(
                    &case.prog,
                    &inputs,
                    &[case.out],
                    &what,
                ));
            }
        }
    }
    // conv2d's forward and conv_transpose2d's input gradient are forward steps; the others
    // input-gradient steps. Every case forms at least one.
    assert!(kinds.contains(&StepKind::Forward));
    assert!(kinds.contains(&StepKind::InputGrad));
    assert!(
        kinds.len() >= cases,
        "{} steps in {cases} cases",
        kinds.len()
    );
}

/// The weight gradient as a step (straight from x with AVX-512, else a block of samples at a
/// time, each block's columns a multiple of the GEMM's k block of 256): conv2d and
/// conv_transpose2d, accumulating or not, batches that leave a shorter last block, 16x16 maps
/// (one sample is 256 columns) and 8x8 ones (blocks of 4 samples and more); with AVX-512 also
/// the direct weight gradient on DCGAN's, more than one panel of output channels, 1x1 kernels,
/// stride 3 and the test shapes.
#[test]
fn fused_weight_grad_steps_match_the_recorded_ops_bit_for_bit() {
    let mut shapes: Vec<Dims> = vec![
        [24, 16, 16, 16, 16, 3, 3, 1, 1],
        [150, 8, 8, 8, 8, 3, 3, 1, 1],
        [21, 8, 32, 32, 4, 4, 4, 2, 1],
    ];
    if wgpu_gan::cpu::gemm::avx512() {
        // Straight from x (`cpu::conv_direct`), batches of at least 2,048 columns (and so no
        // blocks): DCGAN's, 50 output channels (two panels), 1x1, stride 3, the test shapes.
        let extra = [
            [1, 64, 14, 14, 128, 4, 4, 2, 1],
            [1, 9, 9, 11, 50, 3, 3, 1, 1],
            [1, 24, 8, 8, 20, 1, 1, 1, 0],
            [1, 5, 11, 10, 12, 3, 3, 3, 2],
        ];
        shapes.extend(
            extra
                .into_iter()
                .chain(SHAPES.iter().chain(D_SHAPES).copied()),
        );
    }
    for (i, d) in shapes.iter().enumerate() {
        for transposed in [false, true] {
            let mut d = *d;
            if i >= 3 {
                // The columns: output pixels of the conv, or input pixels of the transposed.
                let [_, _, h, w, _, kh, kw, s, p] = d;
                let conv = ((h + 2 * p - kh) / s + 1) * ((w + 2 * p - kw) / s + 1);
                d[0] = 2048usize.div_ceil(if transposed { h * w } else { conv });
            }
            for accumulate in [false, true] {
                let case = record(Path::Lowered, transposed, Entry::WeightGrad, d, accumulate);
                let what = describe(Path::Lowered, transposed, Entry::WeightGrad, d, accumulate);
                let inputs = random_inputs(&case);
                let kinds = fused_matches_recorded(&case.prog, &inputs, &[case.w], &what);
                assert_eq!(kinds, [StepKind::WeightGrad], "{what}");
            }
        }
    }
    // conv3d's (DVD-GAN's temporal discriminator): 4 x 16 x 16 outputs, 1,024 columns a sample.
    let g = Conv3dGeometry {
        n: 6,
        c_in: 16,
        t: 8,
        h: 32,
        w: 32,
        c_out: 8,
        k: 3,
        stride: 2,
        pad: 1,
    };
    let mut prog = Program::new();
    let (x, w) = (prog.tensor("x", g.x_len()), prog.tensor("w", g.w_len()));
    let dy = prog.tensor("dy", g.y_len());
    ops::conv3d::conv3d_weight_grad(&mut prog, g, x, dy, w, 0, "conv3d").unwrap();
    let inputs: Vec<_> = [x, dy, w]
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, bits(&rand_vec(v.len, 50 + i as u64, -1.0, 1.0))))
        .collect();
    let kinds = fused_matches_recorded(&prog, &inputs, &[w], "conv3d weight grad");
    assert_eq!(kinds, [StepKind::WeightGrad]);
}

/// A conv_transpose2d's backward, weight gradient then input gradient, shares one im2col of dy
/// (the second builder drops its own): both become steps, each making its own cols or none,
/// with the recorded results (DCGAN's generator layer, a small one, and one whose weight
/// gradient runs in blocks, as without AVX-512).
#[test]
fn a_transposed_convs_backward_forms_two_steps_on_one_im2col() {
    for (d, bias) in [
        [48, 128, 7, 7, 64, 4, 4, 2, 1],
        [90, 6, 5, 5, 4, 3, 3, 2, 1],
        // Blocks of 32 samples: its weight-gradient step forms without AVX-512 too.
        [48, 8, 4, 4, 64, 4, 4, 2, 1],
    ]
    .into_iter()
    // With a bias, its gradient is recorded between the two products (DCGAN's g.up2).
    .flat_map(|d| [(d, false), (d, true)])
    {
        let t = transposed_geometry(d);
        let mut prog = Program::new();
        let (x, w) = (prog.tensor("x", t.x_len()), prog.tensor("w", t.w_len()));
        let (dx, dw) = (prog.tensor("dx", t.x_len()), prog.tensor("dw", t.w_len()));
        let dy = prog.tensor("dy", t.y_len());
        let db = prog.tensor("db", conv2d_geometry(d).c_out);
        conv::conv_transpose2d_weight_grad(&mut prog, t, x, dy, dw, 0, "up").unwrap();
        if bias {
            conv::conv_transpose2d_bias_grad(&mut prog, t, dy, db, 0, "up").unwrap();
        }
        conv::conv_transpose2d_input_grad(&mut prog, t, dy, w, dx, "up").unwrap();
        let im2cols = prog.ops.iter().filter(|op| op.kernel.entry() == "im2col");
        assert_eq!(
            im2cols.count(),
            1,
            "{d:?}: the input gradient's im2col is dropped"
        );
        let inputs: Vec<_> = [x, w, dy]
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, bits(&rand_vec(v.len, 60 + i as u64, -1.0, 1.0))))
            .collect();
        let kinds = fused_matches_recorded(&prog, &inputs, &[dx, dw, db], "transposed backward");
        // The first two run their weight gradient straight from x (AVX-512, 2,048 columns and
        // more), the last in blocks.
        if wgpu_gan::cpu::gemm::avx512() || d[0] == 48 && d[2] == 4 {
            assert_eq!(
                kinds,
                [StepKind::WeightGrad, StepKind::Forward],
                "{d:?} bias {bias}"
            );
        } else {
            continue;
        }
        // Run in two ranges that cut the second step: the first may not skip the cols the
        // second's ops, run as recorded, then read.
        let run = |mut cpu: CpuProgram, cut: Option<usize>| {
            for (v, data) in &inputs {
                cpu.write(*v, data);
            }
            let end = prog.ops.len();
            let cut = cut.unwrap_or(end);
            cpu.run_range(&prog, 0..cut);
            cpu.run_range(&prog, cut..end);
            [cpu.read(dx), cpu.read(dw), cpu.read(db)]
        };
        let second = CpuProgram::new(&prog).conv_steps()[1].first;
        let cut = run(CpuProgram::new(&prog), Some(second + 1));
        assert!(
            cut == run(CpuProgram::unfused(&prog), None),
            "{d:?}: cut ranges"
        );
    }
}

/// Two forwards of the same x (the ConvGRU's r and u gates) share one im2col: both become
/// steps, with the recorded results.
#[test]
fn two_forwards_on_one_im2col_form_two_steps() {
    let d = [16, 32, 4, 4, 16, 3, 3, 1, 1];
    let g = conv2d_geometry(d);
    let mut prog = Program::new();
    let (x, w1, w2) = (
        prog.tensor("x", g.x_len()),
        prog.tensor("w1", g.w_len()),
        prog.tensor("w2", g.w_len()),
    );
    let (y1, y2) = (prog.tensor("y1", g.y_len()), prog.tensor("y2", g.y_len()));
    conv::conv2d_forward(&mut prog, g, x, w1, None, y1, "r").unwrap();
    conv::conv2d_forward(&mut prog, g, x, w2, None, y2, "u").unwrap();
    let im2cols = prog.ops.iter().filter(|op| op.kernel.entry() == "im2col");
    assert_eq!(im2cols.count(), 1, "the second im2col is dropped");
    let inputs: Vec<_> = [x, w1, w2]
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, bits(&rand_vec(v.len, 70 + i as u64, -1.0, 1.0))))
        .collect();
    let kinds = fused_matches_recorded(&prog, &inputs, &[y1, y2], "two forwards");
    assert_eq!(kinds, [StepKind::Forward, StepKind::Forward]);
}

/// A forward followed by the weight gradient of the same x reads the forward's cols (the
/// builders drop the second im2col): the forward is not fused, and the results still agree.
#[test]
fn a_step_is_not_fused_where_its_scratch_is_read_later() {
    let d = [4, 3, 8, 8, 5, 3, 3, 1, 1];
    let g = conv2d_geometry(d);
    let mut prog = Program::new();
    let (x, w) = (prog.tensor("x", g.x_len()), prog.tensor("w", g.w_len()));
    let (y, dw) = (prog.tensor("y", g.y_len()), prog.tensor("dw", g.w_len()));
    let dy = prog.tensor("dy", g.y_len());
    conv::conv2d_forward(&mut prog, g, x, w, None, y, "conv").unwrap();
    conv::conv2d_weight_grad(&mut prog, g, x, dy, dw, 0, "conv").unwrap();
    let im2cols = prog.ops.iter().filter(|op| op.kernel.entry() == "im2col");
    assert_eq!(im2cols.count(), 1, "the second im2col is dropped");
    let inputs = [
        (x, bits(&rand_vec(x.len, 1, -1.0, 1.0))),
        (w, bits(&rand_vec(w.len, 2, -1.0, 1.0))),
        (dy, bits(&rand_vec(dy.len, 3, -1.0, 1.0))),
    ];
    let kinds = fused_matches_recorded(&prog, &inputs, &[y, dw], "forward + weight grad");
    assert!(kinds.is_empty(), "{kinds:?}");

    // Without the weight gradient the forward is fused.
    let mut prog = Program::new();
    let (x, w) = (prog.tensor("x", g.x_len()), prog.tensor("w", g.w_len()));
    let y = prog.tensor("y", g.y_len());
    conv::conv2d_forward(&mut prog, g, x, w, None, y, "conv").unwrap();
    let inputs = &inputs[..2];
    let inputs = [(x, inputs[0].1.clone()), (w, inputs[1].1.clone())];
    let kinds = fused_matches_recorded(&prog, &inputs, &[y], "forward");
    assert_eq!(kinds, [StepKind::Forward]);
}

/// conv3d's forward (with and without bias) and input gradient, fused as conv2d's are: DVD-GAN's
/// temporal discriminator shapes and a batch that leaves a shorter last block.
#[test]
fn fused_conv3d_steps_match_the_recorded_ops_bit_for_bit() {
    let shapes = [
        Conv3dGeometry {
            n: 2,
            c_in: 3,
            t: 4,
            h: 6,
            w: 5,
            c_out: 4,
            k: 3,
            stride: 1,
            pad: 1,
        },
        Conv3dGeometry {
            n: 5,
            c_in: 2,
            t: 8,
            h: 8,
            w: 8,
            c_out: 3,
            k: 4,
            stride: 2,
            pad: 1,
        },
        Conv3dGeometry {
            n: 9,
            c_in: 4,
            t: 2,
            h: 3,
            w: 3,
            c_out: 8,
            k: 3,
            stride: 1,
            pad: 1,
        },
    ];
    for g in shapes {
        for (what, bias, backward) in [
            ("fwd", false, false),
            ("fwd+b", true, false),
            ("dx", false, true),
        ] {
            let mut prog = Program::new();
            let (x, w) = (prog.tensor("x", g.x_len()), prog.tensor("w", g.w_len()));
            let (y, b) = (prog.tensor("y", g.y_len()), prog.tensor("b", g.c_out));
            if backward {
                ops::conv3d::conv3d_input_grad(&mut prog, g, y, w, x, "conv3d").unwrap();
            } else {
                let bias = bias.then_some(b);
                ops::conv3d::conv3d_forward(&mut prog, g, (x, w, bias), y, "conv3d").unwrap();
            }
            let out = if backward { x } else { y };
            let inputs: Vec<_> = [x, w, y, b]
                .iter()
                .enumerate()
                .map(|(i, v)| (*v, bits(&rand_vec(v.len, 40 + i as u64, -1.0, 1.0))))
                .collect();
            let what = format!("conv3d {what} {g:?}");
            let kinds = fused_matches_recorded(&prog, &inputs, &[out], &what);
            let want = if backward {
                StepKind::InputGrad
            } else {
                StepKind::Forward
            };
            assert_eq!(kinds, [want], "{what}");
        }
    }
}

/// Blocks whose reshapes and products run on the pool themselves, from several threads at once
/// (as concurrent tests do): a pool thread waiting inside one block may start another block,
/// which needs its own scratch. With one scratch slot per thread held across the wait this
/// panicked with "RefCell already borrowed" (tests/eval.rs failed about one run in three).
#[test]
fn nested_blocks_of_a_step_each_get_their_own_scratch() {
    let d = [32, 16, 16, 16, 32, 3, 3, 1, 1];
    std::thread::scope(|scope| {
        for caller in 0..4 {
            scope.spawn(move || {
                let transposed = caller % 2 == 1;
                let case = record(Path::Lowered, transposed, Entry::Forward, d, true);
                let inputs = random_inputs(&case);
                for round in 0..12 {
                    let what = format!("caller {caller}, round {round}");
                    fused_matches_recorded(&case.prog, &inputs, &[case.out], &what);
                }
            });
        }
    });
}
