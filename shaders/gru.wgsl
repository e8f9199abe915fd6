// The elementwise gates of a convolutional GRU (DVD-GAN's generator), on flat tensors of one
// length n in any layout; r, u are sigmoid outputs, c a tanh output (activation.wgsl has those):
//   gru_reset_forward    r(1) h(2) -> out(3)                 out = r·h
//   gru_reset_backward   r(1) h(2) dy(3) -> dr(4) dh(5)      dr = dy·h, dh = dy·r
//   gru_update_forward   u(1) h(2) c(3) -> out(4)            out = u·h + (1 - u)·c
//   gru_update_backward  u(1) h(2) c(3) dy(4) -> du(5) dh(6) dc(7)
//                        du = dy·(h - c), dh = dy·u, dc = dy·(1 - u)
// torch: the same expressions on tensors. One invocation per element, 64 to a workgroup, the grid
// split over y past 65,535 groups. Outputs may not alias inputs. Assumes lengths match n.

struct Params { n: u32, pad0: u32, pad1: u32, pad2: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;
@group(0) @binding(5) var<storage, read_write> out5: array<f32>;
@group(0) @binding(6) var<storage, read_write> out6: array<f32>;
@group(0) @binding(7) var<storage, read_write> out7: array<f32>;
@group(0) @binding(8) var<storage, read> c_in: array<f32>;
@group(0) @binding(9) var<storage, read> dy_in: array<f32>;

fn index(gid: vec3<u32>, g: vec3<u32>) -> u32 {
    return gid.x + gid.y * g.x * 64u;
}

@compute @workgroup_size(64)
fn gru_reset_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    out3[i] = a[i] * h[i];
}

// dy arrives at binding 9 (binding 3 is written by the forward).
@compute @workgroup_size(64)
fn gru_reset_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let d = dy_in[i];
    out4[i] = d * h[i];
    out5[i] = d * a[i];
}

// c arrives at binding 8.
@compute @workgroup_size(64)
fn gru_update_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let u = a[i];
    out4[i] = u * h[i] + (1.0 - u) * c_in[i];
}

@compute @workgroup_size(64)
fn gru_update_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let u = a[i];
    let d = dy_in[i];
    out5[i] = d * (h[i] - c_in[i]);
    out6[i] = d * u;
    out7[i] = d * (1.0 - u);
}
