//! Rust types for BTF types of global data.
