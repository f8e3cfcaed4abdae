//! Writing and reading whole tables for `stoke migrate`: a copy is loaded into an empty database
//! table by table, the identity sequences are moved past the copied ids, and every table can be
//! read back in key order to be compared with its source.

use stoke_store::copy::{Cell, TABLES, TableLayout, quoted, table as stoke_table};
use stoke_store::{StoreError, StoreResult};
use tokio_postgres::types::ToSql;

use crate::{Fail, PostgresStore, Res};

/// Rows fetched per round trip when reading a table back.
const FETCH: usize = 5_000;

impl PostgresStore {
    /// A table's columns (in order, with whether each holds integers) as the database has them.
    pub async fn table_columns(&self, table: &str) -> StoreResult<Vec<(String, bool)>> {
        let table = stoke_table(table)?;
        let run = async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position",
                    &[&table],
                )
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let name: String = row.try_get(0)?;
                let kind: String = row.try_get(1)?;
                let integer = match kind.as_str() {
                    "bigint" => true,
                    "text" => false,
                    other => {
                        return Err(Fail::Store(StoreError::Backend(format!(
                            "{table}.{name} is of type {other}, which a copy does not carry"
                        ))));
                    }
                };
                out.push((name, integer));
            }
            Res::Ok(out)
        };
        run.await.map_err(Fail::into_store)
    }

    /// Whether any of Stoke's tables holds a row (a copy goes into an empty database only).
    pub async fn holds_data(&self) -> StoreResult<bool> {
        let run = async {
            let client = self.client().await?;
            for table in TABLES {
                let row = client
                    .query_one(
                        &format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table)),
                        &[],
                    )
                    .await?;
                if row.try_get::<_, bool>(0)? {
                    return Res::Ok(true);
                }
            }
            Ok(false)
        };
        run.await.map_err(Fail::into_store)
    }

    /// Appends rows to a table, one statement over the columns' arrays. `columns` are the
    /// table's, with whether each holds integers (`table_columns`), in the rows' order.
    pub async fn append_rows(
        &self,
        table: &str,
        columns: &[(String, bool)],
        rows: &[Vec<Cell>],
    ) -> StoreResult<()> {
        let table = stoke_table(table)?;
        let mut ints: Vec<Vec<Option<i64>>> = Vec::new();
        let mut texts: Vec<Vec<Option<String>>> = Vec::new();
        let mut slots = Vec::with_capacity(columns.len());
        for (_, integer) in columns {
            if *integer {
                slots.push((true, ints.len()));
                ints.push(Vec::with_capacity(rows.len()));
            } else {
                slots.push((false, texts.len()));
                texts.push(Vec::with_capacity(rows.len()));
            }
        }
        for row in rows {
            if row.len() != columns.len() {
                return Err(StoreError::Backend(format!(
                    "{table}: a row of {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            for ((integer, slot), cell) in slots.iter().zip(row) {
                match (integer, cell) {
                    (true, Cell::Int(n)) => ints[*slot].push(Some(*n)),
                    (true, Cell::Null) => ints[*slot].push(None),
                    (false, Cell::Text(t)) => texts[*slot].push(Some(t.clone())),
                    (false, Cell::Null) => texts[*slot].push(None),
                    (true, Cell::Text(_)) | (false, Cell::Int(_)) => {
                        return Err(StoreError::Backend(format!(
                            "{table}: a value of the wrong kind for its column"
                        )));
                    }
                }
            }
        }
        let names: Vec<String> = columns.iter().map(|(n, _)| quoted(n)).collect();
        let arrays: Vec<String> = slots
            .iter()
            .enumerate()
            .map(|(i, (integer, _))| {
                format!("${}::{}[]", i + 1, if *integer { "bigint" } else { "text" })
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM unnest({})",
            quoted(table),
            names.join(", "),
            arrays.join(", ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = slots
            .iter()
            .map(|(integer, slot)| -> &(dyn ToSql + Sync) {
                if *integer {
                    &ints[*slot]
                } else {
                    &texts[*slot]
                }
            })
            .collect();
        let run = async {
            let client = self.client().await?;
            client.execute(&sql, &params).await?;
            Res::Ok(())
        };
        run.await.map_err(Fail::into_store)
    }

    /// After a copy: moves every identity sequence past the largest id copied and past the
    /// source's high-water mark (`high_water`, per table), so that new rows collide with no copied
    /// one and reuse no id the source ever handed out; then analyses the tables.
    pub async fn finish_copy(&self, high_water: &[(String, i64)]) -> StoreResult<()> {
        let run = async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND is_identity = 'YES'",
                    &[],
                )
                .await?;
            for row in rows {
                let table: String = row.try_get(0)?;
                let column: String = row.try_get(1)?;
                // Past the source's own high-water mark too: an id it handed out once (a contact
                // since erased) is never handed out again.
                let floor = high_water
                    .iter()
                    .find(|(t, _)| *t == table)
                    .map_or(0, |(_, seq)| *seq);
                client
                    .execute(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence($1, $2), \
                             GREATEST(COALESCE((SELECT max({}) FROM {}), 0), $3) + 1, false)",
                            quoted(&column),
                            quoted(&table)
                        ),
                        &[&table, &column, &floor],
                    )
                    .await?;
            }
            // The copy's tables were empty when last planned for: give the planner their sizes.
            client.batch_execute("ANALYZE").await?;
            Res::Ok(())
        };
        run.await.map_err(Fail::into_store)
    }

    /// Empties every table (after a copy that failed half-way).
    pub async fn clear_copy(&self) -> StoreResult<()> {
        let all: Vec<String> = TABLES.iter().map(|t| quoted(t)).collect();
        let run = async {
            let client = self.client().await?;
            client
                .execute(&format!("TRUNCATE {} CASCADE", all.join(", ")), &[])
                .await?;
            Res::Ok(())
        };
        run.await.map_err(Fail::into_store)
    }

    /// Reads a table back in key order, calling `each` with every batch of rows.
    pub async fn read_rows(
        &self,
        table: &str,
        layout: &TableLayout,
        mut each: impl FnMut(Vec<Vec<Cell>>) + Send,
    ) -> StoreResult<()> {
        let table = stoke_table(table)?;
        let types = self.table_columns(table).await?;
        let integer: Vec<bool> = layout
            .columns
            .iter()
            .map(|c| types.iter().find(|(n, _)| n == c).is_some_and(|(_, i)| *i))
            .collect();
        let sql = format!(
            "DECLARE copy_rows NO SCROLL CURSOR FOR SELECT {} FROM {} ORDER BY {}",
            layout.select_list(),
            quoted(table),
            layout.order_by()
        );
        let run = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute(&sql, &[]).await?;
            loop {
                let rows = tx
                    .query(&format!("FETCH {FETCH} FROM copy_rows"), &[])
                    .await?;
                if rows.is_empty() {
                    break;
                }
                let mut batch = Vec::with_capacity(rows.len());
                for row in &rows {
                    let mut cells = Vec::with_capacity(integer.len());
                    for (i, int) in integer.iter().enumerate() {
                        cells.push(if *int {
                            row.try_get::<_, Option<i64>>(i)?
                                .map_or(Cell::Null, Cell::Int)
                        } else {
                            row.try_get::<_, Option<String>>(i)?
                                .map_or(Cell::Null, Cell::Text)
                        });
                    }
                    batch.push(cells);
                }
                each(batch);
            }
            tx.commit().await?;
            Res::Ok(())
        };
        run.await.map_err(Fail::into_store)
    }
}
