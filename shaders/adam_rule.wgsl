// Adam's parameters, step counters, non-finite flag and update rule, shared by adam.wgsl and
// adam_wide.wgsl (kernels::SHADERS appends this part to both).

// The learning rate is not a parameter: it is entry counters[iteration_slot] % lr_period of the
// table bound at 8, which the host rewrites between submissions (schedules, rollback), so a
// changing rate needs no new pipeline, uniform or bind group.
struct Params {
    n: u32, t_slot: u32, lr_period: u32, iteration_slot: u32,
    beta1: f32, beta2: f32, eps: f32, flag_slot: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(2) var<storage, read> counters: array<u32>;
@group(0) @binding(7) var<storage, read_write> nonfinite: array<f32>;
@group(0) @binding(8) var<storage, read> lrs: array<f32>;

// This iteration's learning rate.
fn learning_rate() -> f32 {
    return lrs[counters[p.iteration_slot] % p.lr_period];
}

// WGSL has no isnan/isinf; |x| <= f32 max is false exactly for NaN and the infinities.
fn all_finite(x: vec4<f32>) -> bool {
    return all(abs(x) <= vec4<f32>(3.4028235e38));
}

// Four weights and their first and second moments.
struct Moments { w: vec4<f32>, m: vec4<f32>, v: vec4<f32> }

// One step of PyTorch's Adam at step count t and learning rate lr.
fn adam_rule(s: Moments, grad: vec4<f32>, t: f32, lr: f32) -> Moments {
    let mi = p.beta1 * s.m + (1.0 - p.beta1) * grad;
    let vi = p.beta2 * s.v + (1.0 - p.beta2) * grad * grad;
    let step_size = lr / (1.0 - pow(p.beta1, t));
    let denom = sqrt(vi) / sqrt(1.0 - pow(p.beta2, t)) + p.eps;
    return Moments(s.w - step_size * mi / denom, mi, vi);
}
