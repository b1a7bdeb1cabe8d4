//! Attaching USDT programs: a uprobe per probe site, with the spec the BPF side looks up by cookie.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::args::parse_x86_64_args;
use super::notes::{find_usdt_targets, UsdtTarget};
use super::{UsdtError, UPROBE_PMU_TYPE, UPROBE_REF_CTR_FORMAT, USDT_SPEC_SIZE};
use crate::sys::perf::UprobeEvent;
use crate::sys::{bpf, perf};
use crate::{Link, Map};

/// Hands out the entries of one `__bpf_usdt_specs` map. Share one manager (it is cheap to clone) among all
/// attachments of programs using the same map, so their spec ids do not collide.
#[derive(Debug, Clone)]
pub struct UsdtManager<'fd> {
    specs: BorrowedFd<'fd>,
    max_entries: u32,
    used: Arc<Mutex<Vec<bool>>>,
}

/// The attachments of one [`UsdtManager::attach`]: one uprobe link per probe location. Dropping it
/// detaches them and frees their spec ids.
#[derive(Debug)]
pub struct UsdtLinks {
    links: Vec<Link>,
    targets: Vec<UsdtTarget>,
    spec_ids: Vec<u32>,
    used: Arc<Mutex<Vec<bool>>>,
}

impl UsdtLinks {
    /// A set with no links (what a detached [`Link`] keeps).
    pub(crate) fn empty() -> Self {
        UsdtLinks {
            links: Vec::new(),
            targets: Vec::new(),
            spec_ids: Vec::new(),
            used: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Takes the first location's link descriptor out; the spec ids stay in use (the link
    /// still reads them) and the other locations are detached.
    pub(crate) fn take_first_fd(&mut self) -> Option<std::os::fd::OwnedFd> {
        if self.links.is_empty() {
            return None;
        }
        self.spec_ids.clear();
        Some(self.links.remove(0).into_fd())
    }

    /// Number of probe locations attached.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether nothing is attached (never true for a successful attach).
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// The probe locations, in the order of [`links`](Self::links).
    pub fn targets(&self) -> &[UsdtTarget] {
        &self.targets
    }

    /// The BPF links.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The spec ids (indexes of `__bpf_usdt_specs`) in use by these links.
    pub fn spec_ids(&self) -> &[u32] {
        &self.spec_ids
    }
}

impl Drop for UsdtLinks {
    fn drop(&mut self) {
        self.links.clear(); // detach first, then free the ids
        if let Ok(mut used) = self.used.lock() {
            for &id in &self.spec_ids {
                if let Some(u) = used.get_mut(id as usize) {
                    *u = false;
                }
            }
        }
    }
}

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>, UsdtError> {
    std::fs::read(path).map_err(|source| UsdtError::Io {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn uprobe_pmu_type() -> Result<u32, UsdtError> {
    let io = |source| UsdtError::Io {
        path: UPROBE_PMU_TYPE.into(),
        source,
    };
    let s = std::fs::read_to_string(UPROBE_PMU_TYPE).map_err(io)?;
    s.trim().parse().map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a number: {s:?}"),
        ))
    })
}

impl<'fd> UsdtManager<'fd> {
    /// A manager for the `__bpf_usdt_specs` map `specs` (an array of [`USDT_SPEC_SIZE`]-byte values).
    pub fn new(specs: BorrowedFd<'fd>) -> Result<Self, UsdtError> {
        let info = bpf::map_info(specs)
            .map_err(|e| crate::Error::syscall("BPF_OBJ_GET_INFO_BY_FD(__bpf_usdt_specs)", e))?;
        if info.value_size as usize != USDT_SPEC_SIZE || info.key_size != 4 {
            return Err(crate::Error::ValueSize {
                value_size: info.value_size as usize,
                needed: USDT_SPEC_SIZE,
            }
            .into());
        }
        Ok(UsdtManager {
            specs,
            max_entries: info.max_entries,
            used: Arc::new(Mutex::new(vec![false; info.max_entries as usize])),
        })
    }

    /// Marks spec ids as taken (by links of an earlier manager of the same map).
    pub(crate) fn reserve(&self, ids: &[u32]) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        for &id in ids {
            if let Some(u) = used.get_mut(id as usize) {
                *u = true;
            }
        }
    }

    fn alloc_id(&self) -> Result<u32, UsdtError> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let id = used
            .iter()
            .position(|u| !u)
            .ok_or(UsdtError::TooManySpecs {
                max_entries: self.max_entries,
            })?;
        used[id] = true;
        Ok(id as u32)
    }

    /// Attaches `prog` (a `SEC("usdt")` program) to every location of probe `provider:name` in `binary`,
    /// for process `pid` (`None`: every process running the binary). `cookie` is what the program's
    /// `bpf_usdt_cookie()` returns. Fails if the binary has no such probe.
    pub fn attach(
        &self,
        prog: BorrowedFd<'_>,
        pid: Option<i32>,
        binary: &Path,
        provider: &str,
        name: &str,
        cookie: u64,
    ) -> Result<UsdtLinks, UsdtError> {
        let data = read_file(binary)?;
        let probe = format!("{provider}:{name}");
        let targets = find_usdt_targets(&data, Some(provider), Some(name)).map_err(|what| {
            UsdtError::Elf {
                path: binary.to_owned(),
                what,
            }
        })?;
        if targets.is_empty() {
            return Err(UsdtError::NotFound {
                path: binary.to_owned(),
                probe,
            });
        }
        if targets.iter().any(|t| t.sema_offset != 0) && !Path::new(UPROBE_REF_CTR_FORMAT).exists()
        {
            return Err(UsdtError::NoSemaphoreSupport { probe });
        }
        let pmu_type = uprobe_pmu_type()?;
        let path = CString::new(binary.as_os_str().as_bytes())
            .map_err(|_| crate::Error::InvalidArgument("binary path contains NUL"))?;
        let specs = Map::new(self.specs.as_fd())?;

        let mut out = UsdtLinks {
            links: Vec::with_capacity(targets.len()),
            targets: Vec::with_capacity(targets.len()),
            spec_ids: Vec::new(),
            used: Arc::clone(&self.used),
        };
        // One spec id per distinct argument string, as libbpf.
        let mut ids: HashMap<String, u32> = HashMap::new();
        for t in targets {
            let spec_id = match ids.get(&t.note.args) {
                Some(&id) => id,
                None => {
                    let spec =
                        parse_x86_64_args(&t.note.args, cookie).map_err(|what| UsdtError::Arg {
                            probe: probe.clone(),
                            args: t.note.args.clone(),
                            what,
                        })?;
                    let id = self.alloc_id()?;
                    out.spec_ids.push(id);
                    specs.update(&id.to_ne_bytes(), &spec.to_bytes(), 0)?;
                    ids.insert(t.note.args.clone(), id);
                    id
                }
            };
            let ref_ctr_offset = u32::try_from(t.sema_offset).map_err(|_| UsdtError::Elf {
                path: binary.to_owned(),
                what: format!(
                    "semaphore offset {:#x} of `{probe}` over 4 GiB",
                    t.sema_offset
                ),
            })?;
            let event = perf::uprobe_open(&UprobeEvent {
                pmu_type,
                path: &path,
                offset: t.offset,
                ref_ctr_offset,
                retprobe: false,
                pid,
            })
            .map_err(|e| crate::Error::syscall("perf_event_open(uprobe)", e))?;
            let link = bpf::link_create_perf_event(prog, event.as_fd(), u64::from(spec_id))
                .map_err(|e| crate::Error::syscall("BPF_LINK_CREATE(BPF_PERF_EVENT)", e))?;
            // The link holds its own reference to the perf event.
            drop(event);
            out.links.push(Link::from_fd(link));
            out.targets.push(t);
        }
        Ok(out)
    }
}

/// One-shot [`UsdtManager::attach`] with a manager of its own: the spec ids start at 0, so use it only once
/// per `__bpf_usdt_specs` map (keep a [`UsdtManager`] for several attachments).
pub fn attach_usdt(
    prog: BorrowedFd<'_>,
    specs: BorrowedFd<'_>,
    pid: Option<i32>,
    binary: &Path,
    provider: &str,
    name: &str,
    cookie: u64,
) -> Result<UsdtLinks, UsdtError> {
    UsdtManager::new(specs)?.attach(prog, pid, binary, provider, name, cookie)
}
