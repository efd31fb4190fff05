//! The invariants of docs/data-model.md checked over the DynamoDB tables, the counterpart of the SQLite
//! store's `Store::check_invariants`: an empty list means the books balance.
//!
//! The checker scans the stock, reservations, orders and payments tables (strongly consistent scans, every
//! page). It is an operator's tool: run it when the shop is quiet, because items written while the scans
//! run may be seen in one table and not yet in another (a scan is not a snapshot).
//!
//! What it checks:
//! - **stock is conserved**, per stock item (shard): `available + reserved + sold = stocked`, none below
//!   zero;
//! - per stock item, `reserved` equals the units the RESERVED reservations took from it, and `sold` the
//!   units of the COMMITTED ones (each reservation records which shard every unit came from); the pieces
//!   of a held line add up to its quantity;
//! - every COMMITTED reservation names an order that exists and holds it, and every order holds a
//!   reservation COMMITTED to it, with the same units per SKU;
//! - money, from [`PaymentRecord`]s: the ledger (`PAYMENT#` items, `--payment stripe` and the Lambdas) or
//!   records the caller gives (the simulated provider's payments, which the CLI keeps in its embedded
//!   store): every CONFIRMED order is paid by a payment captured for exactly its total, in its currency,
//!   not refunded; every captured payment has exactly one CONFIRMED order or was refunded in full;
//!   executions named in [`InvariantOptions::running`] are skipped (they may be between the two).
//!
//! What the ledger cannot tell (so what is not checked, or checked loosely, when the payments come from
//! the ledger):
//! - **refunds**: the data model documents `refundStatus` / `refundedAmount` on a payment item, but the
//!   Stripe adapter (`crates/stripe`) does not write them today (the `PaymentLedger` port has no call for
//!   it). The checker honours those attributes when present; without them a captured payment whose
//!   checkout failed and was refunded at Stripe is reported as "captured without an order, no refund
//!   recorded" - verify it at Stripe.
//! - **the payment's current state**: the ledger keeps the status Stripe answered at confirmation. A
//!   3-D Secure payment stays `requires_action` in the ledger after the customer authenticated and it was
//!   captured, so an order paid by a ledger entry in `requires_action` or `processing` is accepted (the
//!   order is only written after `create-order` saw the capture at Stripe), and such an entry without an
//!   order is not counted as captured.
//! - **running executions**: DynamoDB does not know which checkouts are still running (Step Functions
//!   or the local engine does); [`DynamoStore::check_invariants`] assumes none is, callers that know pass
//!   them in [`InvariantOptions::running`].
//! - the provider's own books (captured vs refunds at Stripe) are not in DynamoDB at all.

use std::collections::{BTreeMap, BTreeSet};

use stepcart_domain::PortError;

use crate::attributes::{Item, get_n, get_s, opt_n, opt_s};
use crate::dynamo::{DynamoStore, order_from, reservation_from};
use crate::error::port_error;

/// A payment as the checker needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRecord {
    /// The provider's id (`pi_...`); `None` while the provider has not answered (a `pending` ledger entry).
    pub payment_id: Option<String>,
    /// The payment's idempotency key (`stepcart-pay-<hex>`).
    pub idempotency_key: String,
    pub execution_name: String,
    /// The order id the checkout would place (from the execution name).
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
    /// The last status known (`pending`, `succeeded`, `requires_action`, `processing`, `failed`,
    /// `canceled`).
    pub status: String,
    /// Money taken: `amount` once succeeded, otherwise 0.
    pub captured: i64,
    /// Money given back.
    pub refunded: i64,
    /// Whether `status` may be stale: a ledger entry keeps the status of the confirmation, so a payment
    /// captured after 3-D Secure still says `requires_action` there.
    pub status_may_be_stale: bool,
}

/// What the checker should know besides the tables.
#[derive(Clone, Debug, Default)]
pub struct InvariantOptions {
    /// The payments to check orders against; `None`: the ledger's `PAYMENT#` items.
    pub payments: Option<Vec<PaymentRecord>>,
    /// Names of executions still running: their payments may not have an order yet.
    pub running: BTreeSet<String>,
}

/// One stock item (SKU shard) as scanned.
#[derive(Debug, Default)]
struct StockItem {
    available: i64,
    reserved: i64,
    sold: i64,
    stocked: i64,
}

/// A reserved line: SKU, quantity, and the pieces taken from each shard as (shard, quantity).
type ReservedLine = (String, i64, Vec<(i64, i64)>);

#[derive(Debug)]
struct ReservationRow {
    id: String,
    status: String,
    order_id: Option<String>,
    lines: Vec<ReservedLine>,
}

#[derive(Debug)]
struct OrderRow {
    id: String,
    status: String,
    reservation_id: String,
    payment_id: String,
    total: i64,
    currency: String,
    execution_name: String,
    units: BTreeMap<String, i64>,
}

/// "SKU X" for a SKU's only shard 0, "SKU X shard N" otherwise.
fn place(sku: &str, shard: i64, sharded: bool) -> String {
    if sharded {
        format!("SKU {sku} shard {shard}")
    } else {
        format!("SKU {sku}")
    }
}

/// A reservation item through the adapter's own reader, with each line's pieces beside it.
fn parse_reservation(item: &Item, table: &str) -> Result<ReservationRow, PortError> {
    let stored = reservation_from(item, table)?;
    let lines = stored
        .reservation
        .items
        .iter()
        .map(|line| {
            let pieces = stored
                .pieces
                .iter()
                .filter(|p| p.sku == line.sku)
                .map(|p| (p.shard, p.quantity))
                .collect();
            (line.sku.clone(), i64::from(line.quantity), pieces)
        })
        .collect();
    Ok(ReservationRow {
        id: stored.reservation.reservation_id,
        status: stored.reservation.status.as_str().to_owned(),
        order_id: stored.order_id,
        lines,
    })
}

/// An order item through the adapter's own reader, its units summed per SKU.
fn parse_order(item: &Item, table: &str) -> Result<OrderRow, PortError> {
    let order = order_from(item, table, get_s(item, table, "orderId")?)?;
    let mut units = BTreeMap::new();
    for line in &order.items {
        *units.entry(line.sku.clone()).or_insert(0) += i64::from(line.quantity);
    }
    Ok(OrderRow {
        status: order.status.as_str().to_owned(),
        reservation_id: order.reservation_id,
        payment_id: order.payment_id,
        currency: order.currency.as_str().to_owned(),
        execution_name: order.execution_name,
        total: order.total,
        units,
        id: order.order_id,
    })
}

/// A ledger `PAYMENT#` item as a record; `None` for other items of the payments table (3-D Secure waits).
fn ledger_record(item: &Item, table: &str) -> Option<Result<PaymentRecord, PortError>> {
    let key = opt_s(item, "pk")?.strip_prefix("PAYMENT#")?.to_owned();
    let record = (|| {
        let status = get_s(item, table, "status")?.to_owned();
        let amount = get_n(item, table, "amount")?;
        let captured = if status == "succeeded" { amount } else { 0 };
        let refunded_amount = opt_n(item, table, "refundedAmount")?;
        let refunded = match opt_s(item, "refundStatus") {
            Some("refunded") => refunded_amount.unwrap_or(amount),
            _ => refunded_amount.unwrap_or(0),
        };
        let text = |key: &str| opt_s(item, key).unwrap_or_default().to_owned();
        Ok(PaymentRecord {
            payment_id: opt_s(item, "paymentId").map(str::to_owned),
            execution_name: text("executionName"),
            order_id: text("orderId"),
            currency: text("currency"),
            idempotency_key: key.clone(),
            amount,
            status,
            captured,
            refunded,
            status_may_be_stale: true,
        })
    })();
    Some(record)
}

impl DynamoStore {
    /// Every item of `table`, strongly consistent, all pages.
    pub(crate) async fn scan_all(&self, table: &str) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| port_error(&format!("Scan {table}"), e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The ledger's payments (`PAYMENT#` items of the payments table).
    pub async fn ledger_payments(&self) -> Result<Vec<PaymentRecord>, PortError> {
        let table = self.tables().payments.clone();
        self.scan_all(&table)
            .await?
            .iter()
            .filter_map(|item| ledger_record(item, &table))
            .collect()
    }

    /// Every broken invariant as a sentence naming the ids; empty when stock, reservations, orders and
    /// the payments ledger agree. Assumes no checkout is running (see the module documentation for what
    /// the ledger cannot tell).
    pub async fn check_invariants(&self) -> Result<Vec<String>, PortError> {
        self.check_invariants_with(&InvariantOptions::default()).await
    }

    /// [`DynamoStore::check_invariants`] with the payments and running executions the caller knows.
    pub async fn check_invariants_with(&self, options: &InvariantOptions) -> Result<Vec<String>, PortError> {
        let tables = self.tables().clone();
        let mut problems = Vec::new();

        // Stock, per item (SKU shard).
        let mut stock: BTreeMap<(String, i64), StockItem> = BTreeMap::new();
        for item in self.scan_all(&tables.stock).await? {
            let read = || -> Result<((String, i64), StockItem), PortError> {
                let table = &tables.stock;
                let field = |key: &str| get_n(&item, table, key);
                Ok((
                    (get_s(&item, table, "sku")?.to_owned(), field("shard")?),
                    StockItem {
                        available: field("available")?,
                        reserved: field("reserved")?,
                        sold: field("sold")?,
                        stocked: field("stocked")?,
                    },
                ))
            };
            match read() {
                Ok((at, levels)) => {
                    stock.insert(at, levels);
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        let sharded: BTreeSet<&str> = stock
            .keys()
            .filter(|(_, shard)| *shard != 0)
            .map(|(sku, _)| sku.as_str())
            .collect();
        for ((sku, shard), s) in &stock {
            let at = place(sku, *shard, sharded.contains(sku.as_str()));
            if s.available + s.reserved + s.sold != s.stocked {
                problems.push(format!(
                    "{at}: available + reserved + sold = {} + {} + {} = {}, stocked {}",
                    s.available,
                    s.reserved,
                    s.sold,
                    s.available + s.reserved + s.sold,
                    s.stocked
                ));
            }
            for (name, value) in [
                ("available", s.available),
                ("reserved", s.reserved),
                ("sold", s.sold),
            ] {
                if value < 0 {
                    problems.push(format!("{at}: {name} is {value}, below zero"));
                }
            }
        }

        // Reservations: what they hold, per stock item.
        let mut reservations = BTreeMap::new();
        for item in self.scan_all(&tables.reservations).await? {
            match parse_reservation(&item, &tables.reservations) {
                Ok(r) => {
                    reservations.insert(r.id.clone(), r);
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        let mut held: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
        for r in reservations.values() {
            let column = match r.status.as_str() {
                "RESERVED" => 0,
                "COMMITTED" => 1,
                "RELEASED" => continue,
                other => {
                    problems.push(format!("reservation {} has an unknown status {other}", r.id));
                    continue;
                }
            };
            for (sku, quantity, pieces) in &r.lines {
                let in_pieces: i64 = pieces.iter().map(|(_, q)| q).sum();
                if in_pieces != *quantity {
                    problems.push(format!(
                        "reservation {} ({}) holds {quantity} of SKU {sku} but its pieces add up to {in_pieces}",
                        r.id, r.status
                    ));
                }
                for (shard, q) in pieces {
                    let slot = held.entry((sku.clone(), *shard)).or_insert((0, 0));
                    if column == 0 {
                        slot.0 += q;
                    } else {
                        slot.1 += q;
                    }
                }
            }
        }
        let keys: BTreeSet<(String, i64)> = stock.keys().chain(held.keys()).cloned().collect();
        for key in &keys {
            let at = place(&key.0, key.1, sharded.contains(key.0.as_str()) || key.1 != 0);
            let (r, c) = held.get(key).copied().unwrap_or((0, 0));
            let Some(s) = stock.get(key) else {
                problems.push(format!(
                    "{at}: no stock item, but RESERVED reservations hold {r} and COMMITTED ones {c} there"
                ));
                continue;
            };
            if s.reserved != r {
                problems.push(format!(
                    "{at}: reserved {} but RESERVED reservations hold {r}",
                    s.reserved
                ));
            }
            if s.sold != c {
                problems.push(format!(
                    "{at}: sold {} but COMMITTED reservations hold {c}",
                    s.sold
                ));
            }
        }

        // Orders and the reservations committed to them.
        let mut orders = BTreeMap::new();
        for item in self.scan_all(&tables.orders).await? {
            match parse_order(&item, &tables.orders) {
                Ok(o) => {
                    orders.insert(o.id.clone(), o);
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        for r in reservations.values().filter(|r| r.status == "COMMITTED") {
            match r.order_id.as_deref() {
                None => problems.push(format!("reservation {} is COMMITTED to no order", r.id)),
                Some(order_id) => match orders.get(order_id) {
                    Some(o) if o.reservation_id == r.id => {}
                    Some(o) => problems.push(format!(
                        "reservation {} is COMMITTED to {order_id} but that order holds reservation {}",
                        r.id, o.reservation_id
                    )),
                    None => problems.push(format!(
                        "reservation {} is COMMITTED to {order_id} but that order does not exist",
                        r.id
                    )),
                },
            }
        }
        for o in orders.values().filter(|o| o.status == "CANCELLED") {
            // A cancelled order gave its units back: its reservation is released.
            match reservations.get(&o.reservation_id) {
                Some(r) if r.status == "RELEASED" => {}
                other => problems.push(format!(
                    "order {} is CANCELLED but reservation {} is {}",
                    o.id,
                    o.reservation_id,
                    other.map_or("missing", |r| r.status.as_str())
                )),
            }
        }
        for o in orders.values().filter(|o| o.status != "CANCELLED") {
            match reservations.get(&o.reservation_id) {
                None => problems.push(format!(
                    "order {} holds reservation {}, which does not exist",
                    o.id, o.reservation_id
                )),
                Some(r) if r.status != "COMMITTED" || r.order_id.as_deref() != Some(o.id.as_str()) => {
                    problems.push(format!(
                        "order {} holds reservation {}, which is {}{} and not committed to it",
                        o.id,
                        o.reservation_id,
                        r.status,
                        r.order_id
                            .as_deref()
                            .map(|id| format!(" (order {id})"))
                            .unwrap_or_default()
                    ));
                }
                Some(r) => {
                    let mut units = BTreeMap::new();
                    for (sku, q, _) in &r.lines {
                        *units.entry(sku.clone()).or_insert(0) += q;
                    }
                    if units != o.units {
                        problems.push(format!(
                            "order {} lists {:?} but its reservation {} holds {:?}",
                            o.id, o.units, r.id, units
                        ));
                    }
                }
            }
        }

        // Money.
        let payments = match &options.payments {
            Some(p) => p.clone(),
            None => self.ledger_payments().await?,
        };
        let mut by_id: BTreeMap<&str, &PaymentRecord> = BTreeMap::new();
        for p in &payments {
            if let Some(id) = &p.payment_id {
                by_id.insert(id.as_str(), p);
            }
            if p.captured < 0 || p.captured > p.amount || p.refunded < 0 || p.refunded > p.captured.max(0) {
                problems.push(format!(
                    "payment {} ({}) of {} {} has captured {} and refunded {}",
                    p.payment_id.as_deref().unwrap_or("(no id)"),
                    p.idempotency_key,
                    p.amount,
                    p.currency,
                    p.captured,
                    p.refunded
                ));
            }
        }
        let mut orders_by_payment: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for o in orders.values().filter(|o| o.status == "CONFIRMED") {
            orders_by_payment
                .entry(o.payment_id.as_str())
                .or_default()
                .push(o.id.as_str());
            let Some(p) = by_id.get(o.payment_id.as_str()) else {
                problems.push(format!(
                    "order {} is CONFIRMED but payment {} is missing",
                    o.id, o.payment_id
                ));
                continue;
            };
            let captured_or_stale = p.captured > 0
                || (p.status_may_be_stale && matches!(p.status.as_str(), "requires_action" | "processing"));
            let captured = if p.captured > 0 { p.captured } else { p.amount };
            if !captured_or_stale || captured != o.total || p.refunded != 0 || p.currency != o.currency {
                problems.push(format!(
                    "order {} is CONFIRMED for {} {} but payment {} is {}, captured {} of {} {}, refunded {}",
                    o.id,
                    o.total,
                    o.currency,
                    o.payment_id,
                    p.status,
                    p.captured,
                    p.amount,
                    p.currency,
                    p.refunded
                ));
            }
        }
        for p in payments
            .iter()
            .filter(|p| p.captured > 0 && p.refunded < p.captured)
        {
            if options.running.contains(&p.execution_name) {
                continue;
            }
            let id = p.payment_id.as_deref().unwrap_or_default();
            let holders = orders_by_payment.get(id).map(Vec::as_slice).unwrap_or_default();
            if holders.len() != 1 {
                problems.push(format!(
                    "payment {id} ({}, execution {}) captured {} {} and refunded {} but has {} confirmed orders{}{}",
                    p.idempotency_key,
                    p.execution_name,
                    p.captured,
                    p.currency,
                    p.refunded,
                    holders.len(),
                    if holders.is_empty() { String::new() } else { format!(" ({})", holders.join(", ")) },
                    if p.status_may_be_stale && p.refunded == 0 {
                        " (the ledger records no refund: verify at the provider)"
                    } else {
                        ""
                    }
                ));
            }
        }
        // An order's execution and its payment's execution are the same checkout.
        for o in orders.values() {
            if let Some(p) = by_id.get(o.payment_id.as_str())
                && !o.execution_name.is_empty()
                && !p.execution_name.is_empty()
                && o.execution_name != p.execution_name
            {
                problems.push(format!(
                    "order {} of execution {} is paid by payment {} of execution {}",
                    o.id, o.execution_name, o.payment_id, p.execution_name
                ));
            }
        }
        Ok(problems)
    }
}
