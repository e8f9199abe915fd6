// PReLU over x laid out (N, C, HW) row-major (HW = H*W for NCHW, 1 for (N, C)): one learnable
// slope per channel, slope (C).
//   prelu_forward     x(1) slope(2) -> y(3)    y = max(0, x) + slope_c min(0, x)
//                     torch: nn.PReLU(C) (F.prelu(x, weight))
//   prelu_backward    x(1) slope(2) dy(3) -> dx(4)    dx = dy where x > 0, else slope_c dy
//   prelu_slope_grad  x(1) dy(3) -> grad_slope(5)     grad_slope_c (+)= sum of dy min(0, x)
//                     over the channel's (b, s)
// Strategy: forward and input grad are one invocation per element (64 to a workgroup, the grid
// split over y past 65,535 groups); the slope grad is one workgroup of 256 per channel adding
// in a fixed order (cpu::reduce; deterministic, no atomics, and few loop iterations per
// invocation: lavapipe's llvmpipe silently ends an invocation's loops after 65,535 iterations
// in all). flags: 1 = accumulate into grad_slope.
// Assumes lengths match the params (checked on the host by ops::prelu).

struct Params { n: u32, c: u32, hw: u32, flags: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> slope: array<f32>;
@group(0) @binding(3) var<storage, read_write> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad_slope: array<f32>;

const ACCUMULATE: u32 = 1u;
const WG: u32 = 256u;
var<workgroup> part: array<f32, 256>;

fn linear_index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

@compute @workgroup_size(64)
fn prelu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n * p.c * p.hw { return; }
    let v = x[i];
    let a = slope[(i / p.hw) % p.c];
    b3[i] = max(v, 0.0) + a * min(v, 0.0);
}

// b3 holds dy.
@compute @workgroup_size(64)
fn prelu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = linear_index(gid, g);
    if i >= p.n * p.c * p.hw { return; }
    let a = slope[(i / p.hw) % p.c];
    dx[i] = select(a * b3[i], b3[i], x[i] > 0.0);
}

// One workgroup of 256 per channel: invocation t adds the terms t, t + 256, ... of the channel's
// (b, s) sequence, then the partial sums are added in a fixed tree.
@compute @workgroup_size(256)
fn prelu_slope_grad(@builtin(local_invocation_id) l: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
    let ch = wg.x;
    if ch >= p.c { return; }
    var acc = 0.0;
    for (var k = l.x; k < p.n * p.hw; k += WG) {
        let i = ((k / p.hw) * p.c + ch) * p.hw + k % p.hw;
        acc += min(x[i], 0.0) * b3[i];
    }
    part[l.x] = acc;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if l.x < s { part[l.x] = part[l.x] + part[l.x + s]; }
        workgroupBarrier();
    }
    if l.x == 0u {
        var total = part[0];
        if (p.flags & ACCUMULATE) != 0u {
            total += grad_slope[ch];
        }
        grad_slope[ch] = total;
    }
}
