//! What a client of an emulator that runs elsewhere (`--sim-endpoint`) reads from its world
//! file, read without loading the world.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::world::{AccessKey, AccountKeys, read_world_file};

/// The world's id and time scale, the accounts' keys and the vendor's connector key: what a
/// client of a running emulator needs. Reading them skips everything else in the file (a
/// fleet's world is megabytes of resources, and a client reads it on every run).
///
/// # Guarantees
/// The same answers as [`crate::World::load`] followed by `id`, `time_scale`,
/// `ensure_account` (of an account the world has) and `vendor_connector_key`, and the same
/// errors for a missing, corrupt or other-version file.
#[derive(Debug, Clone)]
pub struct WorldKeys {
    id: String,
    time_scale: f64,
    /// By profile name.
    accounts: BTreeMap<String, AccountKeys>,
    connector_key: String,
}

/// The parts of a world file [`WorldKeys`] reads; serde skips the rest.
#[derive(Deserialize)]
struct File {
    format_version: u32,
    id: String,
    clock: Clock,
    accounts: BTreeMap<String, FileAccount>,
    #[serde(default)]
    market: FileMarket,
}

#[derive(Deserialize)]
struct Clock {
    scale: f64,
}

#[derive(Deserialize)]
struct FileAccount {
    name: String,
    uid: String,
    keys: Vec<AccessKey>,
}

#[derive(Deserialize, Default)]
struct FileMarket {
    #[serde(default)]
    vendor: FileVendor,
}

#[derive(Deserialize, Default)]
struct FileVendor {
    #[serde(default)]
    connector_key: String,
}

impl WorldKeys {
    /// Reads them from the world file at `path`.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when the file cannot be read, [`crate::Error::CorruptWorld`]
    /// when it is not a world of this emulator's format.
    pub fn read(path: &Path) -> Result<Self> {
        let file: File = read_world_file(path, |f: &File| f.format_version)?;
        let accounts = file
            .accounts
            .into_values()
            .map(|a| {
                (
                    a.name,
                    AccountKeys::first_of(a.uid, a.keys.into_iter().next()),
                )
            })
            .collect();
        let connector_key = match file.market.vendor.connector_key {
            k if k.is_empty() => crate::vendor::connector_key_of(&file.id),
            k => k,
        };
        Ok(Self {
            id: file.id,
            time_scale: file.clock.scale,
            accounts,
            connector_key,
        })
    }

    /// The world's id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many times faster than the wall clock its cloud time runs.
    #[must_use]
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// The keys of the account with profile name `name`, if the world has it.
    #[must_use]
    pub fn account(&self, name: &str) -> Option<&AccountKeys> {
        self.accounts.get(name)
    }

    /// The bearer token of the vendor's connector API.
    #[must_use]
    pub fn connector_key(&self) -> &str {
        &self.connector_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;
    use crate::error::Error;
    use crate::world::FORMAT_VERSION;

    fn saved(world: &World) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("world.json");
        world.save(&path).expect("save");
        (dir, path)
    }

    #[test]
    fn reads_what_loading_the_world_tells() {
        let mut world = World::new(7);
        world.ensure_account("main");
        world.ensure_account("other");
        world.set_time_scale(120.0).expect("scale");
        // Before and after the world generated its vendor keys.
        for generate in [false, true] {
            if generate {
                world.vendor_connector_key();
            }
            let (_dir, path) = saved(&world);
            let keys = WorldKeys::read(&path).expect("read");
            let mut loaded = World::load(&path).expect("load");
            assert_eq!(keys.id(), loaded.id());
            assert_eq!(keys.time_scale(), loaded.time_scale());
            assert_eq!(keys.connector_key(), loaded.vendor_connector_key());
            for name in ["main", "other"] {
                let want = loaded.ensure_account(name);
                let got = keys.account(name).expect("account");
                assert_eq!(got.access_key_id, want.access_key_id);
                assert_eq!(got.access_key_secret, want.access_key_secret);
                assert_eq!(got.uid, want.uid);
            }
            assert!(keys.account("nobody").is_none());
        }
    }

    #[test]
    fn refuses_what_loading_refuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.json");
        assert!(matches!(WorldKeys::read(&missing), Err(Error::Io { .. })));
        let other = dir.path().join("other.json");
        let mut doc: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec(&World::new(1)).expect("json"))
                .expect("value");
        doc["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        std::fs::write(&other, doc.to_string()).expect("write");
        let (keys, world) = (WorldKeys::read(&other), World::load(&other));
        let (
            Err(Error::CorruptWorld { message: a, .. }),
            Err(Error::CorruptWorld { message: b, .. }),
        ) = (keys, world)
        else {
            panic!("both refuse another format version");
        };
        assert_eq!(a, b);
        let garbage = dir.path().join("garbage.json");
        std::fs::write(&garbage, "{").expect("write");
        assert!(matches!(
            WorldKeys::read(&garbage),
            Err(Error::CorruptWorld { .. })
        ));
    }
}
