//! arena.bpf.o: BPF_MAP_TYPE_ARENA, one at a fixed user address (map_extra) used by a program
//! that allocates a page and writes it, one with map_extra 0 placed by user space's first mmap.

use std::os::fd::{AsRawFd, BorrowedFd};

use lskel::sys::bpf::map_info;
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("bpf/arena.bpf.o");

const BPF_MAP_TYPE_ARENA: u32 = 33;
const BPF_F_MMAPABLE: u32 = 1 << 10;
const ARENA_ADDR: u64 = 0x1000_0000;

fn page() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// A shared read-write mapping of an arena, unmapped on drop.
struct ArenaMap {
    ptr: *mut u8,
    len: usize,
}

impl ArenaMap {
    fn new(fd: BorrowedFd<'_>, addr: u64, pages: usize) -> Result<ArenaMap, std::io::Error> {
        let len = pages * page();
        let flags = if addr != 0 {
            libc::MAP_SHARED | libc::MAP_FIXED_NOREPLACE
        } else {
            libc::MAP_SHARED
        };
        // SAFETY: a new shared mapping of the arena fd (at `addr` only if nothing is mapped there);
        // checked below and unmapped on drop.
        let p = unsafe {
            libc::mmap(
                addr as usize as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(ArenaMap { ptr: p.cast(), len })
    }

    fn addr(&self) -> u64 {
        self.ptr as usize as u64
    }

    fn read_u64(&self, addr: u64) -> u64 {
        let off = (addr - self.addr()) as usize;
        assert!(off + 8 <= self.len);
        // SAFETY: inside the mapping (checked), 8-aligned arena data.
        unsafe { std::ptr::read_volatile(self.ptr.add(off) as *const u64) }
    }

    fn write_u64(&self, off: usize, v: u64) {
        assert!(off + 8 <= self.len);
        // SAFETY: inside the mapping (checked); a fault allocates the arena page.
        unsafe { std::ptr::write_volatile(self.ptr.add(off) as *mut u64, v) }
    }
}

impl Drop for ArenaMap {
    fn drop(&mut self) {
        // SAFETY: unmapping what new() mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

#[test]
fn arenas_have_the_declared_shapes() {
    require_kernel!();
    let skel = arena::open().load().unwrap();
    let i = map_info(skel.maps().arena().fd()).unwrap();
    assert_eq!(
        (
            i.map_type,
            i.key_size,
            i.value_size,
            i.max_entries,
            i.map_flags,
            i.map_extra
        ),
        (BPF_MAP_TYPE_ARENA, 0, 0, 4, BPF_F_MMAPABLE, ARENA_ADDR)
    );
    let i = map_info(skel.maps().arena_free().fd()).unwrap();
    assert_eq!(
        (i.map_type, i.max_entries, i.map_flags, i.map_extra),
        (BPF_MAP_TYPE_ARENA, 2, BPF_F_MMAPABLE, 0)
    );
}

#[test]
fn program_writes_a_page_user_space_reads_it() {
    require_kernel!();
    let skel = arena::open().load().unwrap();
    let mapped = ArenaMap::new(skel.maps().arena().fd(), ARENA_ADDR, 4)
        .unwrap_or_else(|e| panic!("mmap the arena at {ARENA_ADDR:#x}: {e}"));
    assert_eq!(mapped.addr(), ARENA_ADDR);
    // Only at map_extra: elsewhere, or with another size, the kernel refuses the mmap.
    assert!(ArenaMap::new(skel.maps().arena().fd(), 0, 2).is_err());

    let run = || run_syscall_prog(skel.progs().arena_run().unwrap(), &mut []).unwrap();
    assert_eq!(run(), 0);
    let a1 = skel.bss().alloc_addr();
    assert!(
        (ARENA_ADDR..ARENA_ADDR + 4 * page() as u64).contains(&a1),
        "{a1:#x} is inside the arena"
    );
    assert_eq!(mapped.read_u64(a1), 0x1122_3344_5566_7788);
    assert_eq!(mapped.read_u64(a1 + 8), 1);

    assert_eq!(run(), 0);
    let a2 = skel.bss().alloc_addr();
    assert_ne!(a1, a2, "a second page");
    assert_eq!(mapped.read_u64(a2 + 8), 2);
    assert_eq!(skel.bss().runs(), 2);
}

#[test]
fn arena_without_map_extra_takes_the_address_of_the_first_mmap() {
    require_kernel!();
    let skel = arena::open().load().unwrap();
    let first = ArenaMap::new(skel.maps().arena_free().fd(), 0, 2).unwrap();
    first.write_u64(8, 0xfeed);
    assert_eq!(first.read_u64(first.addr() + 8), 0xfeed);
    let at = first.addr();
    drop(first);
    // The address is fixed now: a new mapping must use it, and sees the same pages.
    let again = ArenaMap::new(skel.maps().arena_free().fd(), at, 2).unwrap();
    assert_eq!(again.read_u64(at + 8), 0xfeed);
}
