// CycleGAN's image pool (Zhu et al.; pytorch-CycleGAN-and-pix2pix `ImagePool.query`) on the
// device: `pool` (pool_size, image_len) holds past fakes, state[0] how many are stored. For each
// fake of the batch (batch, image_len), in batch order:
//   while the pool is not full: store it in the next slot and return it;
//   else with probability 1/2 (u > 0.5, u uniform in [0, 1)) return the stored fake of a slot k
//   drawn uniformly and store the new one in its place; otherwise return the current fake.
//   image_pool_query  fake(1) counters(2) -> pool(3) state(4) out(5)
// u and k come from Philox at (item, counters[slot], stream, 3): a pure function of the seed and
// the iteration, so a resumed run draws the same (the pool and state are saved with it).
// Strategy: one workgroup of 256. Every invocation makes the same decisions (the draws are
// pure), then copies its own elements e ≡ local id (mod 256) of each image, so an element of a
// slot is read and written by one invocation only, in batch order: no races, no atomics.
// Dispatched as exactly one workgroup.

struct Params {
    batch: u32, image_len: u32, pool_size: u32, seed_lo: u32,
    seed_hi: u32, stream: u32, slot: u32, pad: u32,
}

@group(0) @binding(0) var<storage, read> p: Params;
@group(0) @binding(1) var<storage, read> fake: array<f32>;
@group(0) @binding(2) var<storage, read> counters: array<u32>;
@group(0) @binding(3) var<storage, read_write> pool: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const GROUP: u32 = 256u;

// philox() is appended from philox.wgsl.

@compute @workgroup_size(256)
fn image_pool_query(@builtin(local_invocation_id) lid: vec3<u32>) {
    var count = state[0];
    // Every invocation has read the count before invocation 0 writes the new one.
    storageBarrier();
    let key = vec2<u32>(p.seed_lo, p.seed_hi);
    for (var j = 0u; j < p.batch; j++) {
        let img = j * p.image_len;
        if count < p.pool_size {
            let slot = count * p.image_len;
            for (var e = lid.x; e < p.image_len; e += GROUP) {
                pool[slot + e] = fake[img + e];
                out[img + e] = fake[img + e];
            }
            count += 1u;
            continue;
        }
        let r = philox(vec4<u32>(j, counters[p.slot], p.stream, 3u), key);
        let u = f32(r.x >> 8u) * 5.9604645e-8; // 2^-24
        if u > 0.5 {
            let slot = (r.y % p.pool_size) * p.image_len;
            for (var e = lid.x; e < p.image_len; e += GROUP) {
                out[img + e] = pool[slot + e];
                pool[slot + e] = fake[img + e];
            }
        } else {
            for (var e = lid.x; e < p.image_len; e += GROUP) {
                out[img + e] = fake[img + e];
            }
        }
    }
    if lid.x == 0u {
        state[0] = count;
    }
}
