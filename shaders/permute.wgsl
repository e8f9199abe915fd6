// Swapping two adjacent axes of a row-major f32 tensor x (outer, a, b, inner) into
// y (outer, b, a, inner) (torch: x.transpose(1, 2) of that 4-D view, made contiguous). DVD-GAN's
// D_T folds time into the batch with it, (B, C, T, H·W) -> (B, T, C, H·W); its gradient is the
// same swap with a and b exchanged.
//   swap_axes  x(1) -> y(2)    y[o, j, i, f] = x[o, i, j, f]
// One invocation per output element, 64 to a workgroup, the grid split over y past 65,535
// groups. y may not alias x. Assumes lengths match the params (checked by ops::permute).

struct Params { outer: u32, a: u32, b: u32, inner: u32 }

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn swap_axes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let n = gid.x + gid.y * g.x * 64u;
    if n >= p.outer * p.a * p.b * p.inner { return; }
    let f = n % p.inner;
    let i = (n / p.inner) % p.a;
    let j = (n / (p.inner * p.a)) % p.b;
    let o = n / (p.inner * p.a * p.b);
    y[n] = x[((o * p.a + i) * p.b + j) * p.inner + f];
}
