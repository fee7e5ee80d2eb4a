//! Advisory lock keys. PostgreSQL's advisory locks are named by one `bigint` per database;
//! flinkform derives its keys from fixed prefixes and the stack name with 64-bit FNV-1a, a
//! hash that never changes between builds, so every flinkform version takes the same lock.

/// The key of the transaction-level lock the schema migration runs under.
pub(crate) const MIGRATIONS: i64 = fnv1a(b"flinkform:migrations");

/// The key of a stack's run lock (session-level, held for the whole run).
pub(crate) fn run(stack: &str) -> i64 {
    keyed("flinkform:lock:", stack)
}

/// The key of a stack's guard: a short transaction-level lock under which the run lock is
/// taken or released together with its `locks` row, or both are read, so that a reader never
/// sees one without the other.
pub(crate) fn guard(stack: &str) -> i64 {
    keyed("flinkform:guard:", stack)
}

/// How `pg_locks` shows a `bigint` advisory lock: `classid` holds the high 32 bits,
/// `objid` the low 32 bits (and `objsubid` is 1).
pub(crate) fn split(key: i64) -> (u32, u32) {
    let bits = u64::from_ne_bytes(key.to_ne_bytes());
    let high = u32::try_from(bits >> 32).unwrap_or(u32::MAX);
    let low = u32::try_from(bits & 0xffff_ffff).unwrap_or(u32::MAX);
    (high, low)
}

fn keyed(prefix: &str, stack: &str) -> i64 {
    let mut bytes = Vec::with_capacity(prefix.len() + stack.len());
    bytes.extend_from_slice(prefix.as_bytes());
    bytes.extend_from_slice(stack.as_bytes());
    fnv1a(&bytes)
}

const fn fnv1a(bytes: &[u8]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        // FNV-1a of the empty input is its offset basis: the hash is the standard one.
        assert_eq!(
            fnv1a(b""),
            i64::from_ne_bytes(0xcbf2_9ce4_8422_2325_u64.to_ne_bytes())
        );
        assert_eq!(run("prod"), run("prod"));
        assert_ne!(run("prod"), run("prod2"));
        assert_ne!(run("prod"), guard("prod"));
    }

    #[test]
    fn split_gives_the_halves_pg_locks_shows() {
        assert_eq!(split(0x0000_0001_0000_0002), (1, 2));
        assert_eq!(split(-1), (u32::MAX, u32::MAX));
    }
}
