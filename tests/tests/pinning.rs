//! gen/tests/objects/pinning.bpf.o: maps that outlive the process. `shared` is declared
//! `LIBBPF_PIN_BY_NAME`: the first skeleton creates and pins it, the next reuse the pin;
//! `local` is shared with `reuse_fd`. Every test pins under its own directory in
//! /sys/fs/bpf (named with the pid), removed at the end even when the test fails.

use std::collections::BTreeSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lskel::sys::bpf::{map_create, map_info, map_type, obj_pin, MapCreateAttr};
use lskel::Error;
use lskel_tests::{
    own_bpf_fds, own_bpf_objects, require_kernel, run_syscall_prog, wait_freed, BpfKind,
};

lskel::bpf_skeleton!("../gen/tests/objects/pinning.bpf.o");

/// The tests count the BPF objects this process holds: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A directory in the BPF file system for one test's pins, removed with everything in it
/// when dropped (a panicking test included).
struct PinDir(PathBuf);

impl PinDir {
    fn new(test: &str) -> PinDir {
        let dir = PathBuf::from(format!(
            "/sys/fs/bpf/lskel-test-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        PinDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An open skeleton whose pin-by-name maps go under `dir` (never the real /sys/fs/bpf root).
fn open_in(dir: &PinDir) -> pinning::OpenSkel {
    let mut open = pinning::open();
    open.set_pin_root(dir.path());
    open
}

/// Runs `rw` with (op, key, value): (return value, value after).
fn rw(skel: &pinning::Skel, op: u32, key: u32, value: u64) -> (u32, u64) {
    let mut args = [0u8; 16];
    args[..4].copy_from_slice(&op.to_ne_bytes());
    args[4..8].copy_from_slice(&key.to_ne_bytes());
    args[8..].copy_from_slice(&value.to_ne_bytes());
    let ret = run_syscall_prog(skel.progs().rw().unwrap(), &mut args).unwrap();
    (ret, u64::from_ne_bytes(args[8..].try_into().unwrap()))
}

fn id(map: impl AsFd) -> u32 {
    map_info(map.as_fd()).unwrap().id
}

fn ids(kind: BpfKind, objs: &BTreeSet<(BpfKind, u32)>) -> BTreeSet<u32> {
    objs.iter()
        .filter(|(k, _)| *k == kind)
        .map(|&(_, id)| id)
        .collect()
}

#[test]
fn a_pinned_map_is_shared_by_two_skeletons_and_outlives_them() {
    require_kernel!();
    let _serial = lock();
    let before = own_bpf_objects();
    let dir = PinDir::new("shared");
    let pin = dir.path().join("shared");
    let a = open_in(&dir).load().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        pin.exists(),
        "{} pinned after the first load",
        pin.display()
    );
    assert_eq!(rw(&a, 0, 3, 0xfeed_beef), (0, 0xfeed_beef));

    // The second skeleton reuses the pin: the value written through `a` is read by `b`'s
    // program, and the two hold the same map; `local` is not pinned, so each has its own.
    let b = open_in(&dir).load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rw(&b, 1, 3, 0), (0, 0xfeed_beef));
    assert_eq!(id(a.maps().shared()), id(b.maps().shared()));
    assert_ne!(id(a.maps().local()), id(b.maps().local()));
    assert_eq!(rw(&b, 0, 4, 77), (0, 77));
    assert_eq!(rw(&a, 1, 4, 0), (0, 77));
    let shared_id = id(a.maps().shared());
    let mut made = own_bpf_objects();
    made.retain(|o| !before.contains(o));
    drop((a, b));

    // No skeleton holds it now: the pin keeps the map and its values.
    let c = open_in(&dir).load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id(c.maps().shared()), shared_id);
    assert_eq!(rw(&c, 1, 3, 0), (0, 0xfeed_beef));
    drop(c);

    // Unpinned and dropped, everything goes: nothing of this test is left.
    std::fs::remove_file(&pin).unwrap();
    assert_eq!(own_bpf_objects(), before, "descriptors left open");
    for kind in [BpfKind::Map, BpfKind::Prog, BpfKind::Btf] {
        wait_freed("the test's objects", kind, &ids(kind, &made));
    }
}

#[test]
fn reuse_fd_shares_a_map_of_another_skeleton() {
    require_kernel!();
    let _serial = lock();
    let before = own_bpf_objects();
    let dir = PinDir::new("reuse_fd");
    let a = open_in(&dir).load().unwrap_or_else(|e| panic!("{e}"));
    let mut open = open_in(&dir);
    open.maps.local.reuse_fd(a.maps().local()).unwrap();
    assert!(open.maps.local.reused());
    let b = open.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id(a.maps().local()), id(b.maps().local()));
    // Absent in the shared map, then written by `a`'s program and read by `b`'s.
    assert_eq!(rw(&b, 3, 5, 0).0, 2);
    assert_eq!(rw(&a, 2, 5, 1234), (0, 1234));
    assert_eq!(rw(&b, 3, 5, 0), (0, 1234));
    // `b` holds its own descriptor: the map lives on after `a` is gone.
    let local_id = id(a.maps().local());
    drop(a);
    assert_eq!(rw(&b, 3, 5, 0), (0, 1234));
    assert_eq!(id(b.maps().local()), local_id);
    // A pin-by-name map not pinned when `b` loaded: `a` pinned it, `b` reused it.
    assert!(dir.path().join("shared").exists());
    drop(b);
    assert_eq!(own_bpf_objects(), before, "descriptors left open");
}

#[test]
fn a_mismatch_is_refused_naming_the_field_and_both_values() {
    require_kernel!();
    let _serial = lock();
    let dir = PinDir::new("mismatch");
    // reuse_fd of a map of another shape.
    let mut open = open_in(&dir);
    open.maps.local.set_max_entries(32);
    let a = open.load().unwrap_or_else(|e| panic!("{e}"));
    let before = own_bpf_fds();
    let mut open = open_in(&dir);
    open.maps.local.reuse_fd(a.maps().local()).unwrap();
    let err = open
        .load()
        .err()
        .expect("a 32-entry map is not a 16-entry one");
    let msg = err.to_string();
    assert!(
        matches!(err, Error::MapReuse { map: "local", .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("map `local`")
            && msg.contains("the map given to reuse_fd has max_entries 32")
            && msg.contains("max_entries 16"),
        "{msg}"
    );
    // Nothing created by the failed load is left open.
    assert_eq!(own_bpf_fds(), before, "descriptors left open");
    // The same settings as the map's make it fit.
    let mut open = open_in(&dir);
    open.maps
        .local
        .set_max_entries(32)
        .reuse_fd(a.maps().local())
        .unwrap();
    let b = open.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id(a.maps().local()), id(b.maps().local()));
    drop((a, b));

    // A map of another value size pinned where `shared` is looked for.
    let wrong = map_create(&MapCreateAttr {
        map_type: map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 16,
        max_entries: 8,
        name: "lskel_wrong",
        ..Default::default()
    })
    .unwrap();
    let pin = dir.path().join("shared");
    std::fs::remove_file(&pin).expect("`a` pinned `shared`");
    let c_pin = std::ffi::CString::new(pin.to_str().unwrap()).unwrap();
    obj_pin(std::os::fd::AsFd::as_fd(&wrong), &c_pin).unwrap();
    let before = own_bpf_fds();
    let err = open_in(&dir).load().err().expect("value size 16 is not 8");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "the map pinned at {} has value_size 16, but this skeleton's map has value_size 8",
            pin.display()
        )),
        "{msg}"
    );
    assert_eq!(own_bpf_fds(), before, "descriptors left open");
    // The pin is left as it was.
    assert!(pin.exists());
}

#[test]
fn a_failed_pin_leaves_nothing_pinned() {
    require_kernel!();
    let _serial = lock();
    let dir = PinDir::new("failed_pin");
    let before = own_bpf_objects();
    let mut open = open_in(&dir);
    // `shared` (map 0) pins first, then `local` cannot: its directory does not exist.
    let bad = dir.path().join("no_such_dir").join("local");
    open.maps.local.set_pin_path(&bad);
    let err = open
        .load()
        .err()
        .expect("pinning in a missing directory fails");
    let msg = err.to_string();
    assert_eq!(err.errno(), Some(lskel::Errno::NOENT), "{msg}");
    assert!(
        msg.contains("map `local`") && msg.contains(&format!("pinning at {}", bad.display())),
        "{msg}"
    );
    assert!(
        !dir.path().join("shared").exists(),
        "the pin this load made is removed"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing pinned"
    );
    assert_eq!(own_bpf_objects(), before, "descriptors left open");
}

/// A load that fails after the reused map was handed to the loader: the loader closed its
/// duplicate, the caller's descriptor (held by `a`) still works, nothing is left open.
#[test]
fn a_failed_load_closes_the_reused_duplicate_only() {
    require_kernel!();
    let _serial = lock();
    let dir = PinDir::new("failed_load");
    let a = open_in(&dir).load().unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(dir.path().join("shared")).unwrap();
    let before = own_bpf_fds();
    let mut open = open_in(&dir);
    open.maps.local.reuse_fd(a.maps().local()).unwrap();
    // `shared` (map 0, created by the loader) cannot have 0-byte values.
    open.maps.shared.set_value_size(0);
    let err = open.load().err().expect("a 0-byte value is refused");
    assert!(
        matches!(err, Error::Loader { what: Some(w), .. } if w.contains("create map `shared`")),
        "{err:?}"
    );
    assert_eq!(own_bpf_fds(), before, "descriptors left open (or closed)");
    assert_eq!(rw(&a, 2, 9, 99), (0, 99));
    assert_eq!(rw(&a, 3, 9, 0), (0, 99));
    assert!(!dir.path().join("shared").exists(), "nothing pinned");
}
