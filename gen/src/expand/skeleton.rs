//! The generated skeleton module.
