//! State machines of the local server and the definitions executions run on, kept as text: this crate
//! does not parse ASL.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::store::Store;

/// A state machine as `DescribeStateMachine` shows it, with its current definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMachineRecord {
    pub state_machine_arn: String,
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: String,
    pub role_arn: String,
    pub definition_id: String,
    pub definition: String,
    /// RFC 3339.
    pub creation_date: String,
    pub update_date: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MachineOutcome {
    Created,
    /// A state machine of that name exists; nothing was written.
    Existing(StateMachineRecord),
}

const SELECT: &str = "SELECT m.state_machine_arn, m.name, m.type, m.role_arn, m.definition_id, d.definition,
                             m.creation_date, m.update_date
                      FROM state_machines m JOIN state_machine_definitions d USING (definition_id)";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        state_machine_arn: row.get(0)?,
        name: row.get(1)?,
        machine_type: row.get(2)?,
        role_arn: row.get(3)?,
        definition_id: row.get(4)?,
        definition: row.get(5)?,
        creation_date: row.get(6)?,
        update_date: row.get(7)?,
    })
}

fn by_arn(conn: &Connection, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE m.state_machine_arn = ?1"),
            [arn],
            from_row,
        )
        .optional()?)
}

fn put_definition(conn: &Connection, id: &str, definition: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO state_machine_definitions (definition_id, definition) VALUES (?1, ?2)
         ON CONFLICT (definition_id) DO NOTHING",
        params![id, definition],
    )?;
    Ok(())
}

impl Store {
    /// Creates a state machine, unless one of that name exists (returned, nothing written).
    pub async fn create_state_machine(
        &self,
        record: &StateMachineRecord,
    ) -> Result<MachineOutcome, StoreError> {
        let record = record.clone();
        self.run(move |conn| {
            let tx = conn.savepoint()?;
            let existing = tx
                .query_row(&format!("{SELECT} WHERE m.name = ?1"), [&record.name], from_row)
                .optional()?;
            if let Some(existing) = existing {
                return Ok(MachineOutcome::Existing(existing));
            }
            put_definition(&tx, &record.definition_id, &record.definition)?;
            tx.execute(
                "INSERT INTO state_machines (state_machine_arn, name, type, role_arn, definition_id, creation_date, update_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    record.state_machine_arn,
                    record.name,
                    record.machine_type,
                    record.role_arn,
                    record.definition_id,
                    record.creation_date,
                    record.update_date,
                ],
            )?;
            tx.commit()?;
            Ok(MachineOutcome::Created)
        })
        .await
    }

    /// Replaces a state machine's definition and/or role; `None` if there is no such state machine.
    pub async fn update_state_machine(
        &self,
        arn: &str,
        definition: Option<(&str, &str)>,
        role_arn: Option<&str>,
        update_date: &str,
    ) -> Result<Option<StateMachineRecord>, StoreError> {
        let arn = arn.to_owned();
        let definition = definition.map(|(id, text)| (id.to_owned(), text.to_owned()));
        let role_arn = role_arn.map(str::to_owned);
        let update_date = update_date.to_owned();
        self.run(move |conn| {
            let tx = conn.savepoint()?;
            if by_arn(&tx, &arn)?.is_none() {
                return Ok(None);
            }
            if let Some((id, text)) = &definition {
                put_definition(&tx, id, text)?;
            }
            tx.execute(
                "UPDATE state_machines SET definition_id = COALESCE(?2, definition_id),
                        role_arn = COALESCE(?3, role_arn), update_date = ?4
                 WHERE state_machine_arn = ?1",
                params![arn, definition.as_ref().map(|(id, _)| id), role_arn, update_date],
            )?;
            let updated = by_arn(&tx, &arn)?;
            tx.commit()?;
            Ok(updated)
        })
        .await
    }

    pub async fn state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>, StoreError> {
        let arn = arn.to_owned();
        self.run(move |conn| by_arn(conn, &arn)).await
    }

    /// Every state machine, by name.
    pub async fn state_machines(&self) -> Result<Vec<StateMachineRecord>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY m.name"))?;
            let rows = stmt.query_map([], from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Deletes a state machine (its executions and their definitions stay); false if there was none.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<bool, StoreError> {
        let arn = arn.to_owned();
        self.run(move |conn| {
            Ok(conn.execute("DELETE FROM state_machines WHERE state_machine_arn = ?1", [arn])? > 0)
        })
        .await
    }

    /// The text of a stored definition.
    pub async fn definition(&self, definition_id: &str) -> Result<Option<String>, StoreError> {
        self.lookup(
            "SELECT definition FROM state_machine_definitions WHERE definition_id = ?1",
            definition_id,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(name: &str, definition_id: &str) -> StateMachineRecord {
        StateMachineRecord {
            state_machine_arn: format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}"),
            name: name.into(),
            machine_type: "STANDARD".into(),
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            definition_id: definition_id.into(),
            definition: format!("{{\"v\": \"{definition_id}\"}}"),
            creation_date: "2026-11-30T00:00:00.000000Z".into(),
            update_date: None,
        }
    }

    #[tokio::test]
    async fn a_name_is_created_once_and_an_update_keeps_the_old_definition_readable() {
        let store = Store::open_in_memory().expect("store");
        let first = machine("m", "d1");
        assert_eq!(
            store.create_state_machine(&first).await.expect("create"),
            MachineOutcome::Created
        );
        let again = store
            .create_state_machine(&machine("m", "d2"))
            .await
            .expect("again");
        assert_eq!(again, MachineOutcome::Existing(first.clone()));
        let updated = store
            .update_state_machine(
                &first.state_machine_arn,
                Some(("d2", "{}")),
                None,
                "2026-11-30T01:00:00.000000Z",
            )
            .await
            .expect("update")
            .expect("exists");
        assert_eq!(updated.definition_id, "d2");
        assert_eq!(
            store.definition("d1").await.expect("old").as_deref(),
            Some(first.definition.as_str())
        );
        assert!(
            store
                .update_state_machine("arn:nope", None, None, "x")
                .await
                .expect("none")
                .is_none()
        );
        assert!(
            store
                .delete_state_machine(&first.state_machine_arn)
                .await
                .expect("delete")
        );
        assert!(store.state_machines().await.expect("list").is_empty());
    }
}
