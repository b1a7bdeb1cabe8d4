//! Map handles that know their sizes: [`MapShape`] (a map's type, key and value sizes, checked against
//! what any kernel map can have) and [`SizedMap`] (a descriptor with its shape), whose element
//! operations check buffer lengths and so are safe.
//!
//! # Safety
//!
//! A [`SizedMap`] is built either from the kernel's own description of the descriptor
//! (`BPF_OBJ_GET_INFO_BY_FD`) or by a caller that promises the shape (`unsafe`); every element
//! operation checks its buffers against that shape before the kernel copies that many bytes.
#![allow(unsafe_code)]

use std::os::fd::BorrowedFd;

use super::bpf::{
    map_delete_elem, map_get_next_key, map_info, map_lookup_elem, map_type, map_update_elem,
    MapInfo,
};
use crate::{Errno, Error, Result};

/// The largest key or value size [`SizedMap`] accepts: the kernel refuses map elements that user
/// space could not copy (larger than `KMALLOC_MAX_SIZE`, 4 MiB with 4 KiB pages), so this bound,
/// with room to spare for other page sizes, only catches sizes read from something that is not a map.
pub const MAX_ELEM_SIZE: usize = 64 << 20;

/// The largest per-CPU value (rounded up to 8) a per-CPU map can have: `PCPU_MIN_UNIT_SIZE`.
pub const MAX_PERCPU_VALUE_SIZE: usize = 32 << 10;

/// The type, key and value sizes of a map, checked against what any kernel map can have, with
/// the number of bytes one lookup transfers. Built from sizes known without asking the kernel
/// (a generated skeleton knows them at load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapShape {
    map_type: u32,
    key_size: usize,
    value_size: usize,
    lookup_size: usize,
}

impl MapShape {
    /// Checks the sizes (as [`SizedMap::new`] does) and, for per-CPU map types, reads the number of
    /// possible CPUs ([`possible_cpus`](crate::possible_cpus), cached after its first read).
    pub fn new(map_type: u32, key_size: u32, value_size: u32) -> Result<MapShape> {
        Self::checked(
            map_type,
            key_size,
            value_size,
            "map key or value size larger than any kernel map allows",
        )
    }

    /// [`new`](Self::new) with the message of the error for sizes no map has.
    fn checked(
        map_type: u32,
        key_size: u32,
        value_size: u32,
        too_big: &'static str,
    ) -> Result<Self> {
        let too_big = Error::InvalidArgument(too_big);
        let (key_size, value_size) = (key_size as usize, value_size as usize);
        if key_size > MAX_ELEM_SIZE || value_size > MAX_ELEM_SIZE {
            return Err(too_big);
        }
        let lookup_size = if map_type::is_percpu(map_type) {
            let stride = value_size.next_multiple_of(8);
            if stride > MAX_PERCPU_VALUE_SIZE {
                return Err(too_big);
            }
            stride
                .checked_mul(crate::cpus::possible_cpus()?)
                .ok_or(too_big)?
        } else {
            value_size
        };
        Ok(MapShape {
            map_type,
            key_size,
            value_size,
            lookup_size,
        })
    }

    /// `map_type`.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// `key_size`.
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// `value_size` (one CPU's for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// The map `fd` with this shape.
    ///
    /// # Safety
    ///
    /// The shape must be that of the map behind `fd`: its type, key size and value size (the
    /// kernel copies that many bytes in element operations).
    pub unsafe fn sized(self, fd: BorrowedFd<'_>) -> SizedMap<'_> {
        // `lookup_size` was computed from the type and value size as the kernel computes its copy size.
        SizedMap { fd, shape: self }
    }
}

impl<'fd> crate::Map<'fd> {
    /// Wraps `fd` with a shape known without asking the kernel (what generated skeletons do:
    /// their map accessors make no system call).
    ///
    /// # Safety
    ///
    /// `shape` must be the type, key size and value size of the map behind `fd`.
    pub unsafe fn from_shape(fd: BorrowedFd<'fd>, shape: MapShape) -> Self {
        // SAFETY: the caller's promise.
        crate::Map::from_sized(unsafe { shape.sized(fd) })
    }
}

/// `Ok` when a buffer (or type) of `actual` bytes is the `expected` size, else [`Error::BufferSize`].
pub(super) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::BufferSize {
            what,
            expected,
            actual,
        })
    }
}

/// A map descriptor together with its key and value sizes, queried from the kernel, so element operations
/// can check buffer lengths and be safe.
#[derive(Debug, Clone, Copy)]
pub struct SizedMap<'fd> {
    fd: BorrowedFd<'fd>,
    shape: MapShape,
}

impl<'fd> SizedMap<'fd> {
    /// Queries the map's info (`BPF_OBJ_GET_INFO_BY_FD`) and, for per-CPU maps, the number of possible CPUs.
    ///
    /// Refuses a descriptor that is not a map (`BPF_OBJ_GET_INFO_BY_FD` would describe a program or
    /// link, whose bytes then read as nonsense sizes), and sizes no kernel map can have: a key or
    /// value larger than [`MAX_ELEM_SIZE`], a per-CPU value larger than [`MAX_PERCPU_VALUE_SIZE`].
    pub fn new(fd: BorrowedFd<'fd>) -> Result<Self> {
        if super::is_bpf_map(fd) == Some(false) {
            return Err(Error::InvalidArgument("not a BPF map descriptor"));
        }
        let info = map_info(fd).map_err(|e| Error::syscall("BPF_OBJ_GET_INFO_BY_FD(map)", e))?;
        Self::from_info(fd, &info)
    }

    fn from_info(fd: BorrowedFd<'fd>, info: &MapInfo) -> Result<Self> {
        let shape = MapShape::checked(
            info.map_type,
            info.key_size,
            info.value_size,
            "map key or value size larger than any kernel map allows (not a map?)",
        )?;
        Ok(SizedMap { fd, shape })
    }

    /// The map descriptor.
    pub fn fd(&self) -> BorrowedFd<'fd> {
        self.fd
    }

    /// `map_type`.
    pub fn map_type(&self) -> u32 {
        self.shape.map_type
    }

    /// `key_size`.
    pub fn key_size(&self) -> usize {
        self.shape.key_size
    }

    /// `value_size` (of one CPU's value for per-CPU maps).
    pub fn value_size(&self) -> usize {
        self.shape.value_size
    }

    /// Bytes a lookup or update transfers: `value_size`, or `round_up(value_size, 8) * possible CPUs` for
    /// per-CPU maps.
    pub fn lookup_size(&self) -> usize {
        self.shape.lookup_size
    }

    /// Checked [`map_lookup_elem`]: `Ok(false)` when the key is absent (`ENOENT`).
    pub fn lookup(&self, key: &[u8], value: &mut [u8], flags: u64) -> crate::Result<bool> {
        check_len("key", self.shape.key_size, key.len())?;
        check_len("value", self.shape.lookup_size, value.len())?;
        // SAFETY: both lengths were checked against the sizes the kernel uses.
        match unsafe { map_lookup_elem(self.fd, key, value, flags) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_LOOKUP_ELEM", e)),
        }
    }

    /// Checked [`map_update_elem`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> crate::Result<()> {
        check_len("key", self.shape.key_size, key.len())?;
        check_len("value", self.shape.lookup_size, value.len())?;
        // SAFETY: both lengths were checked against the sizes the kernel uses.
        unsafe { map_update_elem(self.fd, key, value, flags) }
            .map_err(|e| crate::Error::syscall("BPF_MAP_UPDATE_ELEM", e))
    }

    /// Checked [`map_delete_elem`]: `Ok(false)` when the key was absent.
    pub fn delete(&self, key: &[u8]) -> crate::Result<bool> {
        check_len("key", self.shape.key_size, key.len())?;
        // SAFETY: the key length was checked.
        match unsafe { map_delete_elem(self.fd, key) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_DELETE_ELEM", e)),
        }
    }

    /// Checked [`map_get_next_key`]: `Ok(false)` after the last key.
    pub fn next_key(&self, key: Option<&[u8]>, next_key: &mut [u8]) -> crate::Result<bool> {
        if let Some(key) = key {
            check_len("key", self.shape.key_size, key.len())?;
        }
        check_len("next_key", self.shape.key_size, next_key.len())?;
        // SAFETY: both lengths were checked.
        match unsafe { map_get_next_key(self.fd, key, next_key) } {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(crate::Error::syscall("BPF_MAP_GET_NEXT_KEY", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn info(map_type: u32, key_size: u32, value_size: u32) -> MapInfo {
        MapInfo {
            map_type,
            id: 1,
            key_size,
            value_size,
            max_entries: 1,
            map_flags: 0,
            name: String::new(),
            btf_id: 0,
            btf_key_type_id: 0,
            btf_value_type_id: 0,
            map_extra: 0,
        }
    }

    #[test]
    fn sized_map_refuses_sizes_no_map_has() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        let fd = f.as_fd();
        let array = map_type::BPF_MAP_TYPE_ARRAY;
        let percpu = map_type::BPF_MAP_TYPE_PERCPU_ARRAY;
        // What a program's info reads as: the tag's bytes as key and value sizes.
        assert!(SizedMap::from_info(fd, &info(array, 0x1234_5678, 0xe400_0000)).is_err());
        assert!(SizedMap::from_info(fd, &info(array, 4, MAX_ELEM_SIZE as u32 + 1)).is_err());
        assert!(SizedMap::from_info(fd, &info(array, MAX_ELEM_SIZE as u32 + 1, 4)).is_err());
        assert!(SizedMap::from_info(fd, &info(percpu, 4, 32 << 10 | 1)).is_err());
        let m = SizedMap::from_info(fd, &info(array, 4, 1 << 20)).unwrap();
        assert_eq!((m.key_size(), m.lookup_size()), (4, 1 << 20));
        assert!(SizedMap::from_info(fd, &info(percpu, 4, 32 << 10)).is_ok());
    }

    #[test]
    fn sized_map_refuses_a_file() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert!(matches!(
            SizedMap::new(f.as_fd()),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn shapes_are_checked() {
        let hash = map_type::BPF_MAP_TYPE_HASH;
        let s = MapShape::new(hash, 4, 12).unwrap();
        assert_eq!((s.key_size(), s.value_size(), s.lookup_size), (4, 12, 12));
        assert!(MapShape::new(hash, MAX_ELEM_SIZE as u32 + 1, 4).is_err());
        let pc = MapShape::new(map_type::BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12).unwrap();
        assert_eq!(pc.lookup_size, 16 * crate::possible_cpus().unwrap());
        assert!(MapShape::new(map_type::BPF_MAP_TYPE_PERCPU_HASH, 4, 40 << 10).is_err());
    }
}
