//! Resolving the macro argument to a file.
