//! `flags` of `BPF_MAP_UPDATE_ELEM` and the lookups, by kernel name without `BPF_` (and `F_`).

c_values! { u64;
    /// Create or update an element.
    "BPF_ANY" => ANY = 0;
    /// Create only.
    "BPF_NOEXIST" => NOEXIST = 1;
    /// Update only.
    "BPF_EXIST" => EXIST = 2;
    "BPF_F_LOCK" => LOCK = 4;
}
