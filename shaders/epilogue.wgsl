// The activation epilogues of the fused products (matmul_tiled.wgsl, matmul_direct.wgsl, matmul_subgroup.wgsl):
// kernels::SHADERS appends this part to both. Each shader declares `p` with a `slope` field
// (leaky_relu's). The formulas are activation.wgsl's, so a fused product writes what the
// product followed by the separate activation op writes.
// Activation codes of the forward (flag bits 4..6) and derivative (bits 8..10) epilogues.
const LEAKY_RELU: u32 = 1u;
const RELU: u32 = 2u;
const TANH: u32 = 3u;
const SIGMOID: u32 = 4u;

fn act_forward(code: u32, x: f32) -> f32 {
    switch code {
        case 1u: { return select(p.slope * x, x, x > 0.0); }
        case 2u: { return max(x, 0.0); }
        case 3u: { return tanh(x); }
        default: { return 1.0 / (1.0 + exp(-x)); }
    }
}

// The activation.wgsl backward formulas, with s the saved value and d the incoming gradient.
fn act_backward(code: u32, s: f32, d: f32) -> f32 {
    switch code {
        case 1u: { return select(p.slope, 1.0, s > 0.0) * d; }
        case 2u: { return select(0.0, d, s > 0.0); }
        case 3u: { return (1.0 - s * s) * d; }
        default: { return s * (1.0 - s) * d; }
    }
}

fn act_forward4(code: u32, x: vec4<f32>) -> vec4<f32> {
    return vec4(
        act_forward(code, x.x),
        act_forward(code, x.y),
        act_forward(code, x.z),
        act_forward(code, x.w),
    );
}

fn act_backward4(code: u32, s: vec4<f32>, d: vec4<f32>) -> vec4<f32> {
    return vec4(
        act_backward(code, s.x, d.x),
        act_backward(code, s.y, d.y),
        act_backward(code, s.z, d.z),
        act_backward(code, s.w, d.w),
    );
}
