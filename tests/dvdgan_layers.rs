//! DVD-GAN's layers in a net: a spectrally normalised Conv3d, nearest upsampling and a
//! spectrally normalised Linear. The whole net's input and parameter gradients against finite
//! differences of its forward (which recomputes sigma = uᵀ W v from the stored u and v, so the
//! differences see exactly the gradient through sigma with u and v constant), accumulation over
//! two passes, and the GPU against the CPU for the power iteration, forward and backward.

mod common;

use common::*;
use wgpu_gan::exec::CpuProgram;
use wgpu_gan::nn::{Conv3dSpec, Layer, Net, NetActs};
use wgpu_gan::ops::Activation;
use wgpu_gan::program::{Program, View};

const BATCH: usize = 2;
const SPEC: Conv3dSpec = Conv3dSpec {
    c_in: 1,
    c_out: 2,
    t: 2,
    h: 3,
    w: 3,
    kernel: 3,
    stride: 1,
    pad: 1,
};

fn layers() -> Vec<Layer> {
    let up = 4 * SPEC.c_out * SPEC.t * SPEC.h * SPEC.w;
    vec![
        Layer::spectral_norm(Layer::conv3d("conv", SPEC, true)),
        Layer::Act(Activation::Tanh),
        // (C_out, T) planes of H x W, upsampled as 2-D frames.
        Layer::Upsample {
            channels: SPEC.c_out * SPEC.t,
            h: SPEC.h,
            w: SPEC.w,
        },
        Layer::spectral_norm(Layer::linear("fc", up, 3)),
    ]
}

struct Built {
    prog: Program,
    net: Net,
    input: View,
    dout: View,
    out: View,
    dx: Option<View>,
}

/// `power`: a power iteration first; `passes`: backward passes after the forward (the second
/// accumulates).
fn build(power: bool, passes: usize) -> Built {
    let mut prog = Program::new();
    let in_features = SPEC.c_in * SPEC.t * SPEC.h * SPEC.w;
    let net = Net::new(&mut prog, "d", in_features, layers());
    let acts: NetActs = net.acts(&mut prog, BATCH, "t");
    let input = prog.tensor("input", BATCH * in_features);
    let dout = prog.tensor("dout", BATCH * 3);
    if power {
        net.spectral_norm_power(&mut prog).unwrap();
    }
    let out = net.forward(&mut prog, &acts, input, true).unwrap();
    let mut dx = None;
    for k in 0..passes {
        dx = net
            .backward(&mut prog, &acts, input, dout, true, true, k > 0)
            .unwrap();
    }
    Built {
        prog,
        net,
        input,
        dout,
        out,
        dx,
    }
}

/// Params, u and v, the input and the output weights r.
fn values(net: &Net) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let params = rand_vec(net.params.len, 1, -0.5, 0.5);
    let mut state = vec![0.0f32; net.state.len];
    for t in net.tensors.iter().filter(|t| t.name.ends_with(".sn_u")) {
        let u = rand_vec(t.len, t.len as u64, -1.0, 1.0);
        state[t.offset..t.offset + t.len].copy_from_slice(&u);
    }
    let x = rand_vec(BATCH * net.in_features, 3, -1.0, 1.0);
    let r = rand_vec(BATCH * 3, 4, -1.0, 1.0);
    (params, state, x, r)
}

fn inputs(
    b: &Built,
    (params, state, x, r): &(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>),
) -> Vec<(View, Vec<u32>)> {
    vec![
        (b.net.params, bits(params)),
        (b.net.state, bits(state)),
        (b.input, bits(x)),
        (b.dout, bits(r)),
    ]
}

#[test]
fn spectral_norm_layers_backward_matches_finite_differences() {
    let trained = build(true, 1);
    let vals = values(&trained.net);
    let mut cpu = CpuProgram::new(&trained.prog);
    for (v, data) in inputs(&trained, &vals) {
        cpu.write(v, &data);
    }
    cpu.run(&trained.prog);
    let (grads, dx) = (
        cpu.read_f32(trained.net.grads),
        cpu.read_f32(trained.dx.unwrap()),
    );
    // u and v after the iteration, held constant by the forward-only program.
    let state = cpu.read_f32(trained.net.state);
    let fwd = build(false, 0);
    let run = |params: &[f32], x: &[f32]| {
        let ins = [
            (fwd.net.params, bits(params)),
            (fwd.net.state, bits(&state)),
            (fwd.input, bits(x)),
        ];
        floats(&run_cpu(&fwd.prog, &ins, &[fwd.out])[0])
    };
    let (params, _, x, r) = &vals;
    gradcheck("input", |x| run(params, x), x, r, &dx);
    gradcheck("params", |p| run(p, x), params, r, &grads);
}

#[test]
fn spectral_norm_layers_accumulate_over_passes() {
    let (once, twice) = (build(true, 1), build(true, 2));
    let vals = values(&once.net);
    let g1 = floats(&run_cpu(&once.prog, &inputs(&once, &vals), &[once.net.grads])[0]);
    let g2 = floats(&run_cpu(&twice.prog, &inputs(&twice, &vals), &[twice.net.grads])[0]);
    let doubled: Vec<f32> = g1.iter().map(|g| 2.0 * g).collect();
    assert_close("two passes", &g2, &doubled, 1e-6, 1e-5);
}

#[test]
fn spectral_norm_layers_gpu_match_cpu() {
    let b = build(true, 2);
    let vals = values(&b.net);
    let outputs = [
        ("out", b.out),
        ("grads", b.net.grads),
        ("state (u, v)", b.net.state),
        ("dx", b.dx.unwrap()),
    ];
    gpu_matches_cpu(&b.prog, &inputs(&b, &vals), &outputs, 1e-5, 1e-4);
}

#[test]
fn spectral_norm_layers_name_their_u_and_v() {
    let b = build(true, 1);
    let names: Vec<&str> = b.net.tensors.iter().map(|t| t.name.as_str()).collect();
    for name in [
        "conv.weight",
        "conv.bias",
        "conv.weight.sn_u",
        "conv.weight.sn_v",
        "fc.weight.sn_u",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let u = b.net.find("conv.weight.sn_u").unwrap();
    assert_eq!(u.shape, vec![2]);
    assert_eq!(
        b.net.find("conv.weight").unwrap().shape,
        vec![2, 1, 3, 3, 3]
    );
}
