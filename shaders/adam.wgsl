// Adam over one flat parameter buffer (every tensor of a network; padding between tensors has
// zero gradients and stays zero), and the step counters it reads.
//   adam_step          grads(1) counters(2) lrs(8) -> params(3) m(4) v(5) nonfinite(7)
//     nonfinite[flag_slot] is set to 1 when any gradient is NaN or infinite (every writer
//     stores the same value, so the result does not depend on order).
//   counter_increment  counters(6)[slot] += 1
//   ema_update         grads(1) counters(2) -> m(4): an exponential moving average of the
//     values bound at 1 (a generator's weights, for sampling), Adam's first-moment update with
//     beta = min(beta1, (1 + t) / (10 + t)) (TensorFlow's ExponentialMovingAverage warm-up).
// Semantics: torch.optim.Adam without weight decay, PyTorch's formula:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),  t = counters[t_slot]
// The step counter lives on the GPU so several iterations can be recorded without the host.
// One invocation per 4 elements (vec4 loads); n is a multiple of 4 (arenas are 64-aligned).
// adam_wide.wgsl has the same step over eight elements per invocation (gpu::variants).

// Params, p, counters(2), nonfinite(7), lrs(8), learning_rate, all_finite, Moments and adam_rule
// are appended from
// adam_rule.wgsl.

@group(0) @binding(1) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> params: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> counters_rw: array<u32>;

@compute @workgroup_size(64)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n / 4u { return; }
    let t = f32(counters[p.t_slot]);
    let grad = grads[i];
    if !all_finite(grad) {
        nonfinite[p.flag_slot] = 1.0;
    }
    let s = adam_rule(Moments(params[i], m[i], v[i]), grad, t, learning_rate());
    m[i] = s.m;
    v[i] = s.v;
    params[i] = s.w;
}

@compute @workgroup_size(64)
fn ema_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n / 4u { return; }
    let t = f32(counters[p.t_slot]);
    let beta = min(p.beta1, (1.0 + t) / (10.0 + t));
    m[i] = beta * m[i] + (1.0 - beta) * grads[i];
}

// Params.n is the slot to increment here.
@compute @workgroup_size(1)
fn counter_increment() {
    counters_rw[p.n] += 1u;
}
