//! Collecting diagnostics across independent checks (as serde_derive's `Ctxt`), so one run
//! reports every bad map, extern and program of an object instead of only the first.

use crate::error::{Error, Result};

/// Errors found so far. Checks that do not depend on each other push here and go on; the
/// pass then fails with all of them at once ([`Diag::check`]).
#[derive(Debug, Default)]
pub struct Diag {
    errors: Vec<Error>,
}

impl Diag {
    /// No errors yet.
    pub fn new() -> Diag {
        Diag::default()
    }

    /// Records `error` and lets the caller go on with the next independent check.
    pub fn push(&mut self, error: Error) {
        self.errors.push(error);
    }

    /// The value of `result`, or `None` after recording its error.
    pub fn ok<T>(&mut self, result: Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// Whether anything was recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Fails with everything recorded so far (one error as itself, more as
    /// [`Error::Many`]) and starts over empty; `Ok` when nothing was.
    pub fn check(&mut self) -> Result<()> {
        match Error::from_many(std::mem::take(&mut self.errors)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// [`Diag::check`], for the end of a pass.
    pub fn finish(mut self) -> Result<()> {
        self.check()
    }

    /// Fails with what was recorded, plus `error` when it is the first problem: a later step
    /// that fails after independent checks already did is likely their follow-on, so it is
    /// reported only on its own.
    pub fn fail(&mut self, error: Error) -> Error {
        Error::from_many(std::mem::take(&mut self.errors)).unwrap_or(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_err(map: &str) -> Error {
        Error::Map {
            map: map.into(),
            what: "bad".into(),
        }
    }

    #[test]
    fn nothing_recorded_is_ok() {
        let mut d = Diag::new();
        assert!(!d.has_errors());
        assert_eq!(d.check(), Ok(()));
        assert_eq!(d.ok(Ok::<_, Error>(3)), Some(3));
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn one_problem_is_that_error_alone() {
        let mut d = Diag::new();
        assert_eq!(d.ok::<()>(Err(map_err("a"))), None);
        assert!(d.has_errors());
        let e = d.finish().unwrap_err();
        assert_eq!(e, map_err("a"));
        assert_eq!(e.to_string(), "map `a`: bad");
    }

    #[test]
    fn several_problems_come_back_together_in_order() {
        let mut d = Diag::new();
        d.push(map_err("a"));
        d.push(map_err("b"));
        let e = d.check().unwrap_err();
        assert_eq!(e, Error::Many(vec![map_err("a"), map_err("b")]));
        assert_eq!(e.diagnostics(), [&map_err("a"), &map_err("b")]);
        // check() starts over.
        assert_eq!(d.check(), Ok(()));
    }

    #[test]
    fn a_later_failure_is_dropped_as_a_follow_on() {
        let mut d = Diag::new();
        assert_eq!(d.fail(map_err("first")), map_err("first"));
        d.push(map_err("a"));
        assert_eq!(d.fail(map_err("follow-on")), map_err("a"));
    }

    #[test]
    fn many_shows_a_count_then_one_line_each() {
        let e = Error::from_many(vec![map_err("a"), Error::NoBtf]).unwrap();
        assert_eq!(
            e.to_string(),
            "2 problems:\n- map `a`: bad\n- the object has no .BTF section; compile it with `clang -g` so that maps, globals and programs carry BTF"
        );
    }

    #[test]
    fn many_is_flattened_and_never_holds_one() {
        assert_eq!(Error::from_many(Vec::new()), None);
        let nested = Error::Many(vec![map_err("a"), map_err("b")]);
        let e = Error::from_many(vec![nested, map_err("c")]).unwrap();
        assert_eq!(
            e,
            Error::Many(vec![map_err("a"), map_err("b"), map_err("c")])
        );
        assert_eq!(e.diagnostics().len(), 3);
        assert_eq!(map_err("x").diagnostics(), [&map_err("x")]);
    }
}
