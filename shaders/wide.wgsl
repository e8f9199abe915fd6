// Eight floats moved as one vec4<u64>: kernels::SHADERS appends this part to the shaders that
// need it (devices with SHADER_INT64 only). Lavapipe runs every load and store instruction as a
// loop over its 8 lanes, whatever the width, so eight floats per instruction instead of four
// halve those loops.

// Eight consecutive floats.
alias Row8 = array<vec4<f32>, 2>;

// The bits of eight floats, two to a u64, and back.
fn pack8(r: Row8) -> vec4<u64> {
    let a = bitcast<vec4<u32>>(r[0]);
    let b = bitcast<vec4<u32>>(r[1]);
    let lo = vec4<u64>(vec4(a.x, a.z, b.x, b.z));
    let hi = vec4<u64>(vec4(a.y, a.w, b.y, b.w));
    return lo | (hi << vec4(32u));
}

fn unpack8(bits: vec4<u64>) -> Row8 {
    let lo = vec4<u32>(bits);
    let hi = vec4<u32>(bits >> vec4(32u));
    return Row8(
        bitcast<vec4<f32>>(vec4(lo.x, hi.x, lo.y, hi.y)),
        bitcast<vec4<f32>>(vec4(lo.z, hi.z, lo.w, hi.w)),
    );
}
