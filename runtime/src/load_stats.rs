//! Where the time of one light-skeleton load goes, for callers that ask for it
//! (`OpenSkel::load_with_stats`, [`load_with_stats`](crate::skel::load_with_stats)): a load that
//! does not ask reads no clock and makes no extra system call.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// The phases of one load, measured in user space around each system call of the loader.
///
/// The phases do not overlap and add up to at most [`total`](Self::total); what the three
/// loader phases leave of it is [`user_space`](Self::user_space). When a signal interrupted a
/// load and it was run again ([`tries`](Self::tries) > 1), each phase adds up every try.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadStats {
    /// Creating the loader map and writing the data blob into it (`BPF_MAP_CREATE`,
    /// `BPF_MAP_UPDATE_ELEM`).
    pub loader_map: Duration,
    /// Verifying the loader program: its `BPF_PROG_LOAD`.
    pub loader_verify: Duration,
    /// Running the loader: its `BPF_PROG_TEST_RUN`, in which it loads the object's BTF, maps and
    /// programs (their verification included).
    pub loader_run: Duration,
    /// The run's duration as the kernel reports it in the test-run attr (`duration`). The kernel
    /// times only the program types it runs in a timed loop: for the loader, a
    /// `BPF_PROG_TYPE_SYSCALL` program, it reports 0 (Linux 6.18).
    pub kernel_run: Duration,
    /// Everything else: checking the settings, filling the ctx and `.kconfig`, taking the fds,
    /// mapping and writing the global data.
    pub user_space: Duration,
    /// The whole load, from the call to the loaded skeleton.
    pub total: Duration,
    /// Instructions of the loader program as written (the generated loader's length).
    pub loader_insns: u32,
    /// Instructions the verifier processed for the loader program (`verified_insns` of
    /// `BPF_OBJ_GET_INFO_BY_FD`; of the last try).
    pub verified_insns: u32,
    /// How many times the loader was run (1 unless a signal interrupted it).
    pub tries: u32,
    /// Whether the (last try's) loader was one kept by an earlier load
    /// ([`LoadOptions::keep_loader`](crate::LoadOptions::keep_loader)): no loader map was
    /// created and no loader verified, [`loader_map`](Self::loader_map) is the blob's rewrite.
    pub loader_kept: bool,
}

impl LoadStats {
    /// Ends the measure of a load that began at `start`: [`total`](Self::total) becomes the time
    /// since then, and [`user_space`](Self::user_space) what the loader phases leave of it. A
    /// generated skeleton calls it last, so its own work after the loader counts as user space.
    pub fn finish(&mut self, start: Instant) {
        self.total = start.elapsed();
        let loader = self.loader_map + self.loader_verify + self.loader_run;
        self.user_space = self.total.saturating_sub(loader);
    }
}

/// The loader's phases, in the order they happen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Phase {
    Map,
    Verify,
    Run,
}

/// Times the phases of a load into a [`LoadStats`], or does nothing at all when the caller did
/// not ask (no clock read, no system call).
pub(crate) struct PhaseClock<'a> {
    stats: Option<&'a mut LoadStats>,
    last: Option<Instant>,
}

impl<'a> PhaseClock<'a> {
    /// A clock that measures nothing.
    pub(crate) fn off() -> PhaseClock<'static> {
        PhaseClock {
            stats: None,
            last: None,
        }
    }

    /// A clock adding into `stats`.
    pub(crate) fn on(stats: &'a mut LoadStats) -> PhaseClock<'a> {
        PhaseClock {
            stats: Some(stats),
            last: None,
        }
    }

    /// Whether the caller asked for stats.
    pub(crate) fn is_on(&self) -> bool {
        self.stats.is_some()
    }

    /// Starts a try: the next [`lap`](Self::lap) measures from here.
    pub(crate) fn start_try(&mut self, loader_insns: usize) {
        if let Some(s) = self.stats.as_deref_mut() {
            s.tries += 1;
            s.loader_kept = false;
            s.loader_insns = u32::try_from(loader_insns).unwrap_or(u32::MAX);
            self.last = Some(Instant::now());
        }
    }

    /// Adds the time since the start of the try or the last lap to `phase`.
    pub(crate) fn lap(&mut self, phase: Phase) {
        let (Some(s), Some(last)) = (self.stats.as_deref_mut(), self.last) else {
            return;
        };
        let now = Instant::now();
        let d = now - last;
        match phase {
            Phase::Map => s.loader_map += d,
            Phase::Verify => s.loader_verify += d,
            Phase::Run => s.loader_run += d,
        }
        self.last = Some(now);
    }

    /// Records that this try runs a kept loader.
    pub(crate) fn kept_loader(&mut self) {
        if let Some(s) = self.stats.as_deref_mut() {
            s.loader_kept = true;
        }
    }

    /// Restarts the lap clock without charging a phase (the time since counts as user space).
    pub(crate) fn skip(&mut self) {
        if self.is_on() {
            self.last = Some(Instant::now());
        }
    }

    /// Records the test run's own `duration` (ns) and the loader's `verified_insns`, queried
    /// only here, when stats were asked for. A failed query leaves 0.
    pub(crate) fn after_run(&mut self, kernel_ns: u32, prog: BorrowedFd<'_>) {
        let Some(s) = self.stats.as_deref_mut() else {
            return;
        };
        s.kernel_run += Duration::from_nanos(u64::from(kernel_ns));
        s.verified_insns = crate::sys::bpf::prog_verified_insns(prog).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_off_clock_records_nothing() {
        let mut c = PhaseClock::off();
        c.start_try(10);
        c.lap(Phase::Map);
        assert!(!c.is_on());
    }

    #[test]
    fn laps_go_to_their_phase_and_finish_leaves_the_rest_to_user_space() {
        let start = Instant::now();
        let mut s = LoadStats::default();
        let mut c = PhaseClock::on(&mut s);
        c.start_try(573);
        std::thread::sleep(Duration::from_millis(2));
        c.lap(Phase::Map);
        c.skip();
        std::thread::sleep(Duration::from_millis(2));
        c.lap(Phase::Verify);
        c.lap(Phase::Run);
        std::thread::sleep(Duration::from_millis(1));
        s.finish(start);
        assert_eq!((s.tries, s.loader_insns), (1, 573));
        assert!(s.loader_map >= Duration::from_millis(2), "{s:?}");
        assert!(s.loader_verify >= Duration::from_millis(2), "{s:?}");
        assert!(s.loader_run < Duration::from_millis(1), "{s:?}");
        assert!(s.user_space >= Duration::from_millis(1), "{s:?}");
        assert_eq!(
            s.loader_map + s.loader_verify + s.loader_run + s.user_space,
            s.total
        );
    }
}
