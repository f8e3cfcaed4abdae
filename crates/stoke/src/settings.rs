//! Where Stoke keeps its data, resolved in two stages (ripgrep's way): the raw command-line and
//! environment values, validated only, then the settings that open things.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use stoke_core::engine::Rules;
use stoke_server::scheduler::PlaybookOrigin;
use stoke_store::Store;
use stoke_store_postgres::PostgresStore;
use stoke_store_sqlite::SqliteStore;

/// The storage options every command shares. `Debug` masks a password in the URL.
#[derive(Clone, clap::Args)]
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

impl std::fmt::Debug for StorageArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = self.database.as_ref().map(|url| {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                PostgresUrl(url.clone()).to_string()
            } else {
                url.clone()
            }
        });
        f.debug_struct("StorageArgs")
            .field("data", &self.data)
            .field("database", &database)
            .finish()
    }
}

/// Which backend, resolved from the URL. This is the one place that picks a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

/// A PostgreSQL URL, which may carry a password: shown (`Debug`, `Display`, messages) with the
/// password masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL itself, to connect with; never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // postgres://user:password@host/db: the password is between the user's colon and the @.
        let start = self.0.find("://").map_or(0, |i| i + 3);
        let authority_end = self.0[start..]
            .find(['/', '?'])
            .map_or(self.0.len(), |i| start + i);
        let masked = self.0[start..authority_end].rfind('@').and_then(|at| {
            let userinfo = &self.0[start..start + at];
            userinfo.find(':').map(|colon| {
                format!(
                    "{}***{}",
                    &self.0[..start + colon + 1],
                    &self.0[start + at..]
                )
            })
        });
        let mut shown = masked.unwrap_or_else(|| self.0.clone());
        // libpq's other spelling: ?password=... among the options.
        if let Some(at) = shown.find("password=").map(|i| i + "password=".len()) {
            let end = shown[at..].find('&').map_or(shown.len(), |i| at + i);
            shown.replace_range(at..end, "***");
        }
        f.write_str(&shown)
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
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
            return Ok(Backend::Postgres(PostgresUrl(url.to_owned())));
        }
        bail!("--database {url:?}: expected a sqlite:// or postgres:// URL")
    }

    /// The playbook in force, compiled, and where it comes from: the workspace's (in the
    /// database, set with `stoke playbook set` or the API), else DATA/playbook.toml, else the
    /// built-in default.
    pub async fn playbook(
        &self,
        store: &dyn Store,
    ) -> anyhow::Result<(Arc<Rules>, PlaybookOrigin)> {
        match stoke_server::playbook::workspace_playbook(store).await {
            Ok(Some((rules, text, at))) => {
                return Ok((
                    rules,
                    PlaybookOrigin {
                        text,
                        source: stoke_server::playbook::WORKSPACE_SOURCE.to_owned(),
                        updated_at: Some(at),
                    },
                ));
            }
            Ok(None) => {}
            Err(refusal) => bail!(
                "{}: {}",
                stoke_server::playbook::WORKSPACE_SOURCE,
                crate::cli_refusal(refusal)
            ),
        }
        let (playbook, text, source) = crate::classify::effective_playbook(&self.data)?;
        let rules =
            Rules::new(playbook).map_err(|e| anyhow::anyhow!("the playbook {source}: {e}"))?;
        Ok((
            Arc::new(rules),
            PlaybookOrigin {
                text,
                source,
                updated_at: None,
            },
        ))
    }

    /// The rules of the playbook in force.
    pub async fn rules_for(&self, store: &dyn Store) -> anyhow::Result<Arc<Rules>> {
        Ok(self.playbook(store).await?.0)
    }

    /// Opens the store, applying migrations.
    pub fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        match self.backend()? {
            Backend::Sqlite(path) => {
                let store = SqliteStore::open(&path)
                    .with_context(|| format!("while opening the database {}", path.display()))?;
                Ok(Arc::new(store))
            }
            Backend::Postgres(url) => {
                let store = PostgresStore::open(url.expose())
                    .with_context(|| format!("while opening the PostgreSQL database {url}"))?;
                Ok(Arc::new(store))
            }
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
        assert!(matches!(
            args(Some("postgresql://u@h/db")).backend(),
            Ok(Backend::Postgres(_))
        ));
        assert!(args(Some("mysql://x")).backend().is_err());
        assert!(args(Some("sqlite://")).backend().is_err());
    }

    #[test]
    fn a_postgres_password_never_prints() {
        let Ok(Backend::Postgres(url)) =
            args(Some("postgres://stoke:s3cret@db:5432/stoke")).backend()
        else {
            panic!("a postgres backend");
        };
        assert_eq!(url.expose(), "postgres://stoke:s3cret@db:5432/stoke");
        assert_eq!(url.to_string(), "postgres://stoke:***@db:5432/stoke");
        assert!(!format!("{url:?}").contains("s3cret"));
        let storage = args(Some("postgres://stoke:s3cret@db:5432/stoke"));
        assert!(!format!("{storage:?}").contains("s3cret"));
        let Ok(Backend::Postgres(url)) = args(Some(
            "postgres://db/stoke?user=stoke&password=s3cret&sslmode=disable",
        ))
        .backend() else {
            panic!("a postgres backend");
        };
        assert_eq!(
            url.to_string(),
            "postgres://db/stoke?user=stoke&password=***&sslmode=disable"
        );
        for plain in [
            "postgres://stoke@db/stoke",
            "postgres://db/stoke?user=a:b@c",
        ] {
            let Ok(Backend::Postgres(url)) = args(Some(plain)).backend() else {
                panic!("a postgres backend");
            };
            assert_eq!(url.to_string(), plain);
        }
    }
}
