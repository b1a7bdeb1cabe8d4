//! The map commands: MAP_CREATE with the kernel's checks of type, sizes, name and BTF;
//! MAP_UPDATE_ELEM / MAP_DELETE_ELEM on the map's contents; MAP_FREEZE.

use std::collections::BTreeMap;

use super::attr::{valid_obj_name, Call, A};
use super::{refuse, KResult, MapObject, MockKernel, Object, Refusal};
use crate::consts::{attr, kind, map_type, *};
use crate::Error;
use lskel_abi::{elem_flags, map_flags, OBJ_NAME_LEN};

/// An element command's operands: the map (its index among the objects), and the key and
/// value (empty for a delete) read at the map's sizes.
struct Elem {
    map: usize,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Whether key size `ks`, value size `vs` and `max_entries` `me` suit a map of type `t`.
fn map_sizes_valid(t: u32, ks: u32, vs: u32, me: u32) -> Result<(), Refusal> {
    let storage = matches!(
        t,
        map_type::CGROUP_STORAGE
            | map_type::PERCPU_CGROUP_STORAGE
            | map_type::SK_STORAGE
            | map_type::INODE_STORAGE
            | map_type::TASK_STORAGE
            | map_type::CGRP_STORAGE
    );
    if storage {
        ensure!(me == 0, EINVAL, "local storage maps need max_entries 0");
    } else {
        ensure!(me != 0, EINVAL, "max_entries is 0");
    }
    match t {
        map_type::ARRAY
        | map_type::PERCPU_ARRAY
        | map_type::PROG_ARRAY
        | map_type::ARRAY_OF_MAPS => {
            ensure!(ks == 4, EINVAL, "array maps need key_size 4, not {ks}");
            ensure!(vs != 0, EINVAL, "value_size is 0");
        }
        map_type::RINGBUF | map_type::USER_RINGBUF => {
            ensure!(
                ks == 0 && vs == 0,
                EINVAL,
                "ring buffers need key and value size 0"
            );
            ensure!(
                me.is_power_of_two() && me % 4096 == 0,
                EINVAL,
                "ring buffer size {me} is not a power-of-2 multiple of the page size"
            );
        }
        map_type::ARENA => {}
        map_type::BLOOM_FILTER => ensure!(ks == 0 && vs != 0, EINVAL, "bloom filter sizes"),
        // Queues and stacks have no key.
        map_type::QUEUE | map_type::STACK => {
            ensure!(ks == 0 && vs != 0, EINVAL, "queue/stack sizes")
        }
        _ if storage => {}
        _ => ensure!(
            ks != 0 && vs != 0,
            EINVAL,
            "key_size {ks} / value_size {vs} must be non-zero"
        ),
    }
    Ok(())
}

impl MockKernel {
    pub(super) fn map_create(&mut self, c: &mut Call<'_>) -> KResult {
        use attr::map_create as f;
        let a = &c.a;
        let t = a.u32(f::MAP_TYPE);
        let (ks, vs, me, flags) = (
            a.u32(f::KEY_SIZE),
            a.u32(f::VALUE_SIZE),
            a.u32(f::MAX_ENTRIES),
            a.u32(f::MAP_FLAGS),
        );
        let hash = a.u64(f::EXCL_PROG_HASH);
        if hash != 0 {
            let bytes = c.read(
                hash,
                u64::from(a.u32(f::EXCL_PROG_HASH_SIZE)),
                "excl_prog_hash",
            )?;
            c.p.excl_prog_hash = Some(bytes);
        }
        if let Err(r) = c.admitted("excl_prog_hash_size") {
            return Ok(Err(r));
        }
        check!(
            (1..=map_type::ARENA).contains(&t),
            EINVAL,
            "unknown map type {t}"
        );
        let name = match valid_obj_name(&a.0[f::MAP_NAME..f::MAP_NAME + OBJ_NAME_LEN]) {
            Ok(n) => n,
            Err(e) => return refuse(EINVAL, e),
        };
        check!(
            hash == 0 || a.u32(f::EXCL_PROG_HASH_SIZE) == 32,
            EINVAL,
            "excl_prog_hash_size must be 32"
        );
        check!(
            a.u32(f::MAP_IFINDEX) == 0,
            EINVAL,
            "map_ifindex: no offload devices"
        );
        check!(
            a.u64(f::MAP_EXTRA) == 0 || matches!(t, map_type::BLOOM_FILTER | map_type::ARENA),
            EINVAL,
            "map_extra is only for bloom filters and arenas"
        );
        if let Err(r) = map_sizes_valid(t, ks, vs, me) {
            return Ok(Err(r));
        }
        if matches!(t, map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS) {
            if let Err(r) = self.map_by_fd(a.i32(f::INNER_MAP_FD)) {
                return Ok(Err((r.0, format!("inner_map_fd: {}", r.1))));
            }
        }
        let (kid, vid) = (a.u32(f::BTF_KEY_TYPE_ID), a.u32(f::BTF_VALUE_TYPE_ID));
        let btf_obj = match self.map_btf(a, t, ks, vs, me) {
            Ok(b) => b,
            Err(r) => return Ok(Err(r)),
        };
        let m = MapObject {
            map_type: t,
            key_size: ks,
            value_size: vs,
            max_entries: me,
            map_flags: flags,
            name,
            btf: btf_obj,
            btf_key_type_id: kid,
            btf_value_type_id: vid,
            frozen: false,
            entries: BTreeMap::new(),
        };
        Ok(self.alloc_fd(Object::Map(m)))
    }

    /// The BTF object of a map created with BTF types (`None` without): the key and value
    /// types must have the map's sizes, and a value without a key type is only for the
    /// single-entry array of a data section.
    fn map_btf(&self, a: &A, t: u32, ks: u32, vs: u32, me: u32) -> Result<Option<usize>, Refusal> {
        use attr::map_create as f;
        let (kid, vid) = (a.u32(f::BTF_KEY_TYPE_ID), a.u32(f::BTF_VALUE_TYPE_ID));
        if kid == 0 && vid == 0 && a.u32(f::BTF_VMLINUX_VALUE_TYPE_ID) == 0 {
            return Ok(None);
        }
        let fd = a.i32(f::BTF_FD);
        let (obj, module) = self
            .btf_by_fd(fd)
            .map_err(|r| (r.0, format!("btf_fd: {}", r.1)))?;
        ensure!(module.is_none(), EACCES, "btf_fd {fd} is a kernel BTF");
        let Object::Btf(b) = &self.objects[obj] else {
            unreachable!()
        };
        let btf = &b.parsed;
        if vid != 0 {
            if kid != 0 {
                let sz = btf.size_of(kid);
                ensure!(
                    sz == Some(u64::from(ks)),
                    EINVAL,
                    "btf_key_type_id {kid} has size {sz:?}, key_size is {ks}"
                );
            } else {
                ensure!(
                    !matches!(t, map_type::ARRAY | map_type::PERCPU_ARRAY)
                        || (t == map_type::ARRAY
                            && me == 1
                            && btf.resolved_kind(vid) == Some(kind::DATASEC)),
                    EINVAL,
                    "keyless BTF is only for single-entry arrays with a DATASEC value"
                );
            }
            let sz = btf.size_of(vid);
            ensure!(
                sz == Some(u64::from(vs)),
                EINVAL,
                "btf_value_type_id {vid} has size {sz:?}, value_size is {vs}"
            );
        }
        Ok(Some(obj))
    }

    fn value_len(&self, m: &MapObject) -> u64 {
        if matches!(
            m.map_type,
            map_type::PERCPU_ARRAY | map_type::PERCPU_HASH | map_type::LRU_PERCPU_HASH
        ) {
            u64::from(m.value_size.next_multiple_of(8)) * u64::from(self.ncpus)
        } else {
            u64::from(m.value_size)
        }
    }

    /// The map an element command names, and the key (and, with `with_value`, the value)
    /// read through the attr's pointers at the map's sizes and recorded in the call.
    fn elem(&self, c: &mut Call<'_>, with_value: bool) -> Result<Result<Elem, Refusal>, Error> {
        use attr::map_elem as f;
        let (map, m) = match self.map_by_fd(c.a.i32(f::MAP_FD)) {
            Ok(v) => v,
            Err(r) => return Ok(Err(r)),
        };
        let key = c.read(c.a.u64(f::KEY), u64::from(m.key_size), "key")?;
        let value = if with_value {
            c.read(c.a.u64(f::VALUE), self.value_len(m), "value")?
        } else {
            Vec::new()
        };
        c.p.key = Some(key.clone());
        if with_value {
            c.p.value = Some(value.clone());
        }
        Ok(Ok(Elem { map, key, value }))
    }

    /// The map at object index `i`.
    fn map_at(&self, i: usize) -> &MapObject {
        let Object::Map(m) = &self.objects[i] else {
            unreachable!("object {i} was found as a map")
        };
        m
    }

    pub(super) fn map_update(&mut self, c: &mut Call<'_>) -> KResult {
        let (i, key, value) = match self.elem(c, true)? {
            Ok(Elem { map, key, value }) => (map, key, value),
            Err(r) => return Ok(Err(r)),
        };
        if let Err(r) = c.admitted("flags") {
            return Ok(Err(r));
        }
        let m = self.map_at(i);
        let flags = c.a.u64(attr::map_elem::FLAGS);
        check!(
            flags <= elem_flags::LOCK,
            EINVAL,
            "unknown update flags {flags:#x}"
        );
        check!(!m.frozen, EPERM, "map `{}` is frozen", m.name);
        check!(
            m.map_flags & map_flags::RDONLY == 0,
            EPERM,
            "map `{}` is BPF_F_RDONLY",
            m.name
        );
        match m.map_type {
            map_type::ARRAY
            | map_type::PERCPU_ARRAY
            | map_type::PROG_ARRAY
            | map_type::ARRAY_OF_MAPS => {
                let idx = u32::from_le_bytes(key[..4].try_into().unwrap_or([0; 4]));
                check!(
                    idx < m.max_entries,
                    E2BIG,
                    "index {idx} >= max_entries {}",
                    m.max_entries
                );
                check!(
                    flags & 3 != elem_flags::NOEXIST,
                    EEXIST,
                    "BPF_NOEXIST on an array"
                );
            }
            map_type::RINGBUF | map_type::USER_RINGBUF => {
                return refuse(ENOTSUPP, "ring buffers have no elements")
            }
            _ => {
                let exists = m.entries.contains_key(&key);
                check!(
                    !(flags & 3 == elem_flags::NOEXIST && exists),
                    EEXIST,
                    "key exists"
                );
                check!(
                    flags & 3 != elem_flags::EXIST || exists,
                    ENOENT,
                    "key does not exist"
                );
                check!(
                    exists || m.entries.len() < m.max_entries as usize,
                    E2BIG,
                    "map is full"
                );
            }
        }
        if matches!(
            m.map_type,
            map_type::PROG_ARRAY | map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS
        ) {
            // The value is an fd: a program for prog_array, a map for map-in-map.
            let fd = i32::from_le_bytes(value[..4].try_into().unwrap_or([0xff; 4]));
            let is_prog = m.map_type == map_type::PROG_ARRAY;
            match self.fds.get(&fd).map(|&o| &self.objects[o]) {
                None => return refuse(EBADF, format!("value fd {fd} is not open")),
                Some(Object::Prog(_)) if is_prog => {}
                Some(Object::Map(_)) if !is_prog => {}
                Some(_) => {
                    return refuse(
                        EINVAL,
                        format!(
                            "value fd {fd} is not a {}",
                            if is_prog { "program" } else { "map" }
                        ),
                    )
                }
            }
        }
        let Object::Map(m) = &mut self.objects[i] else {
            unreachable!()
        };
        m.entries.insert(key, value);
        Ok(Ok(0))
    }

    pub(super) fn map_delete(&mut self, c: &mut Call<'_>) -> KResult {
        let (i, key) = match self.elem(c, false)? {
            Ok(Elem { map, key, .. }) => (map, key),
            Err(r) => return Ok(Err(r)),
        };
        if let Err(r) = c.admitted("flags") {
            return Ok(Err(r));
        }
        let m = self.map_at(i);
        check!(!m.frozen, EPERM, "map `{}` is frozen", m.name);
        check!(
            !matches!(m.map_type, map_type::ARRAY | map_type::PERCPU_ARRAY),
            EINVAL,
            "array elements cannot be deleted"
        );
        let Object::Map(m) = &mut self.objects[i] else {
            unreachable!()
        };
        match m.entries.remove(&key) {
            Some(_) => Ok(Ok(0)),
            None => refuse(ENOENT, "no such key"),
        }
    }

    pub(super) fn map_freeze(&mut self, c: &mut Call<'_>) -> KResult {
        if let Err(r) = c.admitted("map_fd") {
            return Ok(Err(r));
        }
        let fd = c.a.i32(attr::map_freeze::MAP_FD);
        let i = match self.map_by_fd(fd) {
            Ok((i, _)) => i,
            Err(r) => return Ok(Err(r)),
        };
        let Object::Map(m) = &mut self.objects[i] else {
            unreachable!()
        };
        check!(!m.frozen, EBUSY, "map `{}` is already frozen", m.name);
        m.frozen = true;
        Ok(Ok(0))
    }
}
