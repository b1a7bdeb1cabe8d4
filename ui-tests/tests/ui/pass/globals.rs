// globals.bpf.o: every kind of data section, a nested struct through `globals::types`, arrays
// and strings, all read and written on the open skeleton (no kernel).
lskel::bpf_skeleton!("../tests/bpf/globals.bpf.o");

use globals::types::nested_t;

/// The loaded skeleton has one accessor per section: writable ones have a `_mut` twin,
/// read-only ones (.rodata, .rodata.custom) do not. Never called here.
#[allow(dead_code)]
fn after_load(skel: &mut globals::Skel) -> u64 {
    skel.data().set_data_counter(0);
    skel.data_custom().set_custom_val(1);
    skel.bss().set_out_counter(0);
    let _fd = skel.progs().read_globals().unwrap();
    let _fds = (
        skel.maps().data().fd(),
        skel.maps().rodata().fd(),
        skel.maps().data_custom().fd(),
        skel.maps().rodata_custom().fd(),
        skel.maps().bss().fd(),
    );
    u64::from(skel.rodata().knob) + u64::from(skel.rodata_custom().ro_custom) + skel.bss().out_knob2()
}

fn main() {
    let mut open = globals::open();

    // .data
    assert_eq!(open.data.data_counter, 100);
    assert_eq!(open.data.data_arr, [1u32, 2, 3, 4]);
    let nested: nested_t = open.data.nested;
    assert_eq!(nested.c as u8, b'A');
    assert_eq!(nested.x, 0x1122_3344_5566_7788u64);
    assert_eq!(nested.arr, [10u16, 20, 30]);

    // .rodata
    assert_eq!(open.rodata.knob, 7u32);
    assert_eq!(open.rodata.big_knob, 0xdead_beef_cafe_f00du64);
    let msg: Vec<u8> = open.rodata.msg.iter().map(|&c| c as u8).collect();
    assert_eq!(&msg[..6], b"hello\0");

    // custom sections get their own struct and field.
    assert_eq!(open.data_custom.custom_val, 42);
    assert_eq!(open.rodata_custom.ro_custom, 5);

    // .bss starts zeroed.
    assert_eq!(open.bss.out_knob2, 0);
    assert_eq!(open.bss.out_counter, 0);

    // Set values before load, including inside the nested struct.
    open.rodata.knob = 21;
    for (dst, src) in open.rodata.msg.iter_mut().zip(b"world\0") {
        *dst = *src as _;
    }
    open.data.nested.x = 7;
    open.data.nested.arr[2] = 300;
    open.data_custom.custom_val = 43;
    open.rodata_custom.ro_custom = 6;
    assert_eq!(open.rodata.knob, 21);
    assert_eq!(open.rodata.msg[0] as u8, b'w');
    assert_eq!(open.data.nested.arr, [10, 20, 300]);

    // A nested type is an ordinary Copy value with the C layout (padding made explicit).
    let copy: nested_t = open.data.nested;
    assert_eq!(copy.x, 7);
    assert_eq!(std::mem::size_of::<nested_t>(), 24);
    assert_eq!(std::mem::offset_of!(nested_t, x), 8);
    assert_eq!(std::mem::offset_of!(nested_t, arr), 16);
    assert_eq!(std::mem::size_of::<globals::Data>(), 48);
    assert_eq!(std::mem::offset_of!(globals::Data, nested), 24);
    assert_eq!(std::mem::size_of::<globals::Rodata>(), 32);
    assert_eq!(std::mem::offset_of!(globals::Rodata, big_knob), 24);
    assert_eq!(std::mem::size_of::<globals::Bss>(), 88);
    let _ = format!("{copy:?}");

    let _ = after_load;
}
