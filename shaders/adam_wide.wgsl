// adam.wgsl's adam_step over eight elements per invocation, every array read and written as
// vec4<u64> (wide.wgsl), for devices with SHADER_INT64; gpu::variants swaps it in for arenas
// whose length is a multiple of 8. Same bindings, parameters, CPU twin and rule (adam_rule.wgsl).
//   adam_step_wide  grads(1) counters(2) lrs(8) -> params(3) m(4) v(5) nonfinite(7)

// Params, p, counters(2), nonfinite(7), lrs(8), learning_rate, all_finite, Moments and adam_rule
// are appended from adam_rule.wgsl; Row8, pack8 and unpack8 from wide.wgsl.

@group(0) @binding(1) var<storage, read> grads: array<vec4<u64>>;
@group(0) @binding(3) var<storage, read_write> params: array<vec4<u64>>;
@group(0) @binding(4) var<storage, read_write> m: array<vec4<u64>>;
@group(0) @binding(5) var<storage, read_write> v: array<vec4<u64>>;

@compute @workgroup_size(64)
fn adam_step_wide(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n / 8u { return; }
    let t = f32(counters[p.t_slot]);
    let grad = unpack8(grads[i]);
    if !(all_finite(grad[0]) && all_finite(grad[1])) {
        nonfinite[p.flag_slot] = 1.0;
    }
    let w = unpack8(params[i]);
    let mi = unpack8(m[i]);
    let vi = unpack8(v[i]);
    let lr = learning_rate();
    let lo = adam_rule(Moments(w[0], mi[0], vi[0]), grad[0], t, lr);
    let hi = adam_rule(Moments(w[1], mi[1], vi[1]), grad[1], t, lr);
    m[i] = pack8(Row8(lo.m, hi.m));
    v[i] = pack8(Row8(lo.v, hi.v));
    params[i] = pack8(Row8(lo.w, hi.w));
}
