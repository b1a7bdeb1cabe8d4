//! Loader emulator (work in progress).
