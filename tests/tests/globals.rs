//! globals.bpf.o: every kind of global data section (`.data`, `.rodata`, `.data.custom`,
//! `.rodata.custom`, `.bss`), read by the `read_globals` syscall program.

use std::mem::{offset_of, size_of};

use lskel::{Errno, Map};
use lskel_tests::{c_chars, require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/globals.bpf.o");

use globals::types::nested_t;

fn run(skel: &globals::Skel) -> globals::Bss {
    assert_eq!(
        run_syscall_prog(skel.progs().read_globals().unwrap(), &mut []).unwrap(),
        0
    );
    skel.bss().read()
}

fn msg(s: &str) -> [i8; 16] {
    let mut m = [0i8; 16];
    for (d, b) in m.iter_mut().zip(s.bytes()) {
        *d = b as i8;
    }
    m
}

#[test]
fn struct_layouts_match_c() {
    // Sizes and offsets of the C sections (tests/bpf/README.md); no kernel needed.
    assert_eq!(size_of::<nested_t>(), 24);
    assert_eq!(offset_of!(nested_t, c), 0);
    assert_eq!(offset_of!(nested_t, x), 8);
    assert_eq!(offset_of!(nested_t, arr), 16);
    assert_eq!(std::mem::align_of::<nested_t>(), 8);

    assert_eq!(size_of::<globals::Data>(), 48);
    assert_eq!(offset_of!(globals::Data, data_counter), 0);
    assert_eq!(offset_of!(globals::Data, data_arr), 8);
    assert_eq!(offset_of!(globals::Data, nested), 24);

    assert_eq!(size_of::<globals::Rodata>(), 32);
    assert_eq!(offset_of!(globals::Rodata, knob), 0);
    assert_eq!(offset_of!(globals::Rodata, msg), 4);
    assert_eq!(offset_of!(globals::Rodata, big_knob), 24);

    assert_eq!(size_of::<globals::DataCustom>(), 4);
    assert_eq!(size_of::<globals::RodataCustom>(), 4);

    assert_eq!(size_of::<globals::Bss>(), 88);
    assert_eq!(offset_of!(globals::Bss, out_knob2), 0);
    assert_eq!(offset_of!(globals::Bss, out_nested_x), 40);
    assert_eq!(offset_of!(globals::Bss, out_counter), 80);
}

#[test]
fn struct_sizes_match_the_kernel_maps() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    let m = skel.maps();
    for (name, fd, size, flags) in [
        ("data", m.data().fd(), size_of::<globals::Data>(), 0),
        (
            "rodata",
            m.rodata().fd(),
            size_of::<globals::Rodata>(),
            lskel::sys::bpf::flags::BPF_F_RDONLY_PROG,
        ),
        (
            "data_custom",
            m.data_custom().fd(),
            size_of::<globals::DataCustom>(),
            0,
        ),
        (
            "rodata_custom",
            m.rodata_custom().fd(),
            size_of::<globals::RodataCustom>(),
            lskel::sys::bpf::flags::BPF_F_RDONLY_PROG,
        ),
        ("bss", m.bss().fd(), size_of::<globals::Bss>(), 0),
    ] {
        let info = lskel::sys::bpf::map_info(fd).unwrap();
        assert_eq!(info.value_size as usize, size, "{name}");
        assert_eq!(info.max_entries, 1, "{name}");
        assert_eq!(info.map_type, lskel::sys::bpf::map_type::BPF_MAP_TYPE_ARRAY);
        assert_ne!(
            info.map_flags & lskel::sys::bpf::flags::BPF_F_MMAPABLE,
            0,
            "{name} is mmapable"
        );
        assert_eq!(
            info.map_flags & lskel::sys::bpf::flags::BPF_F_RDONLY_PROG,
            flags,
            "{name}"
        );
    }
}

#[test]
fn initial_values_are_visible_in_the_open_skeleton() {
    let open = globals::open();
    assert_eq!(open.data.data_counter, 100);
    assert_eq!(open.data.data_arr, [1, 2, 3, 4]);
    let n = open.data.nested;
    assert_eq!(n.c, b'A' as i8);
    assert_eq!(n.x, 0x1122_3344_5566_7788);
    assert_eq!(n.arr, [10, 20, 30]);
    assert_eq!(n.__pad_1, [0; 7]);
    assert_eq!(open.rodata.knob, 7);
    assert_eq!(c_chars(&open.rodata.msg), "hello");
    assert_eq!(open.rodata.msg[5..], [0; 11]);
    assert_eq!(open.rodata.big_knob, 0xdead_beef_cafe_f00d);
    assert_eq!(open.data_custom.custom_val, 42);
    assert_eq!(open.rodata_custom.ro_custom, 5);
    assert_eq!(open.bss.out_counter, 0);
    assert_eq!(open.bss.out_knob2, 0);
}

#[test]
fn default_values_reach_the_program() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    // Before the first run, the mmaped sections hold the initial values.
    assert_eq!(skel.data().data_counter(), 100);
    assert_eq!(skel.rodata().knob, 7);
    assert_eq!(skel.data_custom().custom_val(), 42);
    assert_eq!(skel.rodata_custom().ro_custom, 5);
    assert_eq!(skel.bss().out_counter(), 0);

    let b = run(&skel);
    assert_eq!(b.out_knob2, 14);
    assert_eq!(b.out_msg0, u64::from(b'h'));
    assert_eq!(b.out_msg_len, 5);
    assert_eq!(b.out_big_knob, 0xdead_beef_cafe_f00d);
    assert_eq!(b.out_nested_c, 65);
    assert_eq!(b.out_nested_x, 0x1122_3344_5566_7788);
    assert_eq!(b.out_nested_arr, 60);
    assert_eq!(b.out_arr_sum, 10);
    assert_eq!(b.out_custom, 42);
    assert_eq!(b.out_ro_custom, 5);
    assert_eq!(b.out_counter, 101);
    assert_eq!(
        skel.data().data_counter(),
        101,
        ".data changed by the program"
    );

    assert_eq!(run(&skel).out_counter, 102);
    assert_eq!(skel.data().data_counter(), 102);
}

#[test]
fn values_set_before_load_change_the_output() {
    require_kernel!();
    let mut open = globals::open();
    open.rodata.knob = 21;
    open.rodata.msg = msg("world");
    open.rodata.big_knob = 1;
    open.rodata_custom.ro_custom = 77;
    open.data_custom.custom_val = 4242;
    open.data.nested.x = 0x0102_0304_0506_0708;
    open.data.nested.c = b'z' as i8;
    open.data.nested.arr = [1, 1, 1];
    open.data.data_arr = [100, 200, 300, 400];
    open.data.data_counter = 9;
    let skel = open.load().unwrap();
    // The kernel's copies hold the user's values.
    assert_eq!(skel.rodata().knob, 21);
    assert_eq!(c_chars(&skel.rodata().msg), "world");
    assert_eq!(skel.rodata_custom().ro_custom, 77);
    assert_eq!(skel.data_custom().custom_val(), 4242);

    let b = run(&skel);
    assert_eq!(b.out_knob2, 42);
    assert_eq!(b.out_msg0, 119);
    assert_eq!(b.out_msg_len, 5);
    assert_eq!(b.out_big_knob, 1);
    assert_eq!(b.out_ro_custom, 77);
    assert_eq!(b.out_custom, 4242);
    assert_eq!(b.out_nested_x, 0x0102_0304_0506_0708);
    assert_eq!(b.out_nested_c, u64::from(b'z'));
    assert_eq!(b.out_nested_arr, 3);
    assert_eq!(b.out_arr_sum, 1000);
    assert_eq!(b.out_counter, 10);
}

#[test]
fn message_without_nul_gives_full_length() {
    require_kernel!();
    let mut open = globals::open();
    open.rodata.msg = [b'x' as i8; 16];
    let skel = open.load().unwrap();
    let b = run(&skel);
    assert_eq!(b.out_msg_len, 16);
    assert_eq!(b.out_msg0, u64::from(b'x'));
}

#[test]
fn initial_bss_set_before_load_is_written() {
    require_kernel!();
    let mut open = globals::open();
    open.bss.out_ro_custom = 999;
    open.bss.out_msg0 = 5;
    let skel = open.load().unwrap();
    assert_eq!(skel.bss().out_ro_custom(), 999);
    assert_eq!(skel.bss().out_msg0(), 5);
    run(&skel);
    assert_eq!(skel.bss().out_ro_custom(), 5, "overwritten by the program");
}

#[test]
fn mmap_writes_to_data_and_bss_are_seen_by_the_program() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    {
        let d = skel.data();
        d.set_data_counter(1000);
        d.set_data_arr([5, 5, 5, 5]);
        let mut nested = d.nested();
        nested.x = 77;
        nested.arr[2] = 100;
        d.set_nested(nested);
    }
    skel.data_custom().set_custom_val(31337);
    skel.bss().set_out_big_knob(12345);
    // The map API sees the mmap writes (same memory).
    let data_map = Map::new(skel.maps().data().fd()).unwrap();
    let raw = data_map.get(&0u32.to_ne_bytes()).unwrap().unwrap();
    assert_eq!(u64::from_ne_bytes(raw[..8].try_into().unwrap()), 1000);
    assert_eq!(skel.bss().out_big_knob(), 12345);

    let b = run(&skel);
    assert_eq!(b.out_counter, 1001);
    assert_eq!(b.out_arr_sum, 20);
    assert_eq!(b.out_nested_x, 77);
    assert_eq!(b.out_nested_arr, 10 + 20 + 100);
    assert_eq!(b.out_custom, 31337);
    assert_eq!(
        b.out_big_knob, 0xdead_beef_cafe_f00d,
        ".bss output rewritten"
    );
    assert_eq!(skel.data().data_counter(), 1001);

    // Map-API writes are seen through the mmap too.
    let mut v = raw.clone();
    v[..8].copy_from_slice(&50u64.to_ne_bytes());
    data_map.update(&0u32.to_ne_bytes(), &v, 0).unwrap();
    assert_eq!(skel.data().data_counter(), 50);
    assert_eq!(run(&skel).out_counter, 51);
}

/// Permissions of the `/proc/self/maps` line that contains `addr`.
fn mapping_perms(addr: usize) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    for line in maps.lines() {
        let mut it = line.split_whitespace();
        let range = it.next().unwrap();
        let perms = it.next().unwrap();
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (
            usize::from_str_radix(a, 16).unwrap(),
            usize::from_str_radix(b, 16).unwrap(),
        );
        if (a..b).contains(&addr) {
            return perms.to_string();
        }
    }
    panic!("{addr:#x} is not mapped");
}

#[test]
fn rodata_is_read_only_after_load() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    let ro = skel.rodata();
    let zeros = vec![0u8; size_of::<globals::Rodata>()];
    for (name, fd, len) in [
        (
            "rodata",
            skel.maps().rodata().fd(),
            size_of::<globals::Rodata>(),
        ),
        (
            "rodata_custom",
            skel.maps().rodata_custom().fd(),
            size_of::<globals::RodataCustom>(),
        ),
    ] {
        let map = Map::new(fd).unwrap();
        let err = map
            .update(&0u32.to_ne_bytes(), &zeros[..len], 0)
            .unwrap_err();
        assert_eq!(err.errno(), Some(Errno::PERM), "{name}: {err}");
        // A writable mmap of the frozen map is refused.
        let p = page_size();
        // SAFETY: a fresh shared mapping at an address the kernel picks; unmapped below if it succeeds.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                p,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                0,
            )
        };
        if ptr != libc::MAP_FAILED {
            // SAFETY: `ptr` is the mapping just created, of `p` bytes.
            unsafe { libc::munmap(ptr, p) };
            panic!("{name}: writable mmap of a frozen map succeeded");
        }
    }
    // The skeleton's own views are read-only mappings.
    let perms = mapping_perms(std::ptr::from_ref(ro) as usize);
    assert!(perms.starts_with("r-"), "rodata mapping is {perms}");
    let perms = mapping_perms(std::ptr::from_ref(skel.rodata_custom()) as usize);
    assert!(perms.starts_with("r-"), "rodata_custom mapping is {perms}");
    let perms = mapping_perms(skel.data().as_ptr() as usize);
    assert!(perms.starts_with("rw"), "data mapping is {perms}");
    // The values are unchanged and the program still sees them.
    assert_eq!(ro.knob, 7);
    assert_eq!(run(&skel).out_knob2, 14);
    // Writable sections stay writable through the map API.
    let bss = Map::new(skel.maps().bss().fd()).unwrap();
    bss.update(&0u32.to_ne_bytes(), &[0u8; 88], 0).unwrap();
    assert_eq!(skel.bss().out_knob2(), 0);
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

#[test]
fn two_loads_have_independent_globals() {
    require_kernel!();
    let mut a = globals::open();
    a.rodata.knob = 1;
    let mut b = globals::open();
    b.rodata.knob = 2;
    let a = a.load().unwrap();
    let b = b.load().unwrap();
    a.data().set_data_counter(500);
    assert_eq!(b.data().data_counter(), 100);
    assert_eq!(run(&a).out_knob2, 2);
    assert_eq!(run(&b).out_knob2, 4);
    assert_eq!(a.bss().out_counter(), 501);
    assert_eq!(b.bss().out_counter(), 101);
}

#[test]
fn a_live_view_reads_what_map_update_wrote() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    // With `&Data` the compiler could keep the first read for the second (same reference, no
    // write through it in between); a view copies from the mapping each time.
    let view = skel.data();
    assert_eq!(view.data_counter(), 100);
    let data_map = Map::new(skel.maps().data().fd()).unwrap();
    let mut v = data_map.get(&0u32.to_ne_bytes()).unwrap().unwrap();
    v[..8].copy_from_slice(&77u64.to_ne_bytes());
    data_map.update(&0u32.to_ne_bytes(), &v, 0).unwrap();
    assert_eq!(view.data_counter(), 77);
    assert_eq!(view.read().data_counter, 77);
    assert_eq!(
        view.data_counter_atomic()
            .load(std::sync::atomic::Ordering::Acquire),
        77
    );
}

#[test]
fn atomics_and_whole_section_writes_reach_the_program() {
    require_kernel!();
    let skel = globals::open().load().unwrap();
    let old = (skel.data().data_counter_atomic()).fetch_add(5, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(old, 100);
    assert_eq!(run(&skel).out_counter, 106);
    let mut d = skel.data().read();
    d.data_counter = 9;
    skel.data().write(&d);
    assert_eq!(run(&skel).out_counter, 10);
}

#[test]
fn mapped_data_checks_the_map_first() {
    require_kernel!();
    use std::os::fd::AsFd;
    let skel = globals::open().load().unwrap();
    // Not a BPF map at all.
    let file = std::fs::File::open("/proc/self/status").unwrap();
    assert!(lskel::MappedData::<u64>::new(file.as_fd()).is_err());
    // Read-only for programs: only a read-only view.
    assert!(lskel::MappedData::<globals::Rodata>::new(skel.maps().rodata().fd()).is_err());
    // The kernel's value is smaller than the type.
    assert!(matches!(
        lskel::MappedData::<[u64; 4096]>::new(skel.maps().bss().fd()),
        Err(lskel::Error::ValueSize { .. })
    ));
    // An array without BPF_F_MMAPABLE.
    let plain = lskel::sys::bpf::map_create(&lskel::sys::bpf::MapCreateAttr {
        map_type: lskel::sys::bpf::map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        ..Default::default()
    })
    .unwrap();
    assert!(lskel::MappedData::<u64>::new(plain.as_fd()).is_err());
    // A writable view of a writable section is fine, and sees the skeleton's memory.
    let other = lskel::MappedData::<globals::Data>::new(skel.maps().data().fd()).unwrap();
    other.write_at::<u64>(0, 4321);
    assert_eq!(skel.data().data_counter(), 4321);
}
