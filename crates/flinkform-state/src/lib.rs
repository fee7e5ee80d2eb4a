//! State model, versioned file format, local backend with OS file lock
