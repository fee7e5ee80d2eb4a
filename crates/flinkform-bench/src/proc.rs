//! What a finished child process cost: its peak RSS and CPU (from `wait4`'s rusage) and the
//! bytes it caused to be written to storage (`write_bytes` of `/proc/<pid>/io`, read while
//! the child is a zombie: after `waitid(WNOWAIT)`, before `wait4` reaps it).
#![allow(unsafe_code)]

use std::process::Child;
use std::time::Duration;

/// The counters of one finished child.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Usage {
    /// Exit code (`-1` when killed by a signal).
    pub(crate) code: i32,
    /// Peak resident set size, bytes (`ru_maxrss`).
    pub(crate) max_rss: u64,
    /// User plus system CPU time.
    pub(crate) cpu: Duration,
    /// Bytes the child caused to be sent to the storage layer (`write_bytes`); the bench's
    /// children write nothing but their state directory.
    pub(crate) write_bytes: u64,
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

fn write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Waits for `child` to end (blocking) and returns its counters. The child is reaped here:
/// do not wait for it again.
pub(crate) fn wait(child: Child) -> std::io::Result<Usage> {
    let pid = child.id();
    let raw = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: `info` is a plain C struct that waitid fills; WNOWAIT leaves the child
    // waitable (a zombie whose /proc entry stays readable).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            libc::id_t::from(pid),
            &raw mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let written = write_bytes(pid);
    let mut status: libc::c_int = 0;
    // SAFETY: `usage` is a plain C struct that wait4 fills; the pid is our own child, which
    // has exited (waitid above).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(raw, &raw mut status, 0, &raw mut usage) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // The child is reaped: `Child`'s drop does not wait, so forgetting nothing is needed.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Usage {
        code,
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        write_bytes: written,
    })
}

/// User plus system CPU time of this process so far (`/proc/self/stat`, in the kernel's
/// USER_HZ of 100 ticks per second).
pub(crate) fn self_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: after the name, field 3 comes first.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
