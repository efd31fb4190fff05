use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use stepcart_domain::PortError;
use stepcart_domain::cart::CartLine;
use stepcart_domain::inventory::{
    ReleaseOutcome, Reservation, ReservationStatus, Shortage, StockLevel, canonical_lines,
};
use stepcart_domain::ports::{Inventory, ReserveError};

use crate::error::StoreError;
use crate::store::{Store, now_rfc3339};

/// A reservation as the CLI lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationRow {
    pub reservation_id: String,
    pub execution_name: String,
    pub status: ReservationStatus,
    pub items: Vec<CartLine>,
    /// The order that bought the units, once committed.
    pub order_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The reservation with its lines in the order they were given, and the order id that committed it.
pub(crate) fn load_reservation(
    conn: &Connection,
    reservation_id: &str,
) -> Result<Option<(Reservation, Option<String>)>, StoreError> {
    let head = conn
        .query_row(
            "SELECT execution_name, status, order_id FROM reservations WHERE reservation_id = ?1",
            [reservation_id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((execution_name, status, order_id)) = head else {
        return Ok(None);
    };
    let status = ReservationStatus::parse(&status)
        .ok_or_else(|| StoreError::corrupt(format!("reservations[{reservation_id}].status"), &status))?;
    Ok(Some((
        Reservation {
            reservation_id: reservation_id.to_owned(),
            execution_name,
            items: load_lines(conn, reservation_id)?,
            status,
        },
        order_id,
    )))
}

fn load_lines(conn: &Connection, reservation_id: &str) -> Result<Vec<CartLine>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sku, quantity FROM reservation_lines WHERE reservation_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([reservation_id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (sku, quantity) = row?;
        let quantity = u32::try_from(quantity).map_err(|_| {
            StoreError::corrupt(
                format!("reservation_lines[{reservation_id}, {sku}].quantity"),
                quantity,
            )
        })?;
        Ok(CartLine { sku, quantity })
    })
    .collect()
}

/// Moves every line of a RESERVED reservation from `reserved` to `to` ("available" or "sold") and sets
/// its new status. The caller has checked the status inside the same transaction.
pub(crate) fn settle(
    tx: &Connection,
    reservation: &Reservation,
    to: Settle,
    order_id: Option<&str>,
) -> Result<(), StoreError> {
    let (sql, status) = match to {
        Settle::Release => (
            "UPDATE stock SET reserved = reserved - ?2, available = available + ?2 WHERE sku = ?1",
            ReservationStatus::Released,
        ),
        Settle::Commit => (
            "UPDATE stock SET reserved = reserved - ?2, sold = sold + ?2 WHERE sku = ?1",
            ReservationStatus::Committed,
        ),
        Settle::Unsell => (
            "UPDATE stock SET sold = sold - ?2, available = available + ?2 WHERE sku = ?1",
            ReservationStatus::Released,
        ),
    };
    // SKU order, like reserving: a fixed lock order is what keeps stores with row locks deadlock-free.
    for line in canonical_lines(&reservation.items) {
        let changed = tx.execute(sql, params![line.sku, i64::from(line.quantity)])?;
        if changed != 1 {
            return Err(StoreError::corrupt(
                format!("stock[{}]", line.sku),
                format!(
                    "reservation {} holds units of a SKU with no stock row",
                    reservation.reservation_id
                ),
            ));
        }
    }
    tx.execute(
        "UPDATE reservations SET status = ?2, order_id = ?3, updated_at = ?4 WHERE reservation_id = ?1",
        params![
            reservation.reservation_id,
            status.as_str(),
            order_id,
            now_rfc3339()
        ],
    )?;
    Ok(())
}

#[derive(Clone, Copy)]
pub(crate) enum Settle {
    Release,
    Commit,
    /// A committed reservation whose order is cancelled: its units go back from sold to available.
    Unsell,
}

fn reserve_tx(
    conn: &mut Connection,
    reservation_id: &str,
    execution_name: &str,
    lines: &[CartLine],
) -> Result<Result<Reservation, ReserveError>, StoreError> {
    let refuse = |message: String| Ok(Err(ReserveError::Port(PortError::Failed(message))));
    let tx = conn.savepoint()?;
    if let Some((existing, _)) = load_reservation(&tx, reservation_id)? {
        return Ok(Ok(existing));
    }
    let canonical = canonical_lines(lines);
    if let Some(pair) = canonical.windows(2).find(|pair| pair[0].sku == pair[1].sku) {
        return refuse(format!(
            "SKU {} appears more than once in reservation {reservation_id}",
            pair[0].sku
        ));
    }
    if let Some(zero) = canonical.iter().find(|line| line.quantity == 0) {
        return refuse(format!(
            "SKU {} has quantity 0 in reservation {reservation_id}",
            zero.sku
        ));
    }
    for line in &canonical {
        let wanted = i64::from(line.quantity);
        let available: Option<i64> = tx
            .query_row("SELECT available FROM stock WHERE sku = ?1", [&line.sku], |row| {
                row.get(0)
            })
            .optional()?;
        let Some(available) = available else {
            return Ok(Err(ReserveError::UnknownSku(line.sku.clone())));
        };
        if available < wanted {
            // Returning drops `tx`, which rolls back the lines already taken.
            return Ok(Err(ReserveError::OutOfStock(Shortage {
                sku: line.sku.clone(),
                requested: line.quantity,
                available,
            })));
        }
        tx.execute(
            "UPDATE stock SET available = available - ?2, reserved = reserved + ?2 WHERE sku = ?1",
            params![line.sku, wanted],
        )?;
    }
    let now = now_rfc3339();
    tx.execute(
        "INSERT INTO reservations (reservation_id, execution_name, status, created_at, updated_at)
         VALUES (?1, ?2, 'RESERVED', ?3, ?3)",
        params![reservation_id, execution_name, now],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO reservation_lines (reservation_id, position, sku, quantity) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (position, line) in (0_i64..).zip(lines) {
            insert.execute(params![
                reservation_id,
                position,
                line.sku,
                i64::from(line.quantity)
            ])?;
        }
    }
    tx.commit()?;
    Ok(Ok(Reservation {
        reservation_id: reservation_id.to_owned(),
        execution_name: execution_name.to_owned(),
        items: lines.to_vec(),
        status: ReservationStatus::Reserved,
    }))
}

fn release_tx(conn: &mut Connection, reservation_id: &str) -> Result<ReleaseOutcome, StoreError> {
    let tx = conn.savepoint()?;
    let Some((reservation, _)) = load_reservation(&tx, reservation_id)? else {
        // A tombstone: a reservation whose task is still running somewhere (it timed out, the
        // compensation ran) must not land after this release and strand its units.
        let now = now_rfc3339();
        tx.execute(
            "INSERT INTO reservations (reservation_id, execution_name, status, created_at, updated_at)
             VALUES (?1, '', 'RELEASED', ?2, ?2)",
            params![reservation_id, now],
        )?;
        tx.commit()?;
        return Ok(ReleaseOutcome::NotFound);
    };
    let outcome = match reservation.status {
        ReservationStatus::Released => ReleaseOutcome::AlreadyReleased,
        ReservationStatus::Committed => ReleaseOutcome::Committed,
        ReservationStatus::Reserved => {
            settle(&tx, &reservation, Settle::Release, None)?;
            ReleaseOutcome::Released
        }
    };
    tx.commit()?;
    Ok(outcome)
}

fn stock_levels(conn: &Connection, skus: &[String]) -> Result<Vec<StockLevel>, StoreError> {
    let read = |row: &rusqlite::Row<'_>| {
        Ok(StockLevel {
            sku: row.get(0)?,
            available: row.get(1)?,
            reserved: row.get(2)?,
            sold: row.get(3)?,
        })
    };
    if skus.is_empty() {
        let mut stmt =
            conn.prepare_cached("SELECT sku, available, reserved, sold FROM stock ORDER BY sku")?;
        let rows = stmt.query_map([], read)?;
        return Ok(rows.collect::<Result<_, _>>()?);
    }
    let mut stmt = conn.prepare_cached("SELECT sku, available, reserved, sold FROM stock WHERE sku = ?1")?;
    let mut levels = Vec::with_capacity(skus.len());
    for sku in skus {
        if let Some(level) = stmt.query_row([sku], read).optional()? {
            levels.push(level);
        }
    }
    levels.sort_by(|a, b| a.sku.cmp(&b.sku));
    levels.dedup_by(|a, b| a.sku == b.sku);
    Ok(levels)
}

impl Store {
    /// Every reservation, newest first.
    pub async fn reservations(&self) -> Result<Vec<ReservationRow>, StoreError> {
        self.run(|conn| {
            let heads: Vec<(String, String, String, Option<String>, String, String)> = {
                let mut stmt = conn.prepare(
                    "SELECT reservation_id, execution_name, status, order_id, created_at, updated_at
                     FROM reservations ORDER BY created_at DESC, rowid DESC",
                )?;
                let rows = stmt.query_map([], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            heads
                .into_iter()
                .map(
                    |(reservation_id, execution_name, status, order_id, created_at, updated_at)| {
                        let status = ReservationStatus::parse(&status).ok_or_else(|| {
                            StoreError::corrupt(format!("reservations[{reservation_id}].status"), &status)
                        })?;
                        Ok(ReservationRow {
                            items: load_lines(conn, &reservation_id)?,
                            reservation_id,
                            execution_name,
                            status,
                            order_id,
                            created_at,
                            updated_at,
                        })
                    },
                )
                .collect()
        })
        .await
    }
}

#[async_trait]
impl Inventory for Store {
    async fn reserve(
        &self,
        reservation_id: &str,
        execution_name: &str,
        lines: &[CartLine],
    ) -> Result<Reservation, ReserveError> {
        let reservation_id = reservation_id.to_owned();
        let execution_name = execution_name.to_owned();
        let lines = lines.to_vec();
        self.run(move |conn| reserve_tx(conn, &reservation_id, &execution_name, &lines))
            .await
            .map_err(|e| ReserveError::Port(e.into()))?
    }

    async fn release(&self, reservation_id: &str) -> Result<ReleaseOutcome, PortError> {
        let reservation_id = reservation_id.to_owned();
        Ok(self.run(move |conn| release_tx(conn, &reservation_id)).await?)
    }

    async fn reservation(&self, reservation_id: &str) -> Result<Option<Reservation>, PortError> {
        let reservation_id = reservation_id.to_owned();
        let found = self
            .run(move |conn| Ok(load_reservation(conn, &reservation_id)?.map(|(r, _)| r)))
            .await?;
        Ok(found)
    }

    async fn stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, PortError> {
        let skus = skus.to_vec();
        Ok(self.run(move |conn| stock_levels(conn, &skus)).await?)
    }
}
