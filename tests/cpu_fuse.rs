//! The CPU executor's product steps (`exec::cpu_fuse`): a product and the activation after it
//! run as one, the bias and the activation applied to each block of out by the thread that
//! computed it, and give the recorded ops' results bit for bit.

mod common;

use common::*;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::ops::{self, Activation, Transpose};
use wgpu_gan::program::{Program, View};

/// Runs `prog` fused and as recorded; asserts `outputs` agree bit for bit; returns how many
/// product steps were fused.
fn fused_matches_recorded(
    prog: &Program,
    inputs: &[(View, Vec<u32>)],
    outputs: &[View],
    what: &str,
) -> usize {
    let run = |mut cpu: CpuProgram| {
        for (v, data) in inputs {
            cpu.write(*v, data);
        }
        cpu.run(prog);
        let steps = cpu.product_steps().len();
        (
            outputs.iter().map(|v| cpu.read(*v)).collect::<Vec<_>>(),
            steps,
        )
    };
    let (fused, steps) = run(CpuProgram::new(prog));
    let (recorded, none) = run(CpuProgram::unfused(prog));
    assert_eq!(none, 0);
    assert_eq!(
        fused, recorded,
        "{what}: fused differs from the recorded ops"
    );
    steps
}

const ACTS: [Activation; 4] = [
    Activation::LeakyRelu(0.2),
    Activation::Relu,
    Activation::Tanh,
    Activation::Sigmoid,
];

/// A dense layer's forward (product with or without bias, then the activation) and the
/// backward of the layer below (the input gradient's product, then the activation's
/// derivative), for every activation and product form, on shapes that run in one piece and in
/// one per thread, cut along rows and along columns (the seed MLP's 32 x 1024 x 512 among them).
#[test]
fn fused_product_steps_match_the_recorded_ops_bit_for_bit() {
    let shapes = [(3, 5, 7), (32, 1024, 512), (300, 70, 130), (1, 200, 9000)];
    let forms = [Transpose::None, Transpose::A, Transpose::B];
    let mut cases = 0;
    for (m, n, k) in shapes {
        for t in forms {
            for act in ACTS {
                for (bias, backward) in [(true, false), (false, false), (false, true)] {
                    let mut prog = Program::new();
                    let a = prog.tensor("a", m * k);
                    let b = prog.tensor("b", k * n);
                    let bias_v = prog.tensor("bias", n);
                    let out = prog.tensor("out", m * n);
                    let saved = prog.tensor("saved", m * n);
                    let y = prog.tensor("y", m * n);
                    let what = format!("{t:?} {m}x{n}x{k} {act:?} bias {bias} backward {backward}");
                    let bias_arg = bias.then_some(bias_v);
                    ops::matmul(&mut prog, t, a, b, bias_arg, out, (m, n, k), 0, &what).unwrap();
                    if backward {
                        ops::activation_backward(&mut prog, act, saved, out, y, &what).unwrap();
                    } else {
                        ops::activation_forward(&mut prog, act, out, y, &what).unwrap();
                    }
                    let inputs = [
                        (a, bits(&rand_vec(m * k, 1, -1.0, 1.0))),
                        (b, bits(&rand_vec(k * n, 2, -1.0, 1.0))),
                        (bias_v, bits(&rand_vec(n, 3, -1.0, 1.0))),
                        (saved, bits(&rand_vec(m * n, 4, -1.0, 1.0))),
                    ];
                    let steps = fused_matches_recorded(&prog, &inputs, &[out, y], &what);
                    assert_eq!(steps, 1, "{what}: the pair was not fused");
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 4 * 3 * 4 * 3);
}

/// A pair is left as recorded where fusing could change what an op reads: the activation
/// writing into an operand of the product, or reading only part of its out.
#[test]
fn a_pair_is_not_fused_where_the_activation_touches_the_products_operands() {
    let (m, n, k) = (64, 256, 128);
    let act = Activation::LeakyRelu(0.2);
    // (a, out, y) -> (the activation's input, its output)
    type Views = fn(View, View, View) -> (View, View);
    let cases: [(&str, Views); 3] = [
        // y = lrelu(out) written over a: the product's other pieces still read a.
        ("into a", |a, out, _| (out, View { len: out.len, ..a })),
        // The activation reads half of out.
        ("half of out", |_, out, y| {
            let half = View {
                len: out.len / 2,
                ..out
            };
            (
                half,
                View {
                    len: out.len / 2,
                    ..y
                },
            )
        }),
        // In place: y is out.
        ("in place", |_, out, _| (out, out)),
    ];
    for (what, views) in cases {
        let mut prog = Program::new();
        // a is large enough to hold y, so that writing y into a is a valid program.
        let a = prog.tensor("a", (m * k).max(m * n));
        let b = prog.tensor("b", k * n);
        let out = prog.tensor("out", m * n);
        let y = prog.tensor("y", m * n);
        let a_used = View { len: m * k, ..a };
        ops::matmul(
            &mut prog,
            Transpose::None,
            a_used,
            b,
            None,
            out,
            (m, n, k),
            0,
            what,
        )
        .unwrap();
        let (x, dest) = views(a, out, y);
        ops::activation_forward(&mut prog, act, x, dest, what).unwrap();
        let inputs = [
            (a, bits(&rand_vec(a.len, 1, -1.0, 1.0))),
            (b, bits(&rand_vec(k * n, 2, -1.0, 1.0))),
        ];
        let steps = fused_matches_recorded(&prog, &inputs, &[a, out, y], what);
        assert_eq!(steps, 0, "{what}: fused");
    }
}

/// The seed MLP's whole training program fuses its dense layers: every LeakyReLU and tanh
/// forward after a product, and the LeakyReLU backwards after the input gradients.
#[test]
fn the_seed_mlp_fuses_its_dense_layers() {
    let cfg = wgpu_gan::train::ModelKind::Mlp;
    let family = wgpu_gan::train::families::family(cfg);
    let cfg = family.defaults();
    let gan = family.program(&cfg, 1000, 784).unwrap();
    let cpu = CpuProgram::new(&gan.prog);
    let ops = &gan.prog.ops;
    let steps = cpu.product_steps();
    let in_iteration = steps
        .iter()
        .filter(|s| gan.iteration.contains(&s.first))
        .count();
    // G: 3 LeakyReLU + tanh per forward, 3 forwards (predict, 2 G steps); D: 2 LeakyReLU per
    // forward, 4 forwards; D's 2 LeakyReLU backwards in each of its 4 backward passes.
    let lrelu = |s: &&wgpu_gan::exec::cpu_fuse::ProductStep| {
        ops[s.first + 1].kernel.entry().starts_with("leaky_relu")
    };
    assert!(in_iteration >= 3 * 4 + 4 * 2, "{in_iteration} steps");
    assert!(steps.iter().filter(lrelu).count() >= 3 * 3 + 4 * 2);
}
