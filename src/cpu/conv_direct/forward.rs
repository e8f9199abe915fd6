//! The forward product y_t = w · cols of a block of samples, 48 columns at a time.

use super::pack::{pad, pixel_offsets, tap_offsets, Span, PADDED, WORK};
use super::Taps;
use crate::cpu::gemm::{panel_rows, KC, PANEL};
use crate::cpu::par;

/// y_t = w · cols, 48 columns at a time: their panel packed from x_pad per k block, then
/// every row of w against it (`gemm`'s chains: k blocks from zero, added after the first).
pub(super) fn forward(g: &Taps, x: &[f32], w: &[f32], y_t: &mut [f32]) {
    let [tp, hp, wp] = g.padded();
    let plane = tp * hp * wp;
    par::scratch(&PADDED, g.n * g.c_in * plane, |x_pad| {
        pad(g, x, x_pad, false);
        let (k, c_out) = (g.rows(), g.c_out);
        let offsets = tap_offsets(g, plane);
        let pixels = pixel_offsets(g, plane);
        let np = pixels.len();
        let mut span = Span::new(g.stride);
        par::scratch(&WORK, KC * PANEL, |panel| {
            for j0 in (0..np).step_by(PANEL) {
                let width = (np - j0).min(PANEL);
                span.set(&pixels, g.out[2], j0, width);
                for k0 in (0..k).step_by(KC) {
                    let kl = (k - k0).min(KC);
                    // SAFETY: AVX-512 is present (checked by the caller); the panel holds
                    // KC rows of PANEL, w and y_t what the asserts checked.
                    unsafe {
                        for (kk, &tap) in offsets[k0..k0 + kl].iter().enumerate() {
                            span.pack(x_pad, tap, panel.as_mut_ptr().add(kk * PANEL));
                        }
                        panel_rows(
                            c_out,
                            width,
                            w.as_ptr().add(k0),
                            k as isize,
                            panel.as_ptr(),
                            kl,
                            y_t.as_mut_ptr().add(j0),
                            np as isize,
                            k0 > 0,
                        );
                    }
                }
            }
        });
    });
}
