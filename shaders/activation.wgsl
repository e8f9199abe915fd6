// Elementwise activations over flat f32 tensors of n elements (any layout).
//   *_forward:  x (1) -> y (2)
//   *_backward: saved (1), dy (2) -> dx (3); saved is x for leaky_relu/relu and y for tanh/sigmoid
// Semantics: torch.nn.functional.leaky_relu(negative_slope), relu, tanh, sigmoid and their
// autograd backward (the derivative at 0 is taken from the x <= 0 side, as PyTorch does).
// One invocation per element; the linear index is rebuilt from a 2-D grid for large n.

struct Params { n: u32, slope: f32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> mid: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

@compute @workgroup_size(64)
fn leaky_relu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let x = src[i];
    mid[i] = select(p.slope * x, x, x > 0.0);
}

@compute @workgroup_size(64)
fn leaky_relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    dst[i] = select(p.slope, 1.0, src[i] > 0.0) * mid[i];
}

@compute @workgroup_size(64)
fn relu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    mid[i] = max(src[i], 0.0);
}

@compute @workgroup_size(64)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    dst[i] = select(0.0, mid[i], src[i] > 0.0);
}

@compute @workgroup_size(64)
fn tanh_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    mid[i] = tanh(src[i]);
}

@compute @workgroup_size(64)
fn tanh_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let y = src[i];
    dst[i] = (1.0 - y * y) * mid[i];
}

@compute @workgroup_size(64)
fn sigmoid_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    mid[i] = 1.0 / (1.0 + exp(-src[i]));
}

@compute @workgroup_size(64)
fn sigmoid_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.n { return; }
    let y = src[i];
    dst[i] = y * (1.0 - y) * mid[i];
}
