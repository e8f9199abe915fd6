// Adam's update rule, shared by adam.wgsl and adam_wide.wgsl (kernels::SHADERS appends it to
// both); they declare the uniform `p` (lr, beta1, beta2, eps) it reads.

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
