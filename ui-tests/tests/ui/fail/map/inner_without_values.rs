// An ARRAY_OF_MAPS declared without `__array(values, ...)`: no inner map to create it from.
lskel::bpf_skeleton!("objects/inner_without_values.bpf.o");

fn main() {}
