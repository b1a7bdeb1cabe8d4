//! Maps a load reuses (`reuse_fd`, or a pin path that already holds one) and maps it pins after the load.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::spec::{SkelMapDef, SkelSpec};
use super::OpenMap;
use crate::{Error, Result};

/// The maps of one load that are reused or pinned.
pub(super) struct ReusePlan {
    /// (map index, the map to reuse): given with `reuse_fd` or opened at its pin path.
    pub(super) fds: Vec<(usize, Arc<OwnedFd>)>,
    /// (map index, pin path): nothing pinned there yet, so pinned after the load.
    pub(super) to_pin: Vec<(usize, PathBuf, std::ffi::CString)>,
}

pub(super) fn reuse_error(map: &'static str, what: String, errno: Option<crate::Errno>) -> Error {
    Error::MapReuse { map, what, errno }
}

pub(super) fn c_path(path: &Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::InvalidArgument("a pin path contains a NUL byte"))
}

/// For each map with settings: the map to reuse (a pinned one at its pin path wins over one
/// given with `reuse_fd`, as in libbpf), checked against what the loader would create; and
/// the pin paths where nothing is pinned yet.
pub(super) fn plan_reuse(spec: &SkelSpec, maps: &[(usize, &OpenMap)]) -> Result<ReusePlan> {
    let mut plan = ReusePlan {
        fds: Vec::new(),
        to_pin: Vec::new(),
    };
    for &(i, open) in maps {
        let Some(def) = spec.map_defs.get(i) else {
            continue;
        };
        let path = open.pin_path(def.name, def.pin_by_name);
        if path.is_none() && open.reuse.is_none() {
            continue;
        }
        if spec.struct_ops.iter().any(|so| so.map == i) {
            return Err(reuse_error(
                def.name,
                "a struct_ops map cannot be reused or pinned".into(),
                None,
            ));
        }
        let mut found = None;
        if let Some(path) = path {
            let c = c_path(&path)?;
            match crate::sys::bpf::obj_get(&c) {
                Ok(fd) => {
                    found = Some((
                        Arc::new(fd),
                        format!("the map pinned at {}", path.display()),
                    ))
                }
                Err(crate::Errno::NOENT) => plan.to_pin.push((i, path, c)),
                Err(e) => {
                    return Err(reuse_error(
                        def.name,
                        format!("opening the pin {} failed: {e}", path.display()),
                        Some(e),
                    ))
                }
            }
        }
        let (fd, what) = match (found, &open.reuse) {
            (Some(f), _) => f,
            (None, Some(fd)) => (fd.clone(), "the map given to reuse_fd".to_string()),
            (None, None) => continue,
        };
        check_reuse(def, open, fd.as_fd(), &what)?;
        plan.fds.push((i, fd));
    }
    Ok(plan)
}

/// What the loader would create for map `def` with the settings of `open`: (field, value).
pub(super) fn expected_shape(def: &SkelMapDef, open: &OpenMap) -> Result<[(&'static str, u64); 6]> {
    const PERF_EVENT_ARRAY: u32 = lskel_abi::map_type::PERF_EVENT_ARRAY;
    let mut max_entries = if open.max_entries != 0 {
        open.max_entries
    } else {
        def.max_entries
    };
    if def.map_type == PERF_EVENT_ARRAY && max_entries == 0 {
        max_entries = crate::cpus::possible_cpus()? as u32;
    }
    Ok([
        ("type", u64::from(def.map_type)),
        ("key_size", u64::from(open.key_size.unwrap_or(def.key_size))),
        (
            "value_size",
            u64::from(open.value_size.unwrap_or(def.value_size)),
        ),
        ("max_entries", u64::from(max_entries)),
        (
            "map_flags",
            u64::from(open.map_flags.unwrap_or(def.map_flags)),
        ),
        ("map_extra", open.map_extra.unwrap_or(def.map_extra)),
    ])
}

/// The first field in which `actual` differs from `expected`, as an error message about
/// `what` (e.g. "the map pinned at /sys/fs/bpf/counts").
pub(super) fn shape_mismatch(
    what: &str,
    expected: &[(&'static str, u64); 6],
    actual: &[u64; 6],
) -> Option<String> {
    let (k, (field, want)) = (expected.iter().enumerate()).find(|&(k, &(_, v))| actual[k] != v)?;
    Some(format!(
        "{what} has {field} {}, but this skeleton's map has {field} {want}: it cannot be reused",
        actual[k]
    ))
}

/// Checks the map `fd` against what the loader would create for `def` (BPF_OBJ_GET_INFO_BY_FD).
pub(super) fn check_reuse(
    def: &SkelMapDef,
    open: &OpenMap,
    fd: BorrowedFd<'_>,
    what: &str,
) -> Result<()> {
    let info = crate::sys::bpf::map_info(fd).map_err(|e| {
        reuse_error(
            def.name,
            format!("{what} is not a BPF map (BPF_OBJ_GET_INFO_BY_FD: {e})"),
            Some(e),
        )
    })?;
    let actual = [
        u64::from(info.map_type),
        u64::from(info.key_size),
        u64::from(info.value_size),
        u64::from(info.max_entries),
        u64::from(info.map_flags),
        info.map_extra,
    ];
    match shape_mismatch(what, &expected_shape(def, open)?, &actual) {
        Some(msg) => Err(reuse_error(def.name, msg, None)),
        None => Ok(()),
    }
}

/// Pins the maps created by this load at their pin paths. A failure unpins what this load
/// pinned before returning the error, so no pin is left half-way.
pub(super) fn pin_new_maps(
    spec: &SkelSpec,
    maps: &[OwnedFd],
    to_pin: &[(usize, PathBuf, std::ffi::CString)],
) -> Result<()> {
    for (n, (i, path, c)) in to_pin.iter().enumerate() {
        let fd = maps.get(*i).ok_or(Error::InvalidArgument(
            "a map to pin is not a map of the skeleton",
        ))?;
        if let Err(e) = crate::sys::bpf::obj_pin(fd.as_fd(), c) {
            for (_, done, _) in &to_pin[..n] {
                let _ = std::fs::remove_file(done);
            }
            let name = spec.map_defs.get(*i).map_or("?", |d| d.name);
            return Err(reuse_error(
                name,
                format!("pinning at {} failed: {e}", path.display()),
                Some(e),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: SkelMapDef = SkelMapDef {
        name: "counts",
        map_type: 1,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        map_flags: 0,
        map_extra: 0,
        pin_by_name: true,
    };

    #[test]
    fn expected_shape_follows_the_settings() {
        let mut open = OpenMap::new(16);
        assert_eq!(
            expected_shape(&DEF, &open).unwrap().map(|(_, v)| v),
            [1, 4, 8, 16, 0, 0]
        );
        open.set_max_entries(64).set_value_size(16).set_map_flags(1);
        assert_eq!(
            expected_shape(&DEF, &open).unwrap().map(|(_, v)| v),
            [1, 4, 16, 64, 1, 0]
        );
    }

    #[test]
    fn a_mismatch_names_the_field_and_both_values() {
        let open = OpenMap::new(16);
        let want = expected_shape(&DEF, &open).unwrap();
        assert_eq!(shape_mismatch("x", &want, &[1, 4, 8, 16, 0, 0]), None);
        let msg = shape_mismatch("the map pinned at /p", &want, &[1, 4, 8, 32, 0, 0]).unwrap();
        assert_eq!(
            msg,
            "the map pinned at /p has max_entries 32, but this skeleton's map has max_entries 16: it cannot be reused"
        );
        let msg = shape_mismatch("m", &want, &[2, 4, 8, 16, 0, 0]).unwrap();
        assert!(msg.contains("type 2") && msg.contains("type 1"), "{msg}");
    }

    #[test]
    fn pin_paths() {
        let mut open = OpenMap::new(1);
        assert_eq!(open.pin_path("counts", false), None);
        assert_eq!(
            open.pin_path("counts", true),
            Some(PathBuf::from("/sys/fs/bpf/counts"))
        );
        open.set_pin_root("/sys/fs/bpf/app");
        assert_eq!(
            open.pin_path("counts", true),
            Some(PathBuf::from("/sys/fs/bpf/app/counts"))
        );
        open.set_pin_path("/sys/fs/bpf/other");
        assert_eq!(
            open.pin_path("counts", false),
            Some(PathBuf::from("/sys/fs/bpf/other"))
        );
    }
}
