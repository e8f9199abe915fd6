//! The explicit shape of one sample of an activation, PyTorch's (C, [T,] H, W) without the
//! batch: the batch is the rows of the `NetActs` (or the input) that holds it. A dense
//! activation is (features, 1, 1, 1); an image (C, 1, H, W); a clip (C, T, H, W). Every
//! activation of a net has one (`Wiring::shapes`), so no caller re-derives a size by division.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub c: usize,
    pub t: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    /// `n` features, as a dense layer reads and writes them.
    pub const fn flat(n: usize) -> Self {
        Self {
            c: n,
            t: 1,
            h: 1,
            w: 1,
        }
    }

    pub const fn image(c: usize, h: usize, w: usize) -> Self {
        Self { c, t: 1, h, w }
    }

    pub const fn video(c: usize, t: usize, h: usize, w: usize) -> Self {
        Self { c, t, h, w }
    }

    /// Values per sample.
    pub const fn len(&self) -> usize {
        self.c * self.t * self.h * self.w
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it has no spatial extent (a dense layer's activation).
    pub const fn is_flat(&self) -> bool {
        self.t == 1 && self.h == 1 && self.w == 1
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_flat(), self.t) {
            (true, _) => write!(f, "{}", self.c),
            (false, 1) => write!(f, "{}x{}x{}", self.c, self.h, self.w),
            (false, t) => write!(f, "{}x{t}x{}x{}", self.c, self.h, self.w),
        }
    }
}
