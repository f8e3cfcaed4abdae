//! Reading whole tables for `stoke migrate`: each table's layout and its rows in key order,
//! streamed in batches from a blocking thread so that a 10-million-row table never sits in
//! memory.

use r2d2_sqlite::rusqlite::types::ValueRef;
use stoke_store::copy::{Cell, TableLayout, quoted, table};
use stoke_store::{StoreError, StoreResult};
use tokio::sync::mpsc;

use crate::{SqliteStore, db_err};

impl SqliteStore {
    /// A table's columns and primary key, as the database file has them.
    pub async fn table_layout(&self, name: &str) -> StoreResult<TableLayout> {
        let table = table(name)?;
        self.read(move |c| {
            let mut stmt = c
                .prepare(&format!("PRAGMA table_info({})", quoted(table)))
                .map_err(db_err)?;
            let mut rows = stmt.query([]).map_err(db_err)?;
            let mut columns = Vec::new();
            let mut key: Vec<(i64, String)> = Vec::new();
            while let Some(row) = rows.next().map_err(db_err)? {
                let name: String = row.get(1).map_err(db_err)?;
                let pk: i64 = row.get(5).map_err(db_err)?;
                if pk > 0 {
                    key.push((pk, name.clone()));
                }
                columns.push(name);
            }
            key.sort();
            Ok(TableLayout {
                columns,
                key: key.into_iter().map(|(_, n)| n).collect(),
            })
        })
        .await
    }

    /// The highest id each `AUTOINCREMENT` table has ever handed out (`sqlite_sequence`): ids
    /// of erased or merged-away rows included, so that a copy can go on never reusing them.
    pub async fn id_high_water(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(|c| {
            let mut stmt = c
                .prepare("SELECT name, seq FROM sqlite_sequence ORDER BY name")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
    }

    /// Streams a table's rows, in key order, in batches of `batch`. The receiver gets an error
    /// (and nothing after it) if a value is not an integer, a text or a null.
    pub fn stream_rows(
        &self,
        table: &str,
        layout: &TableLayout,
        batch: usize,
    ) -> mpsc::Receiver<StoreResult<Vec<Vec<Cell>>>> {
        let (send, receive) = mpsc::channel(4);
        let pool = self.pool.clone();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            layout.select_list(),
            quoted(table),
            layout.order_by()
        );
        let width = layout.columns.len();
        tokio::task::spawn_blocking(move || {
            let run = || -> StoreResult<()> {
                let conn = pool.get().map_err(StoreError::backend)?;
                let mut stmt = conn.prepare(&sql).map_err(db_err)?;
                let mut rows = stmt.query([]).map_err(db_err)?;
                let mut out = Vec::with_capacity(batch);
                while let Some(row) = rows.next().map_err(db_err)? {
                    let mut cells = Vec::with_capacity(width);
                    for i in 0..width {
                        cells.push(match row.get_ref(i).map_err(db_err)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(n) => Cell::Int(n),
                            ValueRef::Text(t) => Cell::Text(
                                String::from_utf8(t.to_vec()).map_err(StoreError::backend)?,
                            ),
                            other => {
                                return Err(StoreError::Backend(format!(
                                    "{sql}: column {i} holds a {:?}, which Stoke never writes",
                                    other.data_type()
                                )));
                            }
                        });
                    }
                    out.push(cells);
                    if out.len() == batch {
                        if send.blocking_send(Ok(std::mem::take(&mut out))).is_err() {
                            return Ok(());
                        }
                        out.reserve(batch);
                    }
                }
                if !out.is_empty() {
                    let _ = send.blocking_send(Ok(out));
                }
                Ok(())
            };
            if let Err(e) = run() {
                let _ = send.blocking_send(Err(e));
            }
        });
        receive
    }
}
