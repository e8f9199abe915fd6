use super::CpuIo;
pub fn conv2d_forward_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
pub fn conv2d_input_grad_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
pub fn conv2d_weight_grad_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
pub fn conv2d_bias_grad_op(_: &[u32], _: &mut CpuIo) {
    unimplemented!()
}
