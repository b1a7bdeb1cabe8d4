//! Map steps as ops: create (with the ctx settings, inner templates, reuse), initial values
//! and freeze, and the static `.values` / prog_array slots.

use super::*;

impl Table<'_> {
    fn has_btf(map: &MapDef) -> bool {
        map.btf_key_type_id != 0 || map.btf_value_type_id != 0
    }

    /// The kernel's `bpf_struct_ops_<struct>` value type of struct_ops map `name`, into the
    /// attr's `btf_vmlinux_value_type_id`. A module's type would need its BTF fd in the attr
    /// (beyond what the loader passes): vmlinux types only; a module fd that came back is
    /// closed.
    fn struct_ops_value_type(&mut self, attr: BlobOff, name: &str, struct_name: &str) {
        let vtype = format!("bpf_struct_ops_{struct_name}");
        let mut bytes = vtype.as_bytes().to_vec();
        bytes.push(0);
        let off = self
            .blob
            .push(&bytes, format!("struct_ops value type of `{name}`"));
        let found = self.found_word();
        let mut op = Op::new(kind::FIND);
        (op.a, op.b, op.c, op.d) = (off.0, bytes.len() as u32, crate::btf::kind::STRUCT, found.0);
        op.step = self.step(format!(
            "find the kernel's struct_ops type `{vtype}` of `{name}` in kernel BTF"
        ));
        self.push(op);
        let to = attr.at(abi::map_create::BTF_VMLINUX_VALUE_TYPE_ID).0;
        self.copy(found.0, to, false);
        self.close(found.at(4).0);
    }

    /// A PERF_EVENT_ARRAY declared without max_entries: one slot per possible CPU.
    fn size_perf_event_array(&mut self, map: &MapDef, attr: BlobOff) {
        if map.map_type != crate::maps::PERF_EVENT_ARRAY || map.max_entries != 0 {
            return;
        }
        let cpus = ctx::possible_cpus(self.plan.maps.len(), self.plan.programs.len());
        let to = attr.at(abi::map_create::MAX_ENTRIES).0;
        self.copy(self.area(cpus), to, false);
    }

    /// Map `i`: reused, or created with the ctx settings (then written and frozen). Without
    /// overrides: created with the object's settings (and the few the ctx still gives, see
    /// [`Table::map_settings`]), never reused.
    pub fn map(&mut self, i: usize, map: &MapDef) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let (create, reused) = (self.label(), self.label());
        if self.overrides {
            let desc = ctx::map_desc(i);
            self.jump(cond::EQ, self.area(desc + d::SET), set::REUSE, 0, create);
            self.jump(cond::SGE, self.area(ctx::map_fd(i)), u32::MAX, 1, reused);
            self.fail(
                EBADF,
                format!("reuse map `{}`: the fd given is not a descriptor", map.name),
            );
        }
        self.bind(create);
        if let Some(inner) = &map.inner {
            let attr = push_map_create(&mut self.blob, inner);
            if Self::has_btf(inner) {
                self.copy(self.btf_fd.0, attr.at(f::BTF_FD).0, false);
            }
            self.size_perf_event_array(inner, attr);
            let step = self.step(format!("create the inner map template of `{}`", map.name));
            self.sys(
                abi::BPF_MAP_CREATE,
                attr,
                f::SIZE,
                Some(self.inner_fd.0),
                false,
                step,
            );
        }
        let attr = push_map_create(&mut self.blob, map);
        let struct_ops = matches!(map.origin, MapOrigin::StructOps(_));
        if let MapOrigin::StructOps(so) = &map.origin {
            self.struct_ops_value_type(attr, &so.name, &so.struct_name);
        }
        if Self::has_btf(map) || struct_ops {
            self.copy(self.btf_fd.0, attr.at(f::BTF_FD).0, false);
        }
        self.size_perf_event_array(map, attr);
        if map.data_kind().is_none() {
            if self.overrides {
                let keep = self.label();
                let max = self.area(ctx::map_max_entries(i));
                self.jump(cond::EQ, max, u32::MAX, 0, keep);
                self.copy(max, attr.at(f::MAX_ENTRIES).0, false);
                self.bind(keep);
            }
            self.map_settings(i, attr, struct_ops);
        }
        if map.inner.is_some() {
            self.copy(self.inner_fd.0, attr.at(f::INNER_MAP_FD).0, false);
        }
        // Without overrides, `emit_with` refused a map-in-map without an inner definition.
        if crate::maps::is_map_in_map(map.map_type) && self.overrides {
            self.user_inner_map(i, map, attr);
        }
        let step = self.step(format!("create map `{}`", map.name));
        let slot = Some(self.map_slot(i).0);
        if Self::has_btf(map) {
            // A kernel that refuses the BTF types gets the map without them, as libbpf does.
            let created = self.label();
            self.sys(abi::BPF_MAP_CREATE, attr, f::SIZE, slot, true, step);
            self.jump(
                cond::SGE,
                self.state.at(crate::interp::emit::state::RET).0,
                u32::MAX,
                0,
                created,
            );
            for field in [f::BTF_FD, f::BTF_KEY_TYPE_ID, f::BTF_VALUE_TYPE_ID] {
                self.store(attr.at(field).0, 0);
            }
            self.sys(abi::BPF_MAP_CREATE, attr, f::SIZE, slot, false, step);
            self.bind(created);
        } else {
            self.sys(abi::BPF_MAP_CREATE, attr, f::SIZE, slot, false, step);
        }
        self.copy(self.map_slot(i).0, self.area(ctx::map_fd(i)), false);
        if map.inner.is_some() {
            self.close(self.inner_fd.0);
        }
        if map.data_kind().is_some() && !map.starts_zeroed() {
            self.map_init(i, map);
        }
        self.bind(reused);
    }

    /// The settings the user changed before load, each when its `set` bit is on (a changed
    /// key or value size drops the BTF key/value types).
    ///
    /// Without overrides only what does not change what the programs see: the NUMA node,
    /// and a struct_ops map's value size (the runtime sets it to the size of the running
    /// kernel's `bpf_struct_ops_*` type; the kernel checks the value against that type).
    fn map_settings(&mut self, i: usize, attr: BlobOff, struct_ops: bool) {
        use abi::map_create as f;
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let none = self.label();
        let set_word = self.area(desc + d::SET);
        self.jump(cond::EQ, set_word, u32::MAX, 0, none);
        let fields = [
            (set::KEY_SIZE, d::KEY_SIZE, f::KEY_SIZE, false),
            (set::VALUE_SIZE, d::VALUE_SIZE, f::VALUE_SIZE, false),
            (set::MAP_FLAGS, d::MAP_FLAGS, f::MAP_FLAGS, false),
            (set::NUMA_NODE, d::NUMA_NODE, f::NUMA_NODE, false),
            (set::MAP_EXTRA, d::MAP_EXTRA, f::MAP_EXTRA, true),
        ];
        let kept = |bit: u32| bit == set::NUMA_NODE || (struct_ops && bit == set::VALUE_SIZE);
        let overrides = self.overrides;
        for (bit, from, to, wide) in fields
            .into_iter()
            .filter(|&(bit, ..)| overrides || kept(bit))
        {
            let skip = self.label();
            self.jump(cond::EQ, set_word, bit, 0, skip);
            self.copy(self.area(desc + from), attr.at(to).0, wide);
            if bit == set::KEY_SIZE || bit == set::VALUE_SIZE {
                self.store(attr.at(f::BTF_KEY_TYPE_ID).0, 0);
                self.store(attr.at(f::BTF_VALUE_TYPE_ID).0, 0);
            }
            self.bind(skip);
        }
        self.bind(none);
    }

    /// The inner map the user gave before load stands in for the object's template; without
    /// a template it is required. The fd stays the user's.
    fn user_inner_map(&mut self, i: usize, map: &MapDef, attr: BlobOff) {
        use ctx::{map as d, set};
        let desc = ctx::map_desc(i);
        let (given, done) = (self.label(), self.label());
        self.jump(cond::NE, self.area(desc + d::SET), set::INNER_MAP, 0, given);
        if map.inner.is_some() {
            self.goto(done);
        } else {
            self.fail(
                EINVAL,
                format!(
                    "map `{}` has no inner map definition: give one with `set_inner_map` before load",
                    map.name
                ),
            );
        }
        self.bind(given);
        let to = attr.at(abi::map_create::INNER_MAP_FD).0;
        self.copy(self.area(desc + d::INNER_MAP_FD), to, false);
        self.bind(done);
    }

    /// A data map's initial value (the user's copy when the ctx gives one), then freeze
    /// when read-only. Without overrides only `.kconfig` takes its value from the ctx (the
    /// runtime computes it on the running kernel); the others are the blob's.
    fn map_init(&mut self, i: usize, map: &MapDef) {
        let MapOrigin::Data { kind: dk, init, .. } = &map.origin else {
            return;
        };
        let mut bytes = init.clone();
        bytes.resize(bytes.len().max(map.value_size as usize), 0);
        let v = Val(self.values.len());
        self.values.push((
            bytes,
            format!("initial value of `{}`", map.name),
            map.value_size as usize,
        ));
        self.data_val[i] = Some(v);
        if self.overrides || *dk == crate::maps::DataKind::Kconfig {
            let step = self.step(format!(
                "copy the initial value of `{}` from user memory",
                map.name
            ));
            let mut op = Op::new(kind::READ);
            op.a = self.area(ctx::map_initial_value(i));
            op.c = map.value_size;
            op.step = step;
            self.value_refs.push((self.ops.len(), Operand::B, v));
            self.push(op);
        }
        {
            use abi::map_elem as f;
            let attr = self.blob.push(
                &Attr::new(f::SIZE).0,
                format!("MAP_UPDATE_ELEM attr of `{}`", map.name),
            );
            self.copy(self.map_slot(i).0, attr.at(f::MAP_FD).0, false);
            self.ptr(attr.at(f::KEY).0, self.zero_key);
            self.ptr_val(attr.at(f::VALUE).0, v);
            let step = self.step(format!("write the initial value of `{}`", map.name));
            self.sys(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE, None, false, step);
        }
        if dk.is_readonly() {
            use abi::map_freeze as f;
            let attr = self.blob.push(
                &Attr::new(f::SIZE).0,
                format!("MAP_FREEZE attr of `{}`", map.name),
            );
            self.copy(self.map_slot(i).0, attr.at(f::MAP_FD).0, false);
            let step = self.step(format!("freeze `{}`", map.name));
            self.sys(abi::BPF_MAP_FREEZE, attr, f::SIZE, None, false, step);
        }
    }

    /// `BPF_MAP_UPDATE_ELEM(map i, key = slot, value = blob[value])`.
    fn map_update(&mut self, i: usize, slot: u32, value: BlobOff, what: String) {
        use abi::map_elem as f;
        let key = self.blob.push(&slot.to_le_bytes(), format!("key {slot}"));
        let attr = self.blob.push(
            &Attr::new(f::SIZE).0,
            format!(
                "MAP_UPDATE_ELEM attr of `{}`[{slot}]",
                self.plan.maps[i].name
            ),
        );
        self.copy(self.map_slot(i).0, attr.at(f::MAP_FD).0, false);
        self.ptr(attr.at(f::KEY).0, key);
        self.ptr(attr.at(f::VALUE).0, value);
        let step = self.step(what);
        self.sys(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE, None, false, step);
    }

    /// `outer[slot] = map m` (static `.values` of a map-in-map).
    pub fn init_map_slot(&mut self, i: usize, slot: u32, m: usize) {
        let (outer, inner) = (&self.plan.maps[i].name, &self.plan.maps[m].name);
        let what = format!("store map `{inner}` in `{outer}`[{slot}]");
        self.map_update(i, slot, self.map_slot(m), what);
    }

    /// `prog_array[slot] = program j`, unless it was not loaded.
    pub fn init_prog_slot(&mut self, i: usize, slot: u32, j: usize) {
        let n_maps = self.plan.maps.len();
        let (map, prog) = (
            &self.plan.maps[i].name,
            &self.plan.programs[j].def.func.name,
        );
        let what = format!("store program `{prog}` in `{map}`[{slot}]");
        let (skip, fd) = (self.label(), self.area(ctx::prog_fd(n_maps, j)));
        self.jump(cond::EQ, fd, u32::MAX, ctx::PROG_SKIP as u32, skip);
        self.copy(fd, self.scratch.0, false);
        self.map_update(i, slot, self.scratch, what);
        self.bind(skip);
    }
}
