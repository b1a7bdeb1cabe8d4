//! Signed light skeletons on the real kernel: `counter.bpf.o` with a loader signed by a
//! throwaway key (`tests/build.rs`), loaded through `skel::load` with each test's own keyring.
//!
//! This machine's kernel (6.18 without `CONFIG_SYSTEM_DATA_VERIFICATION`) cannot check
//! signatures: every signed `BPF_PROG_LOAD` gives `EOPNOTSUPP` once the keyring is found. The
//! tests that need a kernel that checks (a signed load with `Required` runs; a signature by
//! another key, or a keyring without the signer's key, is rejected) are written for both: on a
//! kernel that checks they assert the real outcome, here they assert `KernelCannotVerify` and
//! say so on stderr. They do not pass for what they could not test.

use std::sync::Mutex;

use lskel::sign::Signing;
use lskel::skel::{load as skel_load, SkelFds, SkelMapDef, SkelSpec};
use lskel::sys::bpf;
use lskel::sys::trusted::TrustedLoader;
use lskel::{Errno, Error, Keyring, LoadOptions, OpenMap, OpenProg, SignatureCheck};
use lskel_gen::sign::{blob_sha256, Signer};
use lskel_tests::keys::{test_key, unused_serial, TestKeyring};
use lskel_tests::{fixture, getpid_syscalls, open_fds, require_kernel};

/// Whether the kernel can check signatures, found by the first signed load of a test: set
/// from what the kernel answered, printed once.
fn note_cannot_verify(test: &str) {
    eprintln!(
        "{test}: this kernel cannot check BPF signatures (EOPNOTSUPP): asserted the KernelCannotVerify path instead"
    );
}

/// One fd-counting test at a time (the counts are process-wide).
static SERIAL: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The keys, or a skip (a failure under LSKEL_REQUIRE_KERNEL=1) without openssl.
fn keys() -> Option<(lskel_tests::keys::TestKey, lskel_tests::keys::TestKey)> {
    match (test_key("signer"), test_key("other")) {
        (Ok(a), Ok(b)) => Some((a, b)),
        (Err(e), _) | (_, Err(e)) => {
            if std::env::var("LSKEL_REQUIRE_KERNEL").as_deref() == Ok("1") {
                panic!("LSKEL_REQUIRE_KERNEL=1 but no test keys: {e}");
            }
            eprintln!("skipping: {e}");
            None
        }
    }
}

/// A keyring for this test holding the certificate `der`.
fn keyring_with(name: &str, der: &[u8]) -> TestKeyring {
    let mut ring = TestKeyring::new(name).expect("add_key(keyring)");
    ring.add_cert(der)
        .expect("add_key(asymmetric, certificate)");
    ring
}

/// The counter skeleton, signed by `signer`; `tweak` may change the blob and the signing
/// parts before they are wrapped (to load a blob the loader was not signed with).
struct Signed {
    spec: SkelSpec,
    n_progs: usize,
    bss: usize,
}

fn signed_counter(
    signer: &lskel_tests::keys::TestKey,
    tweak: impl FnOnce(&mut Vec<u8>, &mut Signing),
) -> Signed {
    let data = std::fs::read(fixture("counter.bpf.o")).unwrap();
    let signer = Signer::from_pem(&signer.key_pem, &signer.cert_pem).unwrap();
    let (skel, signed) =
        lskel_gen::generate_signed_with(&data, "counter", &signer, Default::default()).unwrap();
    let mut blob = skel.loader.blob.clone();
    let insns: &'static [u8] = Vec::leak(skel.loader.insns.clone());
    let mut signing = Signing {
        signature: Vec::leak(signed.signature.clone()),
        loader_sha256: signed.loader_sha256,
        blob_sha256: signed.blob_sha256,
        ctx_overrides: signed.ctx_overrides,
    };
    tweak(&mut blob, &mut signing);
    let blob: &'static [u8] = Vec::leak(blob);
    let signing: &'static Signing = Box::leak(Box::new(signing));
    let area = skel
        .loader
        .ctx_area
        .expect("a signed loader is an interpreter loader") as usize;
    // SAFETY: the loader lskel-gen generated for this object (a test may flip a blob byte:
    // the signed loader checks the blob's hash before it reads a byte of it), described by
    // the fields below; no initial values, targets or struct_ops are given at load.
    let loader = unsafe { TrustedLoader::with_ctx_area(blob, insns, area) }.with_signing(signing);
    let map_defs: Vec<SkelMapDef> = (skel.plan.maps.iter())
        .map(|m| SkelMapDef {
            name: String::leak(m.name.clone()),
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            map_flags: m.map_flags,
            map_extra: m.map_extra,
            pin_by_name: false,
        })
        .collect();
    let bss = (skel.plan.maps.iter())
        .position(|m| m.name.ends_with(".bss"))
        .expect("counter has a .bss");
    Signed {
        spec: SkelSpec {
            name: "counter",
            loader,
            n_maps: skel.plan.maps.len(),
            n_progs: skel.plan.programs.len(),
            kconfig: None,
            steps: &[],
            targets: &[],
            struct_ops: &[],
            ctx_size: skel.loader.ctx_size,
            initial_sizes: &[],
            map_defs: Vec::leak(map_defs),
        },
        n_progs: skel.plan.programs.len(),
        bss,
    }
}

fn opts(keyring: Keyring, signature: SignatureCheck) -> LoadOptions {
    LoadOptions {
        keyring,
        signature,
        ..Default::default()
    }
}

fn load(s: &Signed, maps: &[(usize, &OpenMap)], o: &LoadOptions) -> lskel::Result<SkelFds> {
    let progs: Vec<OpenProg> = (0..s.n_progs).map(|_| OpenProg::new(true)).collect();
    let progs: Vec<&OpenProg> = progs.iter().collect();
    skel_load(&s.spec, maps, &[], &progs, o)
}

/// `count` of the loaded counter's `.bss`.
fn count(fds: &SkelFds, bss: usize) -> u64 {
    let map = bpf::SizedMap::new(std::os::fd::AsFd::as_fd(&fds.maps[bss])).unwrap();
    let mut value = vec![0u8; map.lookup_size()];
    assert!(map.lookup(&0u32.to_ne_bytes(), &mut value, 0).unwrap());
    u64::from_ne_bytes(value[..8].try_into().unwrap())
}

/// The loaded counter counts this process's syscalls once attached.
fn assert_runs(fds: &SkelFds, bss: usize) {
    let prog = fds.progs[0].as_ref().expect("count_syscalls loaded");
    let before = count(fds, bss);
    let link = lskel::attach_raw_tp(std::os::fd::AsFd::as_fd(prog), "sys_enter").unwrap();
    getpid_syscalls(50);
    drop(link);
    let after = count(fds, bss);
    assert!(after >= before + 50, "count {before} -> {after}");
}

#[test]
fn signed_required_fails_plainly_where_the_kernel_cannot_verify() {
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    let ring = keyring_with("required", &signer.cert_der);
    let s = signed_counter(&signer, |_, _| {});
    let o = opts(Keyring::Serial(ring.serial()), SignatureCheck::Required);
    let _g = lock();
    let fds_before = open_fds();
    match load(&s, &[], &o) {
        // A kernel that checks signatures: the signed skeleton loads and runs.
        Ok(fds) => assert_runs(&fds, s.bss),
        Err(Error::KernelCannotVerify { errno }) => {
            assert_eq!(errno, Errno::NOTSUP);
            note_cannot_verify("signed_required");
            assert_eq!(open_fds(), fds_before, "a refused signed load leaked fds");
        }
        Err(e) => panic!("unexpected: {e}"),
    }
}

#[test]
fn signed_if_supported_loads_and_runs() {
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    let ring = keyring_with("ifsupported", &signer.cert_der);
    let s = signed_counter(&signer, |_, _| {});
    let o = opts(Keyring::Serial(ring.serial()), SignatureCheck::IfSupported);
    let fds = load(&s, &[], &o).unwrap();
    assert_runs(&fds, s.bss);
    // The loader map is gone with the load: a signed load keeps nothing, keep_loader or not.
    let o = LoadOptions {
        keep_loader: true,
        ..o
    };
    let again = load(&s, &[], &o).unwrap();
    assert_runs(&again, s.bss);
}

#[test]
fn a_flipped_blob_byte_is_a_hash_mismatch() {
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    let ring = keyring_with("flipped", &signer.cert_der);
    let o = opts(Keyring::Serial(ring.serial()), SignatureCheck::IfSupported);
    let flip = |blob: &mut Vec<u8>| {
        let at = blob.len() / 2;
        blob[at] ^= 0x01;
    };
    // The digest recorded at signing no longer matches: refused in user space, before the
    // loader is loaded.
    let s = signed_counter(&signer, |blob, _| flip(blob));
    let _g = lock();
    let fds_before = open_fds();
    match load(&s, &[], &o) {
        Err(Error::LoaderHashMismatch) => {}
        other => panic!("expected LoaderHashMismatch, got {other:?}"),
    }
    assert_eq!(open_fds(), fds_before, "a refused load leaked fds");
    // The recorded digest made to match the flipped blob: the loader itself, whose signed
    // instructions carry the real blob's digest, refuses the map (HASH_MISMATCH).
    let s = signed_counter(&signer, |blob, signing| {
        flip(blob);
        signing.blob_sha256 = blob_sha256(blob);
    });
    match load(&s, &[], &o) {
        Err(Error::LoaderHashMismatch) => {}
        other => panic!("expected the loader's HASH_MISMATCH, got {other:?}"),
    }
    assert_eq!(open_fds(), fds_before, "a refused load leaked fds");
}

#[test]
fn a_keyring_naming_no_key_is_keyring_not_found() {
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    let s = signed_counter(&signer, |_, _| {});
    let serial = unused_serial().unwrap();
    for check in [SignatureCheck::Required, SignatureCheck::IfSupported] {
        // The kernel looks the keyring up before it checks (or finds it cannot check) the
        // signature: this holds on every kernel that takes signed loads.
        match load(&s, &[], &opts(Keyring::Serial(serial), check)) {
            Err(Error::KeyringNotFound { keyring, errno }) => {
                assert_eq!(keyring, Keyring::Serial(serial));
                assert_eq!(errno, Errno::INVAL);
            }
            other => panic!("expected KeyringNotFound, got {other:?}"),
        }
    }
}

#[test]
fn another_key_is_rejected_where_the_kernel_verifies() {
    require_kernel!();
    let Some((signer, other)) = keys() else {
        return;
    };
    // The keyring holds only the other key's certificate.
    let ring = keyring_with("otherkey", &other.cert_der);
    let s = signed_counter(&signer, |_, _| {});
    let o = opts(Keyring::Serial(ring.serial()), SignatureCheck::Required);
    match load(&s, &[], &o) {
        Err(Error::SignatureRejected { errno }) => {
            assert!(
                [libc::ENOKEY, libc::EKEYREJECTED].contains(&errno.raw_os_error()),
                "{errno}"
            );
        }
        Err(Error::KernelCannotVerify { errno }) => {
            assert_eq!(errno, Errno::NOTSUP);
            note_cannot_verify("another_key");
        }
        other => panic!("expected SignatureRejected, got {other:?}"),
    }
    // Signed by the other key, checked against the signer's: likewise.
    let ring = keyring_with("signerkey", &signer.cert_der);
    let s = signed_counter(&other, |_, _| {});
    let o = opts(Keyring::Serial(ring.serial()), SignatureCheck::Required);
    match load(&s, &[], &o) {
        Err(Error::SignatureRejected { .. }) => {}
        Err(Error::KernelCannotVerify { errno }) => assert_eq!(errno, Errno::NOTSUP),
        other => panic!("expected SignatureRejected, got {other:?}"),
    }
}

#[test]
fn settings_the_signed_loader_ignores_are_refused() {
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    let s = signed_counter(&signer, |_, _| {});
    let i = (s.spec.map_defs.iter())
        .position(|d| d.name == "syscall_counts")
        .unwrap();
    let mut map = OpenMap::new(s.spec.map_defs[i].max_entries);
    map.set_max_entries(1024);
    let o = opts(Keyring::Session, SignatureCheck::IfSupported);
    let _g = lock();
    let fds_before = open_fds();
    match load(&s, &[(i, &map)], &o) {
        Err(Error::SignedOverride { map, setting }) => {
            assert_eq!(map, Some("syscall_counts"));
            assert_eq!(setting, "max_entries");
        }
        other => panic!("expected SignedOverride, got {other:?}"),
    }
    let mut map = OpenMap::new(s.spec.map_defs[i].max_entries);
    map.set_map_flags(0);
    match load(&s, &[(i, &map)], &o) {
        Err(Error::SignedOverride { setting, .. }) => assert_eq!(setting, "map_flags"),
        other => panic!("expected SignedOverride, got {other:?}"),
    }
    assert_eq!(open_fds(), fds_before);
}

#[test]
fn an_unsigned_skeleton_still_loads() {
    require_kernel!();
    lskel::bpf_skeleton!("bpf/counter.bpf.o");
    let skel = counter::open().load().unwrap();
    let link = lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter").unwrap();
    let before = skel.bss().count();
    getpid_syscalls(20);
    drop(link);
    assert!(skel.bss().count() >= before + 20);
}

/// The skeleton `bpf_skeleton!(…, sign(…))` makes, signed at build time with the test key
/// `tests/build.rs` wrote into OUT_DIR.
mod macro_signed {
    lskel::bpf_skeleton!(
        "bpf/counter.bpf.o",
        name = signed_counter,
        sign(
            key = concat!(env!("OUT_DIR"), "/signer.key.pem"),
            cert = concat!(env!("OUT_DIR"), "/signer.crt.pem")
        )
    );
}

#[test]
fn a_macro_signed_skeleton_loads_and_runs() {
    use macro_signed::signed_counter;
    require_kernel!();
    let Some((signer, _)) = keys() else { return };
    const { assert!(signed_counter::SIGNED) };
    assert!(signed_counter::signing().is_some_and(|s| !s.ctx_overrides));
    let ring = keyring_with("macro", &signer.cert_der);
    let keyring = Keyring::Serial(ring.serial());
    // Required: runs where the kernel checks signatures, KernelCannotVerify here.
    match signed_counter::open().load_with(&opts(keyring, SignatureCheck::Required)) {
        Ok(skel) => drop(skel),
        Err(Error::KernelCannotVerify { errno }) => {
            assert_eq!(errno, Errno::NOTSUP);
            note_cannot_verify("macro_signed");
        }
        Err(e) => panic!("unexpected: {e}"),
    }
    let skel = signed_counter::open()
        .load_with(&opts(keyring, SignatureCheck::IfSupported))
        .unwrap();
    let link = lskel::attach_raw_tp(skel.progs().count_syscalls().unwrap(), "sys_enter").unwrap();
    let before = skel.bss().count();
    getpid_syscalls(20);
    drop(link);
    assert!(skel.bss().count() >= before + 20);
    // Map settings the signed loader would ignore are refused before any system call.
    let mut open = signed_counter::open();
    open.maps.syscall_counts.set_max_entries(1024);
    match open.load_with(&opts(keyring, SignatureCheck::IfSupported)) {
        Err(Error::SignedOverride { map, setting }) => {
            assert_eq!((map, setting), (Some("syscall_counts"), "max_entries"));
        }
        Err(e) => panic!("expected SignedOverride, got {e}"),
        Ok(_) => panic!("expected SignedOverride, got a load"),
    }
}

/// The kernel fact the signed loader map rests on, with this crate's `excl_prog_hash`
/// attribute: a map created exclusive to one program's SHA-256 is refused (EACCES) to a
/// program with other instructions, and accepted for that program.
#[test]
fn an_exclusive_map_is_refused_to_other_programs() {
    require_kernel!();
    // r1 = map fd_array[0] (ld_imm64, BPF_PSEUDO_MAP_IDX); r0 = ret; exit.
    let prog = |ret: u8| -> Vec<u8> {
        let mut v = vec![0x18, 0x51, 0, 0, 0, 0, 0, 0];
        v.extend([0u8; 8]);
        v.extend([0xb7, 0x00, 0, 0, ret, 0, 0, 0]);
        v.extend([0x95, 0, 0, 0, 0, 0, 0, 0]);
        v
    };
    let (mine, other) = (prog(0), prog(1));
    let hash = lskel_gen::sign::sha256(&mine);
    let map = bpf::map_create(&bpf::MapCreateAttr {
        map_type: bpf::map_type::BPF_MAP_TYPE_ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        name: "excl_test",
        excl_prog_hash: &hash,
        ..Default::default()
    })
    .unwrap();
    let fd_array = [std::os::fd::AsRawFd::as_raw_fd(&map)];
    let load = |insns: &[u8]| {
        bpf::prog_load(&mut bpf::ProgLoadAttr {
            prog_type: bpf::prog_type::BPF_PROG_TYPE_SOCKET_FILTER,
            insns,
            license: Some(c"GPL"),
            name: "excl_test",
            fd_array: &fd_array,
            ..Default::default()
        })
    };
    assert_eq!(load(&other).err(), Some(Errno::ACCES));
    load(&mine).expect("the program the map is exclusive to");
}
