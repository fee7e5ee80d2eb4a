//! End-to-end tests: the real `flinkform` binary against the emulator.
