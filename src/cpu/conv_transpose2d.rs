use super::CpuIo;
pub fn conv_transpose2d_forward_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
pub fn conv_transpose2d_input_grad_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
pub fn conv_transpose2d_weight_grad_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
