//! The data blob the loader program reads: one byte array, every piece 8-byte aligned and
//! zero padded, addressed by `BlobOff`.

/// An offset into the blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobOff(pub u32);

impl BlobOff {
    /// `self + delta` (saturating: an offset past 4 GiB fails the emitter's range check)
    pub fn at(self, delta: usize) -> BlobOff {
        BlobOff(
            self.0
                .saturating_add(u32::try_from(delta).unwrap_or(u32::MAX)),
        )
    }
}

/// The blob under construction.
#[derive(Clone, Debug, Default)]
pub struct Blob {
    bytes: Vec<u8>,
    /// (offset, length, what) of each piece, for the blob map in snapshots.
    pieces: Vec<(u32, usize, String)>,
}

impl Blob {
    /// Appends `data`, padded to 8 bytes, and names it.
    pub fn push(&mut self, data: &[u8], what: impl Into<String>) -> BlobOff {
        // Saturating: an offset past 4 GiB fails the emitter's range check.
        let off = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(data);
        self.bytes.resize(self.bytes.len().next_multiple_of(8), 0);
        self.pieces.push((off, data.len(), what.into()));
        BlobOff(off)
    }

    /// Reserves `len` zero bytes.
    pub fn reserve(&mut self, len: usize, what: impl Into<String>) -> BlobOff {
        self.push(&vec![0; len], what)
    }

    /// Overwrites bytes at `off` (used to fill attributes after their pointers are known).
    pub fn write(&mut self, off: BlobOff, data: &[u8]) {
        let start = off.0 as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The finished bytes.
    pub fn into_parts(self) -> (Vec<u8>, Vec<(u32, usize, String)>) {
        (self.bytes, self.pieces)
    }
}

/// A `bpf_attr` being filled on the host before it goes into the blob.
#[derive(Clone, Debug)]
pub struct Attr(pub Vec<u8>);

impl Attr {
    /// A zeroed attribute of `size` bytes.
    pub fn new(size: usize) -> Attr {
        Attr(vec![0; size])
    }
    /// Sets a u32 field.
    pub fn u32(&mut self, off: usize, v: u32) -> &mut Attr {
        self.0[off..off + 4].copy_from_slice(&v.to_le_bytes());
        self
    }
    /// Sets a u64 field.
    pub fn u64(&mut self, off: usize, v: u64) -> &mut Attr {
        self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
        self
    }
    /// Sets a fixed-size name field (at most 15 bytes and a NUL).
    pub fn name(&mut self, off: usize, name: &str) -> &mut Attr {
        let n = name.len().min(15);
        self.0[off..off + n].copy_from_slice(&name.as_bytes()[..n]);
        self
    }
}
