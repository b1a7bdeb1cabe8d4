//! storage.bpf.o: TASK_STORAGE, CGRP_STORAGE, SK_STORAGE and INODE_STORAGE (BPF_F_NO_PREALLOC),
//! written by tp_btf programs and read from user space with the owner's fd as the key (pidfd,
//! cgroup directory fd, socket fd, file fd).

use std::ffi::CString;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

use lskel::sys::bpf::map_info;
use lskel::{attach_raw_tp, Map};
use lskel_tests::{getpid_syscalls, gettid, require_kernel};

lskel::bpf_skeleton!("bpf/storage.bpf.o");

/// The tp_btf programs see every process: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const BPF_F_NO_PREALLOC: u32 = 1;

fn key_of(fd: BorrowedFd<'_>) -> [u8; 4] {
    fd.as_raw_fd().to_ne_bytes()
}

fn u64_of(v: &[u8]) -> u64 {
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

fn u32_of(v: &[u8]) -> u32 {
    u32::from_ne_bytes(v[..4].try_into().unwrap())
}

/// `pidfd_open(tid, PIDFD_THREAD)`: a pidfd of this very thread (task storage is per thread).
fn thread_pidfd() -> OwnedFd {
    const PIDFD_THREAD: libc::c_long = libc::O_EXCL as libc::c_long;
    // SAFETY: pidfd_open takes a tid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, gettid() as libc::c_long, PIDFD_THREAD) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

fn open_path(path: &str, flags: libc::c_int) -> OwnedFd {
    let c = CString::new(path).unwrap();
    // SAFETY: a valid NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor we own.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The cgroup v2 directory of this process (mount point + `0::` path).
fn own_cgroup2_dir() -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let root = text.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split(' ').next()? == "cgroup2").then(|| pre.split(' ').nth(4).unwrap().to_string())
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(format!("{root}{}", path.trim_end_matches('/')))
}

#[test]
fn storage_maps_have_the_declared_shapes() {
    let _g = lock();
    require_kernel!();
    let skel = storage::open().load().unwrap();
    let m = skel.maps();
    for (fd, ty, value, what) in [
        (m.task_store().fd(), 29, 16, "TASK_STORAGE"),
        (m.cgrp_store().fd(), 32, 16, "CGRP_STORAGE"),
        (m.sk_store().fd(), 24, 8, "SK_STORAGE"),
        (m.inode_store().fd(), 28, 8, "INODE_STORAGE"),
    ] {
        let i = map_info(fd).unwrap();
        assert_eq!(
            (
                i.map_type,
                i.key_size,
                i.value_size,
                i.max_entries,
                i.map_flags
            ),
            (ty, 4, value, 0, BPF_F_NO_PREALLOC),
            "{what}"
        );
        assert_ne!(i.btf_value_type_id, 0, "{what}: local storage needs BTF");
    }
}

#[test]
fn task_and_cgroup_storage_count_getpid_of_this_thread() {
    let _g = lock();
    require_kernel!();
    let mut open = storage::open();
    open.bss.target_tid = gettid() as i32;
    let skel = open.load().unwrap();
    let cg_dir = own_cgroup2_dir().map(|d| open_path(&d, libc::O_RDONLY | libc::O_DIRECTORY));
    let pidfd = thread_pidfd();
    let task = Map::new(skel.maps().task_store().fd()).unwrap();
    assert_eq!(
        task.get(&key_of(pidfd.as_fd())).unwrap(),
        None,
        "no storage yet"
    );
    let cgrp = Map::new(skel.maps().cgrp_store().fd()).unwrap();
    let cg_before = cg_dir.as_ref().map(|d| {
        cgrp.get(&key_of(d.as_fd()))
            .unwrap()
            .map_or(0, |v| u64_of(&v))
    });

    let link = attach_raw_tp(skel.progs().on_getpid().unwrap(), "").unwrap();
    getpid_syscalls(3);
    drop(link);

    let b = skel.bss().read();
    assert_eq!((b.hits, b.task_err, b.cgrp_err), (3, 0, 0));
    let v = task
        .get(&key_of(pidfd.as_fd()))
        .unwrap()
        .expect("task storage");
    assert_eq!(
        (u64_of(&v), u32_of(&v[8..])),
        (3, 39),
        "count 3, last id getpid"
    );

    // User space writes this thread's storage too; the program continues from there.
    let mut nv = [0u8; 16];
    nv[..8].copy_from_slice(&100u64.to_ne_bytes());
    task.update(&key_of(pidfd.as_fd()), &nv, 0).unwrap();
    let link = attach_raw_tp(skel.progs().on_getpid().unwrap(), "").unwrap();
    getpid_syscalls(1);
    drop(link);
    let v = task.get(&key_of(pidfd.as_fd())).unwrap().unwrap();
    assert_eq!(u64_of(&v), 101);

    match (cg_dir, cg_before) {
        (Some(dir), Some(before)) => {
            let v = cgrp
                .get(&key_of(dir.as_fd()))
                .unwrap()
                .expect("cgroup storage");
            assert_eq!(u64_of(&v) - before, 4, "4 getpid calls in this cgroup");
        }
        _ => eprintln!("no cgroup2 directory: cgroup storage not read back"),
    }
    assert!(task.delete(&key_of(pidfd.as_fd())).unwrap());
    assert_eq!(task.get(&key_of(pidfd.as_fd())).unwrap(), None);
}

#[test]
fn sk_storage_follows_the_tcp_states_of_a_socket() {
    let _g = lock();
    require_kernel!();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut open = storage::open();
    open.bss.target_port = i32::from(port);
    let skel = open.load().unwrap();
    let link = attach_raw_tp(skel.progs().on_state().unwrap(), "").unwrap();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = listener.accept().unwrap();
    drop(link);

    let sk = Map::new(skel.maps().sk_store().fd()).unwrap();
    let v = sk
        .get(&key_of(client.as_fd()))
        .unwrap()
        .expect("sk storage");
    // CLOSE -> SYN_SENT -> ESTABLISHED (TCP_ESTABLISHED = 1)
    assert_eq!((u32_of(&v), u32_of(&v[4..])), (2, 1));
    assert_eq!(skel.bss().sk_hits(), 2);
    assert_eq!(
        sk.get(&key_of(listener.as_fd())).unwrap(),
        None,
        "the listener is not matched"
    );

    // User space can create storage on any socket.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut val = [0u8; 8];
    val[..4].copy_from_slice(&9u32.to_ne_bytes());
    sk.update(&key_of(udp.as_fd()), &val, 0).unwrap();
    assert_eq!(sk.get(&key_of(udp.as_fd())).unwrap(), Some(val.to_vec()));
    // A non-socket fd is refused.
    let file = open_path("/proc/self/stat", libc::O_RDONLY);
    assert!(sk.update(&key_of(file.as_fd()), &val, 0).is_err());
}

#[test]
fn inode_storage_is_keyed_by_a_file_fd() {
    let _g = lock();
    require_kernel!();
    let skel = storage::open().load().unwrap();
    let inode = Map::new(skel.maps().inode_store().fd()).unwrap();
    let path = std::env::temp_dir().join(format!("lskel_inode_{}", std::process::id()));
    std::fs::write(&path, b"x").unwrap();
    let f1 = std::fs::File::open(&path).unwrap();
    let f2 = std::fs::File::open(&path).unwrap();
    let result = inode.update(&key_of(f1.as_fd()), &42u64.to_ne_bytes(), 0);
    let _ = std::fs::remove_file(&path);
    result.unwrap();
    assert_eq!(
        inode.get(&key_of(f2.as_fd())).unwrap().map(|v| u64_of(&v)),
        Some(42),
        "another fd of the same inode sees it"
    );
    assert!(inode.delete(&key_of(f2.as_fd())).unwrap());
    assert_eq!(inode.get(&key_of(f1.as_fd())).unwrap(), None);
}
