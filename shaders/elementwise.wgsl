// Elementwise arithmetic on flat tensors of any layout: out[i] depends on x[i] and y[i] alone.
//   axpby  x(1) y(2) -> out(3):  out = a·x + b·y
//     (torch.add(y, x, alpha=a) for b = 1): residual adds (h + x) and the sum of the gradients
//     of a tensor read by two paths. out may not alias x or y.
// One invocation per element, 64 to a workgroup, the grid split over y past 65,535 groups;
// n is any length.

struct Params { n: u32, a: f32, b: f32, pad: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn axpby(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = gid.x + gid.y * g.x * 64u;
    if i >= p.n { return; }
    out[i] = p.a * x[i] + p.b * y[i];
}
