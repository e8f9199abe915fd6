// Column plumbing of row-major batches (B rows), for the heads and codes of ACGAN, InfoGAN and
// WGAN-GP. One invocation per output element.
//   concat_columns  a(1) (B, F), b(2) (B, E) -> out(3) (B, F + E)     torch: cat([a, b], 1)
//   fill_columns    out(3): columns offset .. offset + width of rows of `stride` = value
//                   (the other columns are left as they are)
//   slice_columns   a(1) (B, stride) -> out(3) (B, width) = a[:, offset .. offset + width]
//                   (the backward of concat_columns, once per part)
//   interpolate     a(1) (B, F), t(2) (B), c(4) (B, F) -> out(3) (B, F)
//                   out[b] = t[b] a[b] + (1 - t[b]) c[b]   (WGAN-GP's random interpolates)

struct Params {
    batch: u32, features: u32, extra: u32, stride: u32,
    offset: u32, width: u32, value: f32, pad: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<storage, read> c: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

@compute @workgroup_size(64)
fn concat_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    let width = p.features + p.extra;
    if i >= p.batch * width { return; }
    let row = i / width;
    let j = i % width;
    if j < p.features {
        dst[i] = a[row * p.features + j];
    } else {
        dst[i] = b[row * p.extra + j - p.features];
    }
}

@compute @workgroup_size(64)
fn fill_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.batch * p.width { return; }
    dst[(i / p.width) * p.stride + p.offset + i % p.width] = p.value;
}

@compute @workgroup_size(64)
fn slice_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.batch * p.width { return; }
    dst[i] = a[(i / p.width) * p.stride + p.offset + i % p.width];
}

@compute @workgroup_size(64)
fn interpolate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) g: vec3<u32>) {
    let i = index(gid, g);
    if i >= p.batch * p.features { return; }
    let t = b[i / p.features];
    dst[i] = t * a[i] + (1.0 - t) * c[i];
}
