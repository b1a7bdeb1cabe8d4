//! [`Link`]: one attachment, whatever mechanism made it.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sys::{bpf, perf_attach};
use crate::usdt::UsdtLinks;
use crate::{Error, Result};

/// How an attachment is held.
#[derive(Debug)]
enum Inner {
    /// A BPF link (`BPF_LINK_CREATE`, `BPF_RAW_TRACEPOINT_OPEN`).
    Fd(OwnedFd),
    /// A BPF link on a perf event this crate opened: the link, then the event.
    PerfLink { link: OwnedFd, perf: OwnedFd },
    /// A perf event with the program set by `PERF_EVENT_IOC_SET_BPF` (kernels or events that
    /// refuse a link): closing the event detaches the program.
    PerfIoctl { perf: OwnedFd },
    /// `BPF_PROG_ATTACH` of `prog` to `target` (duplicates owned by the link):
    /// `BPF_PROG_DETACH` on drop.
    ProgAttach {
        target: OwnedFd,
        prog: OwnedFd,
        attach_type: u32,
    },
    /// `SO_ATTACH_BPF` on a socket (a duplicate owned by the link): `SO_DETACH_BPF` on drop.
    Socket { sock: OwnedFd },
    /// The uprobe links of a USDT probe (one per location).
    Usdt(UsdtLinks),
}

/// An attachment: dropping it (or [`detach`](Link::detach)) detaches the program.
///
/// Most attachments are a BPF link descriptor. Some are not: a perf event the program was set
/// on by ioctl, a `BPF_PROG_ATTACH` (sockmap), a socket filter, or several uprobe links (USDT).
/// [`AsFd`] gives the link descriptor, or the perf event, or the attach target (the link's
/// duplicate of the map or socket), or, for USDT, the first location's link.
#[derive(Debug)]
pub struct Link {
    inner: Inner,
}

impl Link {
    /// Wraps a link descriptor.
    pub fn from_fd(fd: OwnedFd) -> Self {
        Link {
            inner: Inner::Fd(fd),
        }
    }

    pub(crate) fn perf_link(link: OwnedFd, perf: OwnedFd) -> Self {
        Link {
            inner: Inner::PerfLink { link, perf },
        }
    }

    pub(crate) fn perf_ioctl(perf: OwnedFd) -> Self {
        Link {
            inner: Inner::PerfIoctl { perf },
        }
    }

    pub(crate) fn prog_attach(target: OwnedFd, prog: OwnedFd, attach_type: u32) -> Self {
        Link {
            inner: Inner::ProgAttach {
                target,
                prog,
                attach_type,
            },
        }
    }

    pub(crate) fn socket(sock: OwnedFd) -> Self {
        Link {
            inner: Inner::Socket { sock },
        }
    }

    /// Wraps the links of a USDT attachment.
    pub fn from_usdt(links: UsdtLinks) -> Self {
        Link {
            inner: Inner::Usdt(links),
        }
    }

    /// The `__bpf_usdt_specs` ids a USDT attachment uses (empty for the others).
    pub fn usdt_spec_ids(&self) -> &[u32] {
        match &self.inner {
            Inner::Usdt(l) => l.spec_ids(),
            _ => &[],
        }
    }

    /// Whether this is a BPF link descriptor (so [`into_fd`](Self::into_fd) keeps the
    /// attachment alive on its own, and it can be pinned).
    pub fn is_bpf_link(&self) -> bool {
        matches!(self.inner, Inner::Fd(_) | Inner::PerfLink { .. })
    }

    /// The BPF link descriptor, when this attachment is one.
    pub fn link_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.inner {
            Inner::Fd(fd) | Inner::PerfLink { link: fd, .. } => Some(fd.as_fd()),
            _ => None,
        }
    }

    /// Gives up ownership of the descriptor: for a BPF link (see
    /// [`is_bpf_link`](Self::is_bpf_link)) the attachment lives as long as the descriptor
    /// does. For the others this returns the descriptor [`AsFd`] gives, and the attachment is
    /// no longer detached by this crate (a perf event set by ioctl still detaches when it is
    /// closed; a USDT attachment keeps only its first location).
    pub fn into_fd(mut self) -> OwnedFd {
        match std::mem::replace(&mut self.inner, Inner::Usdt(UsdtLinks::empty())) {
            Inner::Fd(fd) | Inner::PerfLink { link: fd, .. } | Inner::PerfIoctl { perf: fd } => fd,
            Inner::ProgAttach { target, .. } => target,
            Inner::Socket { sock } => sock,
            Inner::Usdt(mut links) => links.take_first_fd().expect("a USDT attachment has a link"),
        }
    }

    /// Detaches now (as dropping does), reporting a failure of the detaching call where there is
    /// one (`BPF_PROG_DETACH`, `SO_DETACH_BPF`).
    pub fn detach(mut self) -> Result<()> {
        // What is left in `self` (an empty USDT set) drops with nothing to detach.
        let inner = std::mem::replace(&mut self.inner, Inner::Usdt(UsdtLinks::empty()));
        detach_inner(inner)
    }

    /// Runs an iterator link (`iter/...` program): a new reader of its output, from the start.
    pub fn iter_reader(&self) -> Result<File> {
        let fd = self.link_fd().ok_or(Error::InvalidArgument(
            "not a BPF link: cannot run it as an iterator",
        ))?;
        bpf::iter_create(fd)
            .map(File::from)
            .map_err(|e| Error::syscall("BPF_ITER_CREATE", e))
    }
}

/// Runs the iterator link `link` to the end and returns its output as text (invalid UTF-8 is
/// replaced).
pub fn read_iter_to_string(link: &Link) -> Result<String> {
    let mut f = link.iter_reader()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(|e| Error::Attach {
        what: "reading the iterator".into(),
        errno: e.raw_os_error().map(crate::Errno::from_raw_os_error),
    })?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn detach_inner(inner: Inner) -> Result<()> {
    match inner {
        Inner::Fd(fd) => drop(fd),
        Inner::PerfLink { link, perf } => {
            drop(link);
            drop(perf);
        }
        Inner::PerfIoctl { perf } => {
            // Closing the event detaches; disabling first stops it at once.
            let _ = perf_attach::perf_disable(perf.as_fd());
            drop(perf);
        }
        Inner::ProgAttach {
            target,
            prog,
            attach_type,
        } => perf_attach::prog_detach(target.as_fd(), prog.as_fd(), attach_type)
            .map_err(|e| Error::syscall("BPF_PROG_DETACH", e))?,
        Inner::Socket { sock } => perf_attach::socket_detach_bpf(sock.as_fd())
            .map_err(|e| Error::syscall("setsockopt(SO_DETACH_BPF)", e))?,
        Inner::Usdt(links) => drop(links),
    }
    Ok(())
}

impl Drop for Link {
    fn drop(&mut self) {
        let inner = std::mem::replace(&mut self.inner, Inner::Usdt(UsdtLinks::empty()));
        let _ = detach_inner(inner);
    }
}

impl AsFd for Link {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            Inner::Fd(fd)
            | Inner::PerfLink { link: fd, .. }
            | Inner::PerfIoctl { perf: fd }
            | Inner::ProgAttach { target: fd, .. }
            | Inner::Socket { sock: fd } => fd.as_fd(),
            Inner::Usdt(links) => links
                .links()
                .first()
                .expect("a USDT attachment has a link")
                .as_fd(),
        }
    }
}
