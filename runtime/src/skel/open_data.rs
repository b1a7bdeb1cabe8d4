//! The open skeleton's copy of a global data section, which remembers whether it was written.

use std::ops::{Deref, DerefMut};

use crate::Pod;

/// The open skeleton's copy of one global data section (`open.bss`, `open.data`): read and
/// written as a `T`, which it dereferences to (`open.bss.counter = 1`).
///
/// It remembers whether it was ever borrowed mutably ([`written`](Self::written)): a section
/// that starts as zeros (`.bss`) and was never written is not copied into its map after load,
/// since the kernel creates the map zeroed (copying a 16 MiB `.bss` took 4 ms). Any mutable
/// borrow counts as a write, even one that changes nothing or writes zeros, so what the user
/// wrote always reaches the map. (A data section's map is always created by the load: the open
/// skeleton offers no way to reuse or pin one.)
#[derive(Clone)]
pub struct OpenData<T: Pod> {
    value: Box<T>,
    written: bool,
}

impl<T: Pod> OpenData<T> {
    /// The section's initial value: `bytes` (the object's), zeros past them.
    pub fn new(bytes: &[u8]) -> OpenData<T> {
        OpenData {
            value: crate::sys::mem::pod_boxed(bytes),
            written: false,
        }
    }

    /// A section of zeros (`.bss`).
    pub fn zeroed() -> OpenData<T> {
        OpenData::new(&[])
    }

    /// Whether the value was borrowed mutably since it was made.
    pub fn written(&self) -> bool {
        self.written
    }
}

impl<T: Pod> Deref for OpenData<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Pod> DerefMut for OpenData<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.written = true;
        &mut self.value
    }
}

impl<T: Pod + std::fmt::Debug> std::fmt::Debug for OpenData<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenData")
            .field("value", &*self.value)
            .field("written", &self.written)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_do_not_count_as_writes_and_any_mutable_borrow_does() {
        let mut d = OpenData::<[u32; 4]>::new(&7u32.to_ne_bytes());
        assert_eq!(*d, [7, 0, 0, 0]);
        assert_eq!(d[0], 7);
        assert!(!d.written());
        let copy = d.clone();
        d[1] = 0; // a zero over a zero is still a write
        assert!(d.written());
        assert!(!copy.written());
        let z = OpenData::<[u64; 2]>::zeroed();
        assert_eq!(*z, [0, 0]);
        assert!(!z.written());
    }
}
