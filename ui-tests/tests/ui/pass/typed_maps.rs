// typed_maps.bpf.o: `skel.maps().x()` is typed where the object's BTF gives key and value
// types: TypedMap, PerCpuMap, Queue, BloomFilter, else the raw Map. Only type-checked.
#![deny(unsafe_code)]
lskel::bpf_skeleton!("../tests/bpf/typed_maps.bpf.o");

use std::os::fd::BorrowedFd;

use lskel::sys::bpf::flags::BPF_ANY;
use lskel::{BloomFilter, Map, MapInfo, PerCpuMap, ProgInfo, Queue, TypedMap};
use typed_maps::types::{tm_item, tm_key, tm_pcpu, tm_val};

#[allow(dead_code)]
fn after_load(skel: &typed_maps::Skel) -> lskel::Result<()> {
    let m = skel.maps();
    let hash: TypedMap<'_, tm_key, tm_val> = m.hash();
    let key = tm_key { pid: 1, tag: 7, cookie: 2 };
    let _: Option<tm_val> = hash.get(&key)?;
    hash.insert(&key, &tm_val { count: 1, sum: 2, comm: [0; 8] }, BPF_ANY)?;
    let _: bool = hash.remove(&key)?;
    let _: Option<tm_val> = hash.lookup_and_delete(&key)?;
    for k in hash.keys() {
        let _: tm_key = k?;
    }
    for e in hash.iter() {
        let (_k, _v): (tm_key, tm_val) = e?;
    }
    let _: Vec<(tm_key, tm_val)> = hash.lookup_batch()?;
    let _: usize = hash.update_batch(&[key], &[tm_val { count: 0, sum: 0, comm: [0; 8] }], BPF_ANY)?;
    let _: usize = hash.delete_batch(&[key])?;
    let _: TypedMap<'_, u32, tm_val> = m.array();
    let _: TypedMap<'_, u32, u64> = m.lru();

    let pa: PerCpuMap<'_, u32, tm_pcpu> = m.percpu_array();
    let per_cpu: Option<Vec<tm_pcpu>> = pa.get(&0)?;
    pa.insert(&0, &per_cpu.unwrap_or_default(), BPF_ANY)?;
    let _: PerCpuMap<'_, tm_key, u64> = m.percpu_hash();

    let q: Queue<'_, tm_item> = m.queue();
    q.push(&tm_item { a: 1, b: 2 }, BPF_ANY)?;
    let _: Option<tm_item> = q.pop()?;
    let _: Option<tm_item> = m.stack().peek()?;
    let b: BloomFilter<'_, u64> = m.bloom();
    b.push(&5)?;
    let _: bool = b.contains(&5)?;

    let bss: Map<'_> = m.bss();
    let _fd: BorrowedFd<'_> = bss.fd();
    let _raw: Map<'_> = hash.raw();
    let _: MapInfo = hash.info()?;
    let _: MapInfo = lskel::map_info(q.fd())?;
    let _stats: std::os::fd::OwnedFd = lskel::enable_stats()?;
    let info: ProgInfo = lskel::prog_info(skel.progs().tm_run().unwrap())?;
    let _: (u64, u64, u32) = (info.run_cnt, info.run_time_ns, info.id);
    Ok(())
}

fn main() {
    let mut open = typed_maps::open();
    open.maps.resized.set_value_size(16);
    let _ = after_load;
}
