// The part conv2d.wgsl and conv_transpose2d.wgsl share (kernels::SHADERS appends it to both):
// their parameters, bindings and tap arithmetic. Assumes lengths match the params (checked on
// the host by ops::conv).

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, h_out: u32, w_out: u32,
    kh: u32, kw: u32, stride: u32, pad: u32, flags: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> in_a: array<f32>;
@group(0) @binding(2) var<storage, read> in_b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const HAS_BIAS: u32 = 1u;
const ACCUMULATE: u32 = 2u;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

// Taps k in [lo, hi) that put o0 + k inside 0..size, where o0 = o * stride - pad.
fn taps(o0: i32, k: u32, size: u32) -> vec2<u32> {
    return vec2<u32>(u32(max(-o0, 0)), u32(clamp(i32(size) - o0, 0, i32(k))));
}

// Positions o in [lo, hi) (of `count`) whose tap k lands inside 0..size:
// 0 <= o * stride + k - pad < size.
fn reach(k: u32, size: u32, count: u32) -> vec2<u32> {
    var lo = 0u;
    if k < p.pad {
        lo = (p.pad - k + p.stride - 1u) / p.stride;
    }
    var hi = 0u;
    if size + p.pad > k {
        hi = min((size + p.pad - k - 1u) / p.stride + 1u, count);
    }
    return vec2<u32>(lo, hi);
}
