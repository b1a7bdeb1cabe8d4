//! The record header of `BPF_MAP_TYPE_RINGBUF` / `BPF_MAP_TYPE_USER_RINGBUF` (an anonymous
//! enum of `linux/bpf.h`), by kernel name without `BPF_RINGBUF_`.

c_values! { u32;
    /// Set in a record's length word while its producer still writes it.
    "BPF_RINGBUF_BUSY_BIT" => BUSY_BIT = 1 << 31;
    /// Set in a record's length word when its producer dropped it.
    "BPF_RINGBUF_DISCARD_BIT" => DISCARD_BIT = 1 << 30;
}

c_values! { table HDR_C_VALUES; usize;
    /// Bytes of the header before each record.
    "BPF_RINGBUF_HDR_SZ" => HDR_SZ = 8;
}
