//! Deterministic idempotency tokens for mutating calls.

use flinkform_core::{Address, Attrs};
use sha2::{Digest, Sha256};

/// The client token of a change to `addr` with the fully resolved `attrs`: `ff-` and the hex
/// SHA-256 of the address and the attributes' JSON, 64 characters in all. The same address
/// and attributes always give the same token, so a retried or re-run create is recognised
/// by the cloud instead of creating a second resource.
#[must_use]
pub fn client_token(addr: &Address, attrs: &Attrs) -> String {
    let mut hasher = Sha256::new();
    hasher.update(addr.to_string().as_bytes());
    hasher.update([0u8]);
    hasher.update(serde_json::to_string(attrs).unwrap_or_default().as_bytes());
    let mut token = format!("ff-{}", hex::encode(hasher.finalize()));
    token.truncate(64);
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_and_short() {
        let a: Address = "vpc.a".parse().unwrap();
        let mut attrs = Attrs::new();
        attrs.insert("cidr".into(), "10.0.0.0/16".into());
        let t = client_token(&a, &attrs);
        assert_eq!(t.len(), 64);
        assert!(t.starts_with("ff-"));
        assert_eq!(t, client_token(&a, &attrs));
        attrs.insert("name".into(), "a".into());
        assert_ne!(t, client_token(&a, &attrs));
    }
}
