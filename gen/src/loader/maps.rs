//! Map creation: the `BPF_MAP_CREATE` attr, the ctx settings that override it, inner map
//! templates, struct_ops value types, and reused maps that skip it.

use super::*;

impl Gen<'_> {
    /// A map the ctx gives to reuse is not created (nor, for a data map, written or frozen):
    /// its fd, already in `fd_array` and `map_fd` since the prologue, must be a descriptor
    /// number. Returns the label after the map's creation steps, where a reused map goes.
    pub(super) fn reused_map(&mut self, i: usize, map: &MapDef) -> Label {
        use ctx::{map as d, set};
        let (create, reused) = (self.b.label(), self.b.label());
        self.b.note(format!(
            "map #{i} `{}`: reuse the fd the ctx gives (set & REUSE) instead of creating it",
            map.name
        ));
        self.b.load(Size::W, R2, CTX, ctx::map_desc(i) + d::SET);
        self.b.and_imm(R2, set::REUSE as i32);
        self.b.jump_if(true, BPF_JEQ, R2, 0, create);
        self.b.load(Size::W, R2, CTX, ctx::map_fd(i));
        self.b.jump_if(false, BPF_JSGE, R2, 1, reused);
        self.b.mov_imm(RET, -EBADF);
        self.fail(format!(
            "reuse map `{}`: the fd given is not a descriptor",
            map.name
        ));
        self.b.bind(create);
        reused
    }

    /// Creates the inner map template of map-in-map `outer` into the `inner_fd` slot.
    fn inner_template(&mut self, outer: &MapDef, inner: &MapDef) {
        use abi::map_create as f;
        let attr = push_map_create(&mut self.blob, inner);
        self.b
            .note(format!("inner map template of `{}`", outer.name));
        self.b.blob_addr(R1, attr);
        if inner.btf_key_type_id != 0 || inner.btf_value_type_id != 0 {
            self.set_fd(f::BTF_FD, self.btf_fd);
        }
        self.size_perf_event_array(inner);
        self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
        self.b.blob_addr(R1, self.inner_fd);
        self.b.store(Size::W, R1, 0, RET);
        self.check_err(format!("create the inner map template of `{}`", outer.name));
    }

    pub(super) fn map_create(&mut self, i: usize, map: &MapDef) {
        use abi::map_create as f;
        if let Some(inner) = &map.inner {
            self.inner_template(map, inner);
        }
        let attr = push_map_create(&mut self.blob, map);
        if let MapOrigin::StructOps(s) = &map.origin {
            self.struct_ops_value_type(attr, s);
        }
        self.b.note(format!("map_create #{i} `{}`", map.name));
        self.b.blob_addr(R1, attr);
        if map.btf_key_type_id != 0
            || map.btf_value_type_id != 0
            || matches!(map.origin, MapOrigin::StructOps(_))
        {
            self.set_fd(f::BTF_FD, self.btf_fd);
        }
        self.size_perf_event_array(map);
        if map.data_kind().is_none() {
            // ctx max_entries overrides the object's value when non-zero.
            let keep = self.b.label();
            self.b.load(Size::W, R2, CTX, ctx::map_max_entries(i));
            self.b.jump_if(false, BPF_JEQ, R2, 0, keep);
            self.b.store(Size::W, R1, f::MAX_ENTRIES, R2);
            self.b.bind(keep);
            self.map_settings(i);
        }
        if map.inner.is_some() {
            self.set_fd(f::INNER_MAP_FD, self.inner_fd);
        }
        if crate::maps::is_map_in_map(map.map_type) {
            self.user_inner_map(i, map);
        }
        self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
        if map.btf_key_type_id != 0 || map.btf_value_type_id != 0 {
            // A kernel that refuses the map's BTF types gets the map without them, as libbpf
            // does; on success this costs one compare.
            let created = self.b.label();
            self.b.jump_if(true, BPF_JSGE, RET, 0, created);
            self.b.note(format!(
                "map_create #{i} `{}` refused with BTF types: retry without",
                map.name
            ));
            self.b.blob_addr(R1, attr);
            for field in [f::BTF_FD, f::BTF_KEY_TYPE_ID, f::BTF_VALUE_TYPE_ID] {
                self.b.store_imm(Size::W, R1, field, 0);
            }
            self.sys_bpf(abi::BPF_MAP_CREATE, attr, f::SIZE);
            self.b.bind(created);
        }
        self.b.blob_addr(R1, self.map_slot(i));
        self.b.store(Size::W, R1, 0, RET);
        self.b.store(Size::W, CTX, ctx::map_fd(i), RET);
        if map.inner.is_some() {
            // The outer map keeps what it needs of the template: close it either way.
            self.close_blob_fd(self.inner_fd);
            self.b.blob_addr(R1, self.inner_fd);
            self.b.store_imm(Size::W, R1, 0, 0);
        }
        self.check_err(format!("create map `{}`", map.name));
    }

    /// With r1 = &attr: the settings the user changed before load, each taken from map `i`'s
    /// ctx descriptor when its `set` bit is on (a changed key or value size drops the BTF
    /// key/value types, which describe the object's sizes). Costs two instructions when
    /// nothing is set.
    fn map_settings(&mut self, i: usize) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let none = self.b.label();
        self.b.load(Size::W, R3, CTX, desc + d::SET);
        self.b.jump_if(false, BPF_JEQ, R3, 0, none);
        let fields = [
            (set::KEY_SIZE, d::KEY_SIZE, f::KEY_SIZE, Size::W),
            (set::VALUE_SIZE, d::VALUE_SIZE, f::VALUE_SIZE, Size::W),
            (set::MAP_FLAGS, d::MAP_FLAGS, f::MAP_FLAGS, Size::W),
            (set::NUMA_NODE, d::NUMA_NODE, f::NUMA_NODE, Size::W),
            (set::MAP_EXTRA, d::MAP_EXTRA, f::MAP_EXTRA, Size::DW),
        ];
        for (bit, from, to, size) in fields {
            let skip = self.b.label();
            self.b.mov_reg(R2, R3);
            self.b.and_imm(R2, bit as i32);
            self.b.jump_if(true, BPF_JEQ, R2, 0, skip);
            self.b.load(size, R2, CTX, desc + from);
            self.b.store(size, R1, to, R2);
            if bit == set::KEY_SIZE || bit == set::VALUE_SIZE {
                self.b.store_imm(Size::W, R1, f::BTF_KEY_TYPE_ID, 0);
                self.b.store_imm(Size::W, R1, f::BTF_VALUE_TYPE_ID, 0);
            }
            self.b.bind(skip);
        }
        self.b.bind(none);
    }

    /// With r1 = &attr of map-in-map `i`: the inner map the user gave before load
    /// (`set_inner_map`) stands in for the object's template; without a template it is
    /// required. The fd stays the user's: the loader never closes it.
    fn user_inner_map(&mut self, i: usize, map: &MapDef) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let (given, done) = (self.b.label(), self.b.label());
        self.b.load(Size::W, R2, CTX, desc + d::SET);
        self.b.and_imm(R2, set::INNER_MAP as i32);
        self.b.jump_if(true, BPF_JNE, R2, 0, given);
        if map.inner.is_some() {
            self.b.goto_long(done);
        } else {
            self.b.mov_imm(RET, -EINVAL);
            self.fail(format!(
                "map `{}` has no inner map definition: give one with `set_inner_map` before load",
                map.name
            ));
        }
        self.b.bind(given);
        self.b.load(Size::W, R2, CTX, desc + d::INNER_MAP_FD);
        self.b.store(Size::W, R1, f::INNER_MAP_FD, R2);
        self.b.bind(done);
    }

    /// Finds the kernel's `bpf_struct_ops_<name>` value type for struct_ops map attr `attr`.
    fn struct_ops_value_type(&mut self, attr: BlobOff, s: &StructOps) {
        let vtype = format!("bpf_struct_ops_{}", s.struct_name);
        let name = self.blob.push(
            &nul_terminated(&vtype),
            format!("struct_ops value type of `{}`", s.name),
        );
        self.b.note(format!(
            "struct_ops `{}`: find `{vtype}` in kernel BTF",
            s.name
        ));
        self.b.blob_addr(R1, name);
        self.b.mov_imm(R2, vtype.len() + 1);
        self.call_btf_find(crate::btf::kind::STRUCT);
        self.b.mov_reg(RET, R0);
        self.check_err(format!(
            "find the kernel's struct_ops type `{vtype}` of `{}` in kernel BTF",
            s.name
        ));
        self.b.blob_addr(R1, attr);
        self.b
            .store(Size::W, R1, abi::map_create::BTF_VMLINUX_VALUE_TYPE_ID, R0);
        // A module's type would need its BTF fd in the attr (beyond what the loader passes):
        // vmlinux types only; a module fd that came back is closed.
        self.b.rsh_imm(R0, 32);
        self.b.mov_reg(R1, R0);
        self.close_r1();
    }

    /// With r1 = &attr: a PERF_EVENT_ARRAY declared without max_entries gets one slot per
    /// possible CPU of the running machine (given by the runtime in the ctx), as libbpf does.
    fn size_perf_event_array(&mut self, map: &MapDef) {
        if map.map_type != crate::maps::PERF_EVENT_ARRAY || map.max_entries != 0 {
            return;
        }
        let n = self.plan.programs.len();
        self.b.load(
            Size::W,
            R2,
            CTX,
            ctx::possible_cpus(self.plan.maps.len(), n),
        );
        self.b.store(Size::W, R1, abi::map_create::MAX_ENTRIES, R2);
    }
}

/// Pushes the `BPF_MAP_CREATE` attr of `map` into `blob` (both loaders' map creation).
pub(crate) fn push_map_create(blob: &mut Blob, map: &MapDef) -> BlobOff {
    use abi::map_create as f;
    let mut attr = Attr::new(f::SIZE);
    attr.u32(f::MAP_TYPE, map.map_type)
        .u32(f::KEY_SIZE, map.key_size)
        .u32(f::VALUE_SIZE, map.value_size)
        .u32(f::MAX_ENTRIES, map.max_entries)
        .u32(f::MAP_FLAGS, map.map_flags)
        .u32(f::NUMA_NODE, map.numa_node)
        .name(f::MAP_NAME, &map.kernel_name)
        .u32(f::BTF_KEY_TYPE_ID, map.btf_key_type_id)
        .u32(f::BTF_VALUE_TYPE_ID, map.btf_value_type_id)
        .u64(f::MAP_EXTRA, map.map_extra);
    blob.push(&attr.0, format!("MAP_CREATE attr of `{}`", map.name))
}
