// Adam's parameters, step counters, non-finite flag and update rule, shared by adam.wgsl and
// adam_wide.wgsl (kernels::SHADERS appends this part to both).

struct Params { n: u32, t_slot: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, flag_slot: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> counters: array<u32>;
@group(0) @binding(7) var<storage, read_write> nonfinite: array<f32>;

// WGSL has no isnan/isinf; |x| <= f32 max is false exactly for NaN and the infinities.
fn all_finite(x: vec4<f32>) -> bool {
    return all(abs(x) <= vec4<f32>(3.4028235e38));
}

// Four weights and their first and second moments.
struct Moments { w: vec4<f32>, m: vec4<f32>, v: vec4<f32> }

// One step of PyTorch's Adam at step count t.
fn adam_rule(s: Moments, grad: vec4<f32>, t: f32) -> Moments {
    let mi = p.beta1 * s.m + (1.0 - p.beta1) * grad;
    let vi = p.beta2 * s.v + (1.0 - p.beta2) * grad * grad;
    let step_size = p.lr / (1.0 - pow(p.beta1, t));
    let denom = sqrt(vi) / sqrt(1.0 - pow(p.beta2, t)) + p.eps;
    return Moments(s.w - step_size * mi / denom, mi, vi);
}
