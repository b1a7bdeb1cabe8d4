//! struct_ops maps on the real kernel: the value size and layout come from the running
//! kernel's BTF at load time (the object's own layout is smaller).
//!
//! - `bpf_dummy_ops`: the programs run through `BPF_PROG_TEST_RUN`.
//! - `tcp_congestion_ops`: registered through its link (`attach_lskel_cc`), then chosen by a loopback
//!   TCP connection with `setsockopt(TCP_CONGESTION)`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use lskel::sys::bpf::map_info;
use lskel_tests::{require_kernel, run_syscall_prog};

lskel::bpf_skeleton!("../gen/tests/objects/struct_ops_dummy.bpf.o");
lskel::bpf_skeleton!("../gen/tests/objects/structops.bpf.o");

/// The kernel's size of `struct bpf_struct_ops_<name>`, from `bpftool btf dump` output.
fn kernel_value_size(name: &str) -> u32 {
    let vmlinux =
        lskel_gen::btf::Btf::parse(&std::fs::read("/sys/kernel/btf/vmlinux").unwrap()).unwrap();
    let id = vmlinux
        .find(
            &format!("bpf_struct_ops_{name}"),
            lskel_gen::btf::kind::STRUCT,
        )
        .expect("the kernel has the struct_ops type");
    vmlinux.get(id).unwrap().size_or_type
}

#[test]
fn dummy_ops_map_is_created_with_the_kernels_value_and_its_programs_run() {
    require_kernel!();
    let skel = struct_ops_dummy::open().load().expect("load");
    let info = map_info(skel.maps().lskel_dummy().fd()).unwrap();
    assert_eq!(info.value_size, kernel_value_size("bpf_dummy_ops"));
    assert!(info.value_size > 32, "bigger than the object's 32 bytes");

    // test_1(state): returns state->val and leaves 0x5a in it.
    let mut state = 0xbeef_i32;
    let mut args = (std::ptr::addr_of_mut!(state) as u64).to_ne_bytes();
    let ret = run_syscall_prog(skel.progs().lskel_test_1().unwrap(), &mut args).unwrap();
    assert_eq!(ret, 0xbeef);
    assert_eq!(state, 0x5a, "the program wrote through the state pointer");
    assert_eq!(skel.bss().test_1_runs(), 1);

    // test_2(state, 1, 2, 3, 4) = 10.
    let mut state = 0_i32;
    let args = [std::ptr::addr_of_mut!(state) as u64, 1, 2, 3, 4];
    let mut bytes: Vec<u8> = args.iter().flat_map(|a| a.to_ne_bytes()).collect();
    let ret = run_syscall_prog(skel.progs().lskel_test_2().unwrap(), &mut bytes).unwrap();
    assert_eq!(ret, 10);
}

/// Only one process may register `lskel_cc` at a time: a file lock shared by every test run
/// on the host, held while the returned file lives.
fn host_lock() -> std::fs::File {
    let f = std::fs::File::create("/tmp/lskel-tcp-cc.lock").unwrap();
    // SAFETY: flock on an fd this File owns.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock");
    f
}

fn congestion_of(s: &TcpStream) -> String {
    let mut buf = [0u8; 16];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `buf`.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt(TCP_CONGESTION)");
    let end = buf.iter().position(|&b| b == 0).unwrap_or(len as usize);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn set_congestion(s: &TcpStream, name: &str) -> std::io::Result<()> {
    // SAFETY: setsockopt reads `name.len()` bytes from `name`.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn tcp_congestion_ops_registers_and_a_loopback_connection_uses_it() {
    require_kernel!();
    let _lock = host_lock();
    let skel = structops::open().load().expect("load");
    let info = map_info(skel.maps().lskel_cc().fd()).unwrap();
    assert_eq!(info.value_size, kernel_value_size("tcp_congestion_ops"));

    let link = skel
        .attach_lskel_cc()
        .expect("register lskel_cc")
        .expect("a .struct_ops.link map gives a link");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    set_congestion(&client, "lskel_cc").expect("setsockopt(TCP_CONGESTION, lskel_cc)");
    assert_eq!(congestion_of(&client), "lskel_cc");
    let (mut server, _) = listener.accept().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while got < 4 << 20 {
            let n = server.read(&mut buf).unwrap();
            assert!(n > 0);
            got += n;
        }
        got
    });
    let mut client = client;
    client.write_all(&vec![7u8; 4 << 20]).unwrap();
    assert_eq!(
        reader.join().unwrap(),
        4 << 20,
        "data flowed under lskel_cc"
    );
    drop(client);

    // Unregistered with its link: new sockets can no longer pick it.
    drop(link);
    let again = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert!(
        set_congestion(&again, "lskel_cc").is_err(),
        "lskel_cc is gone"
    );
}
