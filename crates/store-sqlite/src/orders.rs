use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use stepcart_domain::PortError;
use stepcart_domain::inventory::ReservationStatus;
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::ports::{CancelOutcome, Orders, PlaceOrderError};
use stepcart_domain::pricing::PricedLine;

use crate::catalog::parse_currency;
use crate::error::StoreError;
use crate::inventory::{Settle, load_reservation, settle};
use crate::store::{Store, now_rfc3339};

/// An order as `stepcart orders` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRow {
    pub order_id: String,
    pub status: String,
    pub total: i64,
    pub currency: String,
    pub payment_id: String,
    pub execution_name: String,
    pub created_at: String,
}

fn parse_order_status(order_id: &str, text: &str) -> Result<OrderStatus, StoreError> {
    match text {
        "CONFIRMED" => Ok(OrderStatus::Confirmed),
        "CANCELLED" => Ok(OrderStatus::Cancelled),
        other => Err(StoreError::corrupt(format!("orders[{order_id}].status"), other)),
    }
}

fn load_order(conn: &Connection, order_id: &str) -> Result<Option<Order>, StoreError> {
    let head = conn
        .query_row(
            "SELECT status, subtotal, discount, total, currency, payment_id, reservation_id, discount_code,
                    execution_name, customer_id, customer_email
             FROM orders WHERE order_id = ?1",
            [order_id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, Option<String>>(7)?,
                    row.get::<_, String>(8)?,
                    row.get::<_, String>(9)?,
                    row.get::<_, String>(10)?,
                ))
            },
        )
        .optional()?;
    let Some((
        status,
        subtotal,
        discount,
        total,
        currency,
        payment_id,
        reservation_id,
        discount_code,
        execution_name,
        customer_id,
        customer_email,
    )) = head
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT sku, quantity, unit_price, line_total FROM order_lines WHERE order_id = ?1 ORDER BY position",
    )?;
    let items = stmt
        .query_map([order_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get(2)?,
                row.get(3)?,
            ))
        })?
        .map(|row| {
            let (sku, quantity, unit_price, line_total) = row?;
            let quantity = u32::try_from(quantity).map_err(|_| {
                StoreError::corrupt(format!("order_lines[{order_id}, {sku}].quantity"), quantity)
            })?;
            Ok(PricedLine {
                sku,
                quantity,
                unit_price,
                line_total,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(Order {
        status: parse_order_status(order_id, &status)?,
        currency: parse_currency(&format!("orders[{order_id}].currency"), &currency)?,
        order_id: order_id.to_owned(),
        items,
        subtotal,
        discount,
        total,
        payment_id,
        reservation_id,
        discount_code,
        execution_name,
        customer_id,
        customer_email,
    }))
}

/// Sorted (SKU, quantity) pairs: what an order sells or a reservation holds, whatever the line order.
fn units<'a>(lines: impl Iterator<Item = (&'a str, u32)>) -> Vec<(&'a str, u32)> {
    let mut units: Vec<_> = lines.collect();
    units.sort_unstable();
    units
}

fn place_tx(conn: &mut Connection, order: &Order) -> Result<Result<Order, PlaceOrderError>, StoreError> {
    let tx = conn.savepoint()?;
    if let Some(stored) = load_order(&tx, &order.order_id)? {
        return Ok(Ok(stored));
    }
    let not_held = |state: String| {
        Ok(Err(PlaceOrderError::ReservationNotHeld {
            reservation_id: order.reservation_id.clone(),
            state,
        }))
    };
    let Some((reservation, committed_to)) = load_reservation(&tx, &order.reservation_id)? else {
        return not_held("missing".into());
    };
    match reservation.status {
        ReservationStatus::Reserved => {}
        ReservationStatus::Released => return not_held("released".into()),
        // Its units were sold to another order: this one would sell nothing.
        ReservationStatus::Committed => {
            return not_held(format!(
                "already committed to order {}",
                committed_to.as_deref().unwrap_or("(unknown)")
            ));
        }
    }
    // Selling other units than were reserved would break conservation in a way no CHECK catches.
    let sold = units(order.items.iter().map(|l| (l.sku.as_str(), l.quantity)));
    let held = units(reservation.items.iter().map(|l| (l.sku.as_str(), l.quantity)));
    if sold != held {
        return Ok(Err(PlaceOrderError::Port(PortError::Failed(format!(
            "order {} lists other items than reservation {} holds",
            order.order_id, order.reservation_id
        )))));
    }
    tx.execute(
        "INSERT INTO orders (order_id, status, subtotal, discount, total, currency, payment_id, reservation_id,
                             discount_code, execution_name, customer_id, customer_email, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            order.order_id,
            order.status.as_str(),
            order.subtotal,
            order.discount,
            order.total,
            order.currency.as_str(),
            order.payment_id,
            order.reservation_id,
            order.discount_code,
            order.execution_name,
            order.customer_id,
            order.customer_email,
            now_rfc3339(),
        ],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO order_lines (order_id, position, sku, quantity, unit_price, line_total)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (position, line) in (0_i64..).zip(&order.items) {
            insert.execute(params![
                order.order_id,
                position,
                line.sku,
                i64::from(line.quantity),
                line.unit_price,
                line.line_total
            ])?;
        }
    }
    settle(&tx, &reservation, Settle::Commit, Some(&order.order_id))?;
    tx.commit()?;
    Ok(Ok(order.clone()))
}

impl Store {
    /// Every order, newest first.
    pub async fn orders(&self) -> Result<Vec<OrderRow>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(
                "SELECT order_id, status, total, currency, payment_id, execution_name, created_at
                 FROM orders ORDER BY created_at DESC, rowid DESC",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(OrderRow {
                    order_id: row.get(0)?,
                    status: row.get(1)?,
                    total: row.get(2)?,
                    currency: row.get(3)?,
                    payment_id: row.get(4)?,
                    execution_name: row.get(5)?,
                    created_at: row.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl Orders for Store {
    async fn place(&self, order: &Order) -> Result<Order, PlaceOrderError> {
        let order = order.clone();
        self.run(move |conn| place_tx(conn, &order))
            .await
            .map_err(|e| PlaceOrderError::Port(e.into()))?
    }

    async fn order(&self, order_id: &str) -> Result<Option<Order>, PortError> {
        let order_id = order_id.to_owned();
        Ok(self.run(move |conn| load_order(conn, &order_id)).await?)
    }

    async fn cancel(&self, order_id: &str) -> Result<CancelOutcome, PortError> {
        let order_id = order_id.to_owned();
        Ok(self.run(move |conn| cancel_tx(conn, &order_id)).await?)
    }
}

fn cancel_tx(conn: &mut Connection, order_id: &str) -> Result<CancelOutcome, StoreError> {
    let tx = conn.savepoint()?;
    let Some(order) = load_order(&tx, order_id)? else {
        return Ok(CancelOutcome::NotFound);
    };
    if order.status == OrderStatus::Cancelled {
        return Ok(CancelOutcome::AlreadyCancelled);
    }
    let Some((reservation, held_by)) = load_reservation(&tx, &order.reservation_id)? else {
        return Err(StoreError::corrupt(
            format!("orders[{order_id}].reservation_id"),
            format!("reservation {} does not exist", order.reservation_id),
        ));
    };
    if reservation.status != ReservationStatus::Committed || held_by.as_deref() != Some(order_id) {
        return Err(StoreError::corrupt(
            format!("reservations[{}]", order.reservation_id),
            format!(
                "is {} and not committed to order {order_id}",
                reservation.status.as_str()
            ),
        ));
    }
    settle(&tx, &reservation, Settle::Unsell, None)?;
    tx.execute(
        "UPDATE orders SET status = 'CANCELLED' WHERE order_id = ?1",
        [order_id],
    )?;
    tx.commit()?;
    Ok(CancelOutcome::Cancelled)
}
