// maps.bpf.o: one accessor per map of every type, and max_entries overrides before load.
lskel::bpf_skeleton!("../tests/bpf/maps.bpf.o");

use std::os::fd::BorrowedFd;

#[allow(dead_code)]
fn after_load(skel: &maps::Skel) -> lskel::Result<()> {
    let all: [BorrowedFd<'_>; 8] = [
        skel.maps().array_map().fd(),
        skel.maps().hash_map().fd(),
        skel.maps().percpu_array().fd(),
        skel.maps().percpu_hash().fd(),
        skel.maps().small_hash().fd(),
        skel.maps().raw_array().fd(),
        skel.maps().ringbuf().fd(),
        skel.maps().bss().fd(),
    ];
    let array = lskel::Map::new(all[0])?;
    let _ = array.get(&3u32.to_ne_bytes())?;
    let _rb = lskel::RingBuffer::new(skel.maps().ringbuf().fd());
    let _prog = skel.progs().write_maps().unwrap();
    let _runs: u64 = skel.bss().runs();
    let _err: i32 = skel.bss().err_small();
    Ok(())
}

fn main() {
    let mut open = maps::open();
    let declared = [
        (open.maps.array_map.max_entries(), 16),
        (open.maps.hash_map.max_entries(), 64),
        (open.maps.percpu_array.max_entries(), 1),
        (open.maps.percpu_hash.max_entries(), 64),
        (open.maps.small_hash.max_entries(), 4),
        (open.maps.raw_array.max_entries(), 4),
        (open.maps.ringbuf.max_entries(), 16384),
    ];
    for (got, want) in declared {
        assert_eq!(got, want);
    }

    // set_max_entries chains, and 0 means "keep the object's value" (the runtime's rule).
    open.maps.small_hash.set_max_entries(16).set_max_entries(32);
    assert_eq!(open.maps.small_hash.max_entries(), 32);
    open.maps.ringbuf.set_max_entries(64 * 1024);
    assert_eq!(open.maps.ringbuf.max_entries(), 65536);
    let copy: lskel::OpenMap = open.maps.hash_map;
    assert_eq!(copy, lskel::OpenMap::new(64));

    assert_eq!(open.bss.runs, 0);
    assert_eq!(std::mem::offset_of!(maps::Bss, runs), 32);
    let _ = after_load;
}
