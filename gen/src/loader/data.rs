//! Map contents: a data section's initial value (then frozen when read-only) and the static
//! `.values` slots of map-in-maps and prog_arrays.

use super::*;

impl Gen<'_> {
    /// Writes a data map's initial value (the object's bytes, or the user's copy when the
    /// ctx gives one) and freezes read-only sections.
    pub(super) fn map_init(&mut self, i: usize, map: &MapDef) {
        let crate::maps::MapOrigin::Data { kind, init, .. } = &map.origin else {
            return;
        };
        let value = self
            .blob
            .push(init, format!("initial value of `{}`", map.name));
        self.data_init[i] = Some(value.0);
        {
            use abi::map_elem as f;
            let attr = self.blob.push(
                &Attr::new(f::SIZE).0,
                format!("MAP_UPDATE_ELEM attr of `{}`", map.name),
            );
            self.b.note(format!(
                "initial value of `{}`: the user's copy when ctx gives one",
                map.name
            ));
            let keep = self.b.label();
            self.b.load(Size::DW, R3, CTX, ctx::map_initial_value(i));
            self.b.jump_if(true, BPF_JEQ, R3, 0, keep);
            self.b.blob_addr(R1, value);
            self.b.mov_imm(R2, map.value_size);
            self.b.call(abi::FUNC_COPY_FROM_USER);
            self.b.mov_reg(RET, R0);
            self.check_err(format!(
                "copy the initial value of `{}` from user memory",
                map.name
            ));
            self.b.bind(keep);
            self.b.note(format!("map_update_elem `{}`[0]", map.name));
            self.b.blob_addr(R1, attr);
            self.set_fd(f::MAP_FD, self.map_slot(i));
            self.set_ptr(f::KEY, self.zero_key);
            self.set_ptr(f::VALUE, value);
            self.sys_bpf(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE);
            self.check_err(format!("write the initial value of `{}`", map.name));
        }
        if kind.is_readonly() {
            use abi::map_freeze as f;
            let attr = self.blob.push(
                &Attr::new(f::SIZE).0,
                format!("MAP_FREEZE attr of `{}`", map.name),
            );
            self.b.note(format!("map_freeze `{}`", map.name));
            self.b.blob_addr(R1, attr);
            self.set_fd(f::MAP_FD, self.map_slot(i));
            self.sys_bpf(abi::BPF_MAP_FREEZE, attr, f::SIZE);
            self.check_err(format!("freeze `{}`", map.name));
        }
    }

    /// `outer[slot] = map m` (static `.values` of a map-in-map).
    pub(super) fn init_map_slot(&mut self, i: usize, slot: u32, m: usize) {
        let (outer, inner) = (&self.plan.maps[i].name, &self.plan.maps[m].name);
        self.b.note(format!("`{outer}`[{slot}] = map `{inner}`"));
        let value = self.map_slot(m);
        self.map_update(
            i,
            slot,
            value,
            format!("store map `{inner}` in `{outer}`[{slot}]"),
        );
    }

    /// `prog_array[slot] = program j`, after the programs are loaded.
    pub(super) fn init_prog_slot(&mut self, i: usize, slot: u32, j: usize) {
        let (map, prog) = (
            &self.plan.maps[i].name,
            &self.plan.programs[j].def.func.name,
        );
        self.b.note(format!(
            "`{map}`[{slot}] = program `{prog}` (unless not loaded)"
        ));
        let skip = self.b.label();
        self.skip_if_off(j, skip);
        self.b
            .load(Size::W, R2, CTX, ctx::prog_fd(self.plan.maps.len(), j));
        self.b.blob_addr(R1, self.scratch);
        self.b.store(Size::W, R1, 0, R2);
        let value = self.scratch;
        self.map_update(
            i,
            slot,
            value,
            format!("store program `{prog}` in `{map}`[{slot}]"),
        );
        self.b.bind(skip);
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
        self.b.blob_addr(R1, attr);
        self.set_fd(f::MAP_FD, self.map_slot(i));
        self.set_ptr(f::KEY, key);
        self.set_ptr(f::VALUE, value);
        self.sys_bpf(abi::BPF_MAP_UPDATE_ELEM, attr, f::SIZE);
        self.check_err(what);
    }
}
