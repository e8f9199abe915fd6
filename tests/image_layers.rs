//! The image-to-image layers inside nets (PReLU, PixelShuffle, InstanceNorm, ReflectPad,
//! AvgPool, ConvTranspose2d with output_padding, with Tap/Add residuals): the whole parameter
//! and input gradient of a net built from them against finite differences on the CPU path, and
//! forward plus backward GPU == CPU. Frozen nets record no PReLU slope gradient.

mod common;

use common::*;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::nn::{ConvSpec, Layer, Net};
use wgpu_gan::ops::Activation;
use wgpu_gan::program::{Program, View};

const BATCH: usize = 2;

fn conv(
    c_in: usize,
    c_out: usize,
    side: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
) -> ConvSpec {
    ConvSpec {
        c_in,
        c_out,
        h: side,
        w: side,
        kernel,
        stride,
        pad,
    }
}

/// 2x6x6 in: pad, conv, IN, PReLU, a residual block, pool, a transposed conv up with
/// output_padding, pixel shuffle down the channels and up the side, tanh: 1x12x12 out.
fn layers() -> Vec<Layer> {
    vec![
        Layer::reflect_pad(2, (6, 6), 2),
        Layer::conv2d("c0", conv(2, 3, 10, 5, 1, 0), true),
        Layer::instance_norm(3, 36),
        Layer::prelu("p0", 3, 36),
        Layer::Tap("block".into()),
        Layer::reflect_pad(3, (6, 6), 1),
        Layer::conv2d("c1", conv(3, 3, 8, 3, 1, 0), false),
        Layer::instance_norm(3, 36),
        Layer::Add("block".into()),
        Layer::avg_pool2d(3, (6, 6), 2),
        Layer::conv_transpose2d_padded("up", conv(3, 4, 3, 3, 2, 1), 1, true),
        Layer::prelu("p1", 4, 36),
        Layer::pixel_shuffle(1, (6, 6), 2),
        Layer::Act(Activation::Tanh),
    ]
}

struct Case {
    prog: Program,
    net: Net,
    x: View,
    dout: View,
    out: View,
    dx: View,
}

fn case(param_grads: bool) -> Case {
    case_of(layers(), param_grads)
}

fn case_of(layers: Vec<Layer>, param_grads: bool) -> Case {
    let mut prog = Program::new();
    let net = Net::new(&mut prog, "n", 72, layers);
    let o = net.out_features();
    assert_eq!(o, 144);
    let acts = net.acts(&mut prog, BATCH, "t");
    let x = prog.tensor("x", BATCH * 72);
    let dout = prog.tensor("dout", BATCH * o);
    let out = net.forward(&mut prog, &acts, x, true).unwrap();
    let dx = net
        .backward(&mut prog, &acts, x, dout, param_grads, true, false)
        .unwrap()
        .unwrap();
    Case {
        prog,
        net,
        x,
        dout,
        out,
        dx,
    }
}

/// Random weights; the PReLU slopes (the 1-D weights) `slope`, or drawn as SRGAN's when None.
fn params(net: &Net, slope: Option<f32>) -> Vec<f32> {
    let mut p = rand_vec(net.params.len, 50, -0.4, 0.4);
    for t in net
        .tensors
        .iter()
        .filter(|t| t.shape.len() == 1 && t.name.ends_with("weight"))
    {
        let slopes = match slope {
            Some(a) => vec![a; t.len],
            None => rand_vec(t.len, 51, 0.1, 0.4),
        };
        p[t.offset..t.offset + t.len].copy_from_slice(&slopes);
    }
    p
}

fn inputs(c: &Case, params: &[f32]) -> Vec<(View, Vec<u32>)> {
    vec![
        (c.net.params, bits(params)),
        (c.x, bits(&rand_vec(c.x.len, 52, -1.0, 1.0))),
        (c.dout, bits(&rand_vec(c.dout.len, 53, -1.0, 1.0))),
    ]
}

#[test]
/// With every slope at 1, so that the function is smooth: instance norm puts many values within
/// a finite-difference step of PReLU's kink, where the difference quotient is meaningless. The
/// slope gradient Σ min(0, x)·dy does not depend on the slope, and the x <= 0 branch of PReLU's
/// input gradient is checked with other slopes in tests/prelu.rs.
fn image_layers_gradient_matches_finite_differences() {
    let c = case(true);
    let p0 = params(&c.net, Some(1.0));
    let ins = inputs(&c, &p0);
    let r = floats(&ins[2].1);
    let mut cpu = CpuProgram::new(&c.prog);
    for (v, d) in &ins {
        cpu.write(*v, d);
    }
    cpu.run(&c.prog);
    let (grads, dx) = (floats(&cpu.read(c.net.grads)), floats(&cpu.read(c.dx)));
    let forward = |view: View, data: &[f32]| {
        let mut i = ins.clone();
        i.retain(|(v, _)| *v != view);
        i.push((view, bits(data)));
        floats(&run_cpu(&c.prog, &i, &[c.out])[0])
    };
    for t in &c.net.tensors {
        let range = t.offset..t.offset + t.len;
        let f = |sub: &[f32]| {
            let mut p = p0.clone();
            p[range.clone()].copy_from_slice(sub);
            forward(c.net.params, &p)
        };
        gradcheck(&t.name, f, &p0[range.clone()], &r, &grads[range.clone()]);
    }
    let x0 = floats(&ins[1].1);
    gradcheck("input", |x| forward(c.x, x), &x0, &r, &dx);
}

#[test]
fn image_layers_forward_and_backward_gpu_matches_cpu() {
    let c = case(true);
    let ins = inputs(&c, &params(&c.net, None));
    let outs = [("out", c.out), ("dx", c.dx), ("grads", c.net.grads)];
    gpu_matches_cpu(&c.prog, &ins, &outs, 1e-5, 1e-4);
}

#[test]
fn a_frozen_net_records_no_slope_gradient() {
    let c = case(false);
    assert!(c.prog.ops.iter().all(|op| !op.label.contains("slope grad")));
    assert!(case(true)
        .prog
        .ops
        .iter()
        .any(|op| op.label.contains("slope grad")));
}
