//! Builders for the conv2d and conv_transpose2d kernels (to be written).
