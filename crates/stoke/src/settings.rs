//! Where Stoke keeps its data, resolved in two stages (ripgrep's way): the raw command-line and
//! environment values, validated only, then the settings that open things.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use stoke_core::engine::Rules;
use stoke_store::Store;
use stoke_store_sqlite::SqliteStore;

/// The storage options every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// The data directory: the embedded database, generated demo data.
    #[arg(
        long,
        global = true,
        env = "STOKE_DATA",
        default_value = "./stoke-data"
    )]
    pub data: PathBuf,

    /// The database URL: `sqlite://PATH` (default: the SQLite file in the data directory) or
    /// `postgres://...`.
    #[arg(long, global = true, env = "STOKE_DATABASE_URL")]
    pub database: Option<String>,
}

/// Which backend, resolved from the URL. This is the one place that picks a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl StorageArgs {
    pub fn backend(&self) -> anyhow::Result<Backend> {
        let Some(url) = self
            .database
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(Backend::Sqlite(self.data.join("stoke.db")));
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!(
                    "--database {url:?}: the sqlite URL needs a file path, like sqlite://./stoke-data/stoke.db"
                );
            }
            return Ok(Backend::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_owned()));
        }
        bail!("--database {url:?}: expected a sqlite:// or postgres:// URL")
    }

    /// The playbook in force (DATA/playbook.toml, else the default), compiled.
    pub fn rules(&self) -> anyhow::Result<Arc<Rules>> {
        let (playbook, _, source) = crate::classify::effective_playbook(&self.data)?;
        let rules =
            Rules::new(playbook).map_err(|e| anyhow::anyhow!("the playbook {source}: {e}"))?;
        Ok(Arc::new(rules))
    }

    /// Opens the store, applying migrations.
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        match self.backend()? {
            Backend::Sqlite(path) => {
                let store = SqliteStore::open(&path)
                    .with_context(|| format!("while opening the database {}", path.display()))?;
                Ok(Arc::new(store))
            }
            Backend::Postgres(_) => bail!(
                "this build of Stoke stores data in SQLite only; PostgreSQL support is not built yet"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(database: Option<&str>) -> StorageArgs {
        StorageArgs {
            data: PathBuf::from("/srv/stoke"),
            database: database.map(str::to_owned),
        }
    }

    #[test]
    fn picks_the_backend_from_the_url() {
        assert_eq!(
            args(None).backend().expect("ok"),
            Backend::Sqlite(PathBuf::from("/srv/stoke/stoke.db"))
        );
        assert_eq!(
            args(Some("sqlite:///tmp/x.db")).backend().expect("ok"),
            Backend::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(matches!(
            args(Some("postgres://u@h/db")).backend(),
            Ok(Backend::Postgres(_))
        ));
        assert!(args(Some("mysql://x")).backend().is_err());
        assert!(args(Some("sqlite://")).backend().is_err());
    }
}
