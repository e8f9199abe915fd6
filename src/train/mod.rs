//! Training: the schedule as a program, the loop, checkpoints and outputs.

pub mod schedule;
