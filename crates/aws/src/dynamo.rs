//! The DynamoDB adapter of the catalog, inventory, orders and 3-D Secure wait ports, as designed in
//! docs/data-model.md: every move of stock units is a condition inside one `TransactWriteItems`, and every
//! first write is conditional on the item not existing, so a retried task finds its first effect.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use stepcart_domain::PortError;
use stepcart_domain::cart::CartLine;
use stepcart_domain::catalog::{Discount, DiscountKind, Product};
use stepcart_domain::inventory::{
    ReleaseOutcome, Reservation, ReservationStatus, Shortage, StockLevel, canonical_lines,
};
use stepcart_domain::money::{Currency, Money};
use stepcart_domain::order::{Order, OrderStatus};
use stepcart_domain::ports::{
    AuthenticationWaits, CancelOutcome, Catalog, Inventory, Orders, PlaceOrderError, ReserveError,
};
use stepcart_domain::pricing::PricedLine;

use crate::attributes::{Item, as_map, get_bool, get_list, get_n, get_s, n, opt_n, opt_s, s, to_u32};
use crate::error::port_error;
use crate::tables::TableNames;

/// A `TransactWriteItems` holds at most 100 items: a reservation's pieces plus the reservation, and later
/// the same pieces plus the order and the reservation, must both fit.
pub const MAX_PIECES: usize = 98;
/// How often a reservation is attempted again when a concurrent checkout moved the stock it read.
const RESERVE_ATTEMPTS: u32 = 8;
/// A released reservation is kept this long (longer than Step Functions keeps an execution name taken).
const RELEASED_TTL_SECONDS: i64 = 100 * 24 * 3600;
/// A 3-D Secure wait expires a day after it was registered.
const WAIT_TTL_SECONDS: i64 = 24 * 3600;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

/// Units of one line taken from one stock shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) sku: String,
    pub(crate) shard: i64,
    pub(crate) quantity: i64,
}

/// A reservation as stored: its lines in cart order, and where each line's units came from.
#[derive(Clone, Debug)]
pub(crate) struct StoredReservation {
    pub(crate) reservation: Reservation,
    pub(crate) pieces: Vec<Piece>,
    pub(crate) order_id: Option<String>,
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> DynamoStore {
        DynamoStore { client, tables }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    /// Sets a SKU's stock to `available` units per shard (shard i gets `shards[i]`), with nothing
    /// reserved or sold: what an operator's restock of a fresh SKU does. `stocked` follows.
    pub async fn put_stock(&self, sku: &str, shards: &[u32]) -> Result<(), PortError> {
        for (shard, available) in (0_i64..).zip(shards) {
            let available = i64::from(*available);
            self.client
                .put_item()
                .table_name(&self.tables.stock)
                .item("sku", s(sku))
                .item("shard", n(shard))
                .item("available", n(available))
                .item("reserved", n(0))
                .item("sold", n(0))
                .item("stocked", n(available))
                .send()
                .await
                .map_err(|e| port_error("PutItem stock", e))?;
        }
        Ok(())
    }

    pub async fn put_product(&self, product: &Product, stock_shards: u32) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.tables.catalog)
            .item("pk", s(format!("PRODUCT#{}", product.sku)))
            .item("sku", s(&product.sku))
            .item("name", s(&product.name))
            .item("price", n(product.price.amount))
            .item("currency", s(product.price.currency.as_str()))
            .item("active", AttributeValue::Bool(product.active))
            .item("stockShards", n(i64::from(stock_shards.max(1))))
            .item("updatedAt", s(now_rfc3339()))
            .send()
            .await
            .map_err(|e| port_error("PutItem catalog", e))?;
        Ok(())
    }

    pub async fn put_discount(&self, discount: &Discount) -> Result<(), PortError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.catalog)
            .item("pk", s(format!("DISCOUNT#{}", discount.code)))
            .item("code", s(&discount.code));
        put = match &discount.kind {
            DiscountKind::PercentOff(p) => put.item("percentOff", n(i64::from(*p))),
            DiscountKind::AmountOff(m) => put
                .item("amountOff", n(m.amount))
                .item("amountCurrency", s(m.currency.as_str())),
        };
        if let Some(min) = &discount.min_subtotal {
            put = put
                .item("minSubtotal", n(min.amount))
                .item("minCurrency", s(min.currency.as_str()));
        }
        put.send().await.map_err(|e| port_error("PutItem catalog", e))?;
        Ok(())
    }

    async fn get(&self, table: &str, key: &str, value: &str) -> Result<Option<Item>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, s(value))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("GetItem {table}"), e))?;
        Ok(out.item)
    }

    async fn load_reservation(&self, reservation_id: &str) -> Result<Option<StoredReservation>, PortError> {
        let table = &self.tables.reservations;
        let Some(item) = self.get(table, "reservationId", reservation_id).await? else {
            return Ok(None);
        };
        reservation_from(&item, table).map(Some)
    }

    /// Every stock item (shard) of a SKU, read strongly consistent, all pages.
    async fn stock_items(&self, sku: &str) -> Result<Vec<Item>, PortError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.stock)
                .key_condition_expression("sku = :sku")
                .expression_attribute_values(":sku", s(sku))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| port_error("Query stock", e))?;
            start = out.last_evaluated_key;
            items.extend(out.items.unwrap_or_default());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The shards of a SKU as `(shard, available)`, in shard order; empty when the SKU has no stock.
    async fn shards(&self, sku: &str) -> Result<Vec<(i64, i64)>, PortError> {
        let table = &self.tables.stock;
        let mut shards = self
            .stock_items(sku)
            .await?
            .iter()
            .map(|item| Ok((get_n(item, table, "shard")?, get_n(item, table, "available")?)))
            .collect::<Result<Vec<_>, PortError>>()?;
        shards.sort_unstable();
        Ok(shards)
    }

    /// Moves every piece's units between two stock columns, guarded so none goes below zero.
    fn piece_updates(
        &self,
        pieces: &[Piece],
        from: &str,
        to: &str,
    ) -> Result<Vec<TransactWriteItem>, PortError> {
        pieces
            .iter()
            .map(|p| {
                let update = Update::builder()
                    .table_name(&self.tables.stock)
                    .key("sku", s(&p.sku))
                    .key("shard", n(p.shard))
                    .update_expression(format!("SET {from} = {from} - :q, {to} = {to} + :q"))
                    .condition_expression(format!("attribute_exists(sku) AND {from} >= :q"))
                    .expression_attribute_values(":q", n(p.quantity))
                    .build()
                    .map_err(|e| PortError::Failed(format!("stock update: {e}")))?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    async fn transact(&self, items: Vec<TransactWriteItem>, token: Option<&str>) -> Result<(), Cancelled> {
        let mut request = self.client.transact_write_items().set_transact_items(Some(items));
        if let Some(token) = token {
            request = request.client_request_token(token);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => Err(Cancelled::Reasons(
                    c.cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect(),
                )),
                _ => Err(Cancelled::Port(port_error(
                    "TransactWriteItems",
                    SdkError::ServiceError(e),
                ))),
            },
            Err(other) => Err(Cancelled::Port(port_error("TransactWriteItems", other))),
        }
    }
}

/// Why a transaction did not happen: the per-item reason codes (`ConditionalCheckFailed`, `None`,
/// `TransactionConflict`, ...) in request order, or a failure to ask at all.
#[derive(Debug)]
enum Cancelled {
    Reasons(Vec<String>),
    Port(PortError),
}

impl Cancelled {
    fn failed_at(&self, index: usize) -> bool {
        matches!(self, Cancelled::Reasons(r) if r.get(index).is_some_and(|c| c == "ConditionalCheckFailed"))
    }

    fn into_port_error(self, what: &str) -> PortError {
        match self {
            Cancelled::Port(e) => e,
            Cancelled::Reasons(r) => PortError::Unavailable(format!(
                "{what}: the transaction was cancelled ({}); try again",
                r.join(", ")
            )),
        }
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// FNV-1a: a stable spread of concurrent reservations over a hot SKU's shards.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Where a line's units come from: the first shard (from a start that depends on the reservation) that
/// holds them all, otherwise as few shards as the walk needs.
fn choose_pieces(reservation_id: &str, sku: &str, quantity: i64, shards: &[(i64, i64)]) -> Vec<Piece> {
    if shards.is_empty() {
        return Vec::new();
    }
    let start = (fnv1a(&format!("{reservation_id}{sku}")) % shards.len() as u64) as usize;
    let walk = || (0..shards.len()).map(|i| shards[(start + i) % shards.len()]);
    if let Some((shard, _)) = walk().find(|(_, available)| *available >= quantity) {
        return vec![Piece {
            sku: sku.to_owned(),
            shard,
            quantity,
        }];
    }
    let mut left = quantity;
    let mut pieces = Vec::new();
    for (shard, available) in walk() {
        if left == 0 {
            break;
        }
        let take = available.min(left);
        if take > 0 {
            pieces.push(Piece {
                sku: sku.to_owned(),
                shard,
                quantity: take,
            });
            left -= take;
        }
    }
    pieces
}

fn lines_attribute(lines: &[CartLine], pieces: &[Piece]) -> AttributeValue {
    AttributeValue::L(
        lines
            .iter()
            .map(|line| {
                let of_line = pieces
                    .iter()
                    .filter(|p| p.sku == line.sku)
                    .map(|p| {
                        AttributeValue::M(HashMap::from([
                            ("shard".to_owned(), n(p.shard)),
                            ("quantity".to_owned(), n(p.quantity)),
                        ]))
                    })
                    .collect();
                AttributeValue::M(HashMap::from([
                    ("sku".to_owned(), s(&line.sku)),
                    ("quantity".to_owned(), n(i64::from(line.quantity))),
                    ("pieces".to_owned(), AttributeValue::L(of_line)),
                ]))
            })
            .collect(),
    )
}

#[async_trait]
impl Catalog for DynamoStore {
    async fn products(&self, skus: &[String]) -> Result<Vec<Product>, PortError> {
        let table = &self.tables.catalog;
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        let mut found: BTreeMap<String, Product> = BTreeMap::new();
        for chunk in unique.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|sku| HashMap::from([("pk".to_owned(), s(format!("PRODUCT#{sku}")))]))
                .collect();
            let mut pending = Some(
                // Eventually consistent: the catalog changes rarely (docs/data-model.md).
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(false)
                    .build()
                    .map_err(|e| PortError::Failed(format!("BatchGetItem: {e}")))?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|e| port_error("BatchGetItem catalog", e))?;
                for item in out
                    .responses
                    .as_ref()
                    .and_then(|r| r.get(table))
                    .into_iter()
                    .flatten()
                {
                    let product = product_from(item, table)?;
                    found.insert(product.sku.clone(), product);
                }
                if let Some(rest) = out.unprocessed_keys.and_then(|mut u| u.remove(table))
                    && !rest.keys().is_empty()
                {
                    round += 1;
                    if round > 5 {
                        return Err(PortError::Unavailable(
                            "BatchGetItem catalog: keys still unprocessed after 5 rounds".into(),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(20 << round)).await;
                    pending = Some(rest);
                }
            }
        }
        Ok(skus.iter().filter_map(|sku| found.get(sku).cloned()).collect())
    }

    async fn discount(&self, code: &str) -> Result<Option<Discount>, PortError> {
        let table = &self.tables.catalog;
        let Some(item) = self.get(table, "pk", &format!("DISCOUNT#{code}")).await? else {
            return Ok(None);
        };
        let money = |amount: i64, currency_key: &str| -> Result<Money, PortError> {
            let code = get_s(&item, table, currency_key)?;
            let currency = Currency::parse(code)
                .map_err(|_| PortError::Failed(format!("{table}: bad currency {code}")))?;
            Ok(Money::new(amount, currency))
        };
        let kind = match (
            opt_n(&item, table, "percentOff")?,
            opt_n(&item, table, "amountOff")?,
        ) {
            (Some(p), None) => DiscountKind::PercentOff(
                u8::try_from(p).map_err(|_| PortError::Failed(format!("{table}: percentOff {p}")))?,
            ),
            (None, Some(a)) => DiscountKind::AmountOff(money(a, "amountCurrency")?),
            _ => {
                return Err(PortError::Failed(format!(
                    "{table}: discount {code} needs exactly one of percentOff and amountOff"
                )));
            }
        };
        let min_subtotal = match opt_n(&item, table, "minSubtotal")? {
            Some(m) => Some(money(m, "minCurrency")?),
            None => None,
        };
        Ok(Some(Discount {
            code: get_s(&item, table, "code")?.to_owned(),
            kind,
            min_subtotal,
        }))
    }
}

fn product_from(item: &Item, table: &str) -> Result<Product, PortError> {
    let code = get_s(item, table, "currency")?;
    let currency =
        Currency::parse(code).map_err(|_| PortError::Failed(format!("{table}: bad currency {code}")))?;
    Ok(Product {
        sku: get_s(item, table, "sku")?.to_owned(),
        name: get_s(item, table, "name")?.to_owned(),
        price: Money::new(get_n(item, table, "price")?, currency),
        active: get_bool(item, table, "active")?,
    })
}

#[async_trait]
impl Inventory for DynamoStore {
    async fn reserve(
        &self,
        reservation_id: &str,
        execution_name: &str,
        lines: &[CartLine],
    ) -> Result<Reservation, ReserveError> {
        if let Some(existing) = self.load_reservation(reservation_id).await? {
            return Ok(existing.reservation);
        }
        let canonical = canonical_lines(lines);
        let refuse = |message: String| Err(ReserveError::Port(PortError::Failed(message)));
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
        let mut last = None;
        for attempt in 0..RESERVE_ATTEMPTS {
            if attempt > 0 {
                let jitter = rand::random::<u64>() % (10 << attempt);
                tokio::time::sleep(Duration::from_millis(5 + jitter)).await;
            }
            let mut pieces = Vec::new();
            for line in &canonical {
                let wanted = i64::from(line.quantity);
                let shards = self.shards(&line.sku).await?;
                if shards.is_empty() {
                    return Err(ReserveError::UnknownSku(line.sku.clone()));
                }
                let available: i64 = shards.iter().map(|(_, a)| (*a).max(0)).sum();
                if available < wanted {
                    return Err(ReserveError::OutOfStock(Shortage {
                        sku: line.sku.clone(),
                        requested: line.quantity,
                        available,
                    }));
                }
                pieces.extend(choose_pieces(reservation_id, &line.sku, wanted, &shards));
            }
            if pieces.len() > MAX_PIECES {
                return Err(ReserveError::Port(PortError::Failed(format!(
                    "the cart needs {} stock shards, more than one transaction holds ({MAX_PIECES}); rebalance the shards of its SKUs",
                    pieces.len()
                ))));
            }
            let now = now_rfc3339();
            let put = Put::builder()
                .table_name(&self.tables.reservations)
                .item("reservationId", s(reservation_id))
                .item("executionName", s(execution_name))
                .item("status", s(ReservationStatus::Reserved.as_str()))
                .item("lines", lines_attribute(lines, &pieces))
                .item("createdAt", s(&now))
                .item("updatedAt", s(&now))
                .condition_expression("attribute_not_exists(reservationId)")
                .build()
                .map_err(|e| PortError::Failed(format!("reservation put: {e}")))?;
            let mut items = vec![TransactWriteItem::builder().put(put).build()];
            items.extend(self.piece_updates(&pieces, "available", "reserved")?);
            match self.transact(items, None).await {
                Ok(()) => {
                    return Ok(Reservation {
                        reservation_id: reservation_id.to_owned(),
                        execution_name: execution_name.to_owned(),
                        items: lines.to_vec(),
                        status: ReservationStatus::Reserved,
                    });
                }
                Err(c) if c.failed_at(0) => {
                    // An earlier attempt of this task (or an earlier run of this execution) reserved.
                    return match self.load_reservation(reservation_id).await? {
                        Some(existing) => Ok(existing.reservation),
                        None => Err(ReserveError::Port(PortError::Unavailable(format!(
                            "reservation {reservation_id} was written concurrently and cannot be read yet"
                        )))),
                    };
                }
                Err(Cancelled::Port(e)) => return Err(ReserveError::Port(e)),
                // A concurrent checkout took units after they were read: read again and retry.
                Err(c) => last = Some(c),
            }
        }
        Err(ReserveError::Port(last.map_or_else(
            || PortError::Unavailable("reservation not attempted".into()),
            |c| c.into_port_error("reserving stock"),
        )))
    }

    async fn release(&self, reservation_id: &str) -> Result<ReleaseOutcome, PortError> {
        let Some(stored) = self.load_reservation(reservation_id).await? else {
            // A tombstone, so a reservation whose task is still running somewhere (it timed out and
            // this compensation ran) fails its condition instead of landing later and stranding units.
            let now = now_rfc3339();
            let tombstone = self
                .client
                .put_item()
                .table_name(&self.tables.reservations)
                .item("reservationId", s(reservation_id))
                .item("executionName", s(""))
                .item("status", s(ReservationStatus::Released.as_str()))
                .item("lines", AttributeValue::L(Vec::new()))
                .item("createdAt", s(&now))
                .item("updatedAt", s(&now))
                .item("expiresAt", n(epoch_seconds() + RELEASED_TTL_SECONDS))
                .condition_expression("attribute_not_exists(reservationId)")
                .send()
                .await;
            return match tombstone {
                Ok(_) => Ok(ReleaseOutcome::NotFound),
                // The reservation landed meanwhile: release it as any other.
                Err(SdkError::ServiceError(e))
                    if matches!(
                        e.err(),
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(
                            _
                        )
                    ) =>
                {
                    Box::pin(self.release(reservation_id)).await
                }
                Err(e) => Err(port_error("PutItem reservations", e)),
            };
        };
        match stored.reservation.status {
            ReservationStatus::Released => return Ok(ReleaseOutcome::AlreadyReleased),
            ReservationStatus::Committed => return Ok(ReleaseOutcome::Committed),
            ReservationStatus::Reserved => {}
        }
        let update = Update::builder()
            .table_name(&self.tables.reservations)
            .key("reservationId", s(reservation_id))
            .update_expression("SET #status = :released, updatedAt = :now, expiresAt = :expires")
            .condition_expression("#status = :reserved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":released", s(ReservationStatus::Released.as_str()))
            .expression_attribute_values(":reserved", s(ReservationStatus::Reserved.as_str()))
            .expression_attribute_values(":now", s(now_rfc3339()))
            .expression_attribute_values(":expires", n(epoch_seconds() + RELEASED_TTL_SECONDS))
            .build()
            .map_err(|e| PortError::Failed(format!("reservation update: {e}")))?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(self.piece_updates(&stored.pieces, "reserved", "available")?);
        match self.transact(items, None).await {
            Ok(()) => Ok(ReleaseOutcome::Released),
            Err(c) if c.failed_at(0) => match self.load_reservation(reservation_id).await? {
                Some(now) if now.reservation.status == ReservationStatus::Released => {
                    Ok(ReleaseOutcome::AlreadyReleased)
                }
                Some(now) if now.reservation.status == ReservationStatus::Committed => {
                    Ok(ReleaseOutcome::Committed)
                }
                _ => Err(c.into_port_error("releasing stock")),
            },
            Err(c) => Err(c.into_port_error("releasing stock")),
        }
    }

    async fn reservation(&self, reservation_id: &str) -> Result<Option<Reservation>, PortError> {
        Ok(self
            .load_reservation(reservation_id)
            .await?
            .map(|r| r.reservation))
    }

    async fn stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, PortError> {
        let table = &self.tables.stock;
        let mut levels: BTreeMap<String, StockLevel> = BTreeMap::new();
        let mut add = |item: &Item| -> Result<(), PortError> {
            let sku = get_s(item, table, "sku")?.to_owned();
            let level = levels.entry(sku.clone()).or_insert(StockLevel {
                sku,
                available: 0,
                reserved: 0,
                sold: 0,
            });
            level.available += get_n(item, table, "available")?;
            level.reserved += get_n(item, table, "reserved")?;
            level.sold += get_n(item, table, "sold")?;
            Ok(())
        };
        if skus.is_empty() {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .scan()
                    .table_name(table)
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| port_error("Scan stock", e))?;
                for item in out.items() {
                    add(item)?;
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        } else {
            for sku in skus {
                for item in &self.stock_items(sku).await? {
                    add(item)?;
                }
            }
        }
        Ok(levels.into_values().collect())
    }
}

fn units<'a>(lines: impl Iterator<Item = (&'a str, u32)>) -> BTreeMap<&'a str, u64> {
    let mut totals = BTreeMap::new();
    for (sku, quantity) in lines {
        *totals.entry(sku).or_insert(0) += u64::from(quantity);
    }
    totals
}

/// A reservation item as stored: its lines in cart order and the pieces each took from the shards.
pub(crate) fn reservation_from(item: &Item, table: &str) -> Result<StoredReservation, PortError> {
    let reservation_id = get_s(item, table, "reservationId")?;
    let status = get_s(item, table, "status")?;
    let status = ReservationStatus::parse(status).ok_or_else(|| {
        PortError::Failed(format!(
            "{table}: reservation {reservation_id}: unknown status {status}"
        ))
    })?;
    let mut items = Vec::new();
    let mut pieces = Vec::new();
    for line in get_list(item, table, "lines")? {
        let line = as_map(line, table, "lines")?;
        let sku = get_s(line, table, "sku")?.to_owned();
        let quantity = to_u32(get_n(line, table, "quantity")?, table, "quantity")?;
        for piece in get_list(line, table, "pieces")? {
            let piece = as_map(piece, table, "pieces")?;
            pieces.push(Piece {
                sku: sku.clone(),
                shard: get_n(piece, table, "shard")?,
                quantity: get_n(piece, table, "quantity")?,
            });
        }
        items.push(CartLine { sku, quantity });
    }
    Ok(StoredReservation {
        reservation: Reservation {
            reservation_id: reservation_id.to_owned(),
            execution_name: get_s(item, table, "executionName")?.to_owned(),
            items,
            status,
        },
        pieces,
        order_id: opt_s(item, "orderId").map(str::to_owned),
    })
}

pub(crate) fn order_from(item: &Item, table: &str, order_id: &str) -> Result<Order, PortError> {
    let code = get_s(item, table, "currency")?;
    let currency =
        Currency::parse(code).map_err(|_| PortError::Failed(format!("{table}: bad currency {code}")))?;
    let mut items = Vec::new();
    for line in get_list(item, table, "items")? {
        let line = as_map(line, table, "items")?;
        items.push(PricedLine {
            sku: get_s(line, table, "sku")?.to_owned(),
            quantity: to_u32(get_n(line, table, "quantity")?, table, "quantity")?,
            unit_price: get_n(line, table, "unitPrice")?,
            line_total: get_n(line, table, "lineTotal")?,
        });
    }
    Ok(Order {
        order_id: order_id.to_owned(),
        status: match get_s(item, table, "status")? {
            "CONFIRMED" => OrderStatus::Confirmed,
            "CANCELLED" => OrderStatus::Cancelled,
            other => {
                return Err(PortError::Failed(format!(
                    "{table}: unknown order status {other}"
                )));
            }
        },
        items,
        subtotal: get_n(item, table, "subtotal")?,
        discount: get_n(item, table, "discount")?,
        total: get_n(item, table, "total")?,
        currency,
        payment_id: get_s(item, table, "paymentId")?.to_owned(),
        reservation_id: get_s(item, table, "reservationId")?.to_owned(),
        discount_code: opt_s(item, "discountCode").map(str::to_owned),
        execution_name: opt_s(item, "executionName").unwrap_or_default().to_owned(),
        customer_id: opt_s(item, "customerId").unwrap_or_default().to_owned(),
        customer_email: opt_s(item, "customerEmail").unwrap_or_default().to_owned(),
    })
}

/// An order as `stepcart orders --backend aws` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedOrder {
    pub order: Order,
    /// When it was placed (RFC 3339).
    pub created_at: String,
}

impl DynamoStore {
    /// Every order, newest first: a strongly consistent scan of every page of the orders table, for an
    /// operator's listing (it reads the whole table).
    pub async fn list_orders(&self) -> Result<Vec<ListedOrder>, PortError> {
        let table = &self.tables.orders;
        let mut orders = self
            .scan_all(table)
            .await?
            .iter()
            .map(|item| {
                Ok(ListedOrder {
                    order: order_from(item, table, get_s(item, table, "orderId")?)?,
                    created_at: opt_s(item, "createdAt").unwrap_or_default().to_owned(),
                })
            })
            .collect::<Result<Vec<_>, PortError>>()?;
        orders.sort_by(|a, b| (&b.created_at, &b.order.order_id).cmp(&(&a.created_at, &a.order.order_id)));
        Ok(orders)
    }
}

#[async_trait]
impl Orders for DynamoStore {
    async fn cancel(&self, order_id: &str) -> Result<CancelOutcome, PortError> {
        let Some(order) = self.order(order_id).await? else {
            return Ok(CancelOutcome::NotFound);
        };
        if order.status == OrderStatus::Cancelled {
            return Ok(CancelOutcome::AlreadyCancelled);
        }
        let Some(stored) = self.load_reservation(&order.reservation_id).await? else {
            return Err(PortError::Failed(format!(
                "order {order_id} holds reservation {}, which does not exist",
                order.reservation_id
            )));
        };
        if stored.reservation.status != ReservationStatus::Committed
            || stored.order_id.as_deref() != Some(order_id)
        {
            return Err(PortError::Failed(format!(
                "reservation {} is {} and not committed to order {order_id}",
                order.reservation_id,
                stored.reservation.status.as_str()
            )));
        }
        let now = now_rfc3339();
        let cancel = Update::builder()
            .table_name(&self.tables.orders)
            .key("orderId", s(order_id))
            .update_expression("SET #status = :cancelled, updatedAt = :now")
            .condition_expression("#status = :confirmed")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", s(OrderStatus::Cancelled.as_str()))
            .expression_attribute_values(":confirmed", s(OrderStatus::Confirmed.as_str()))
            .expression_attribute_values(":now", s(&now))
            .build()
            .map_err(|e| PortError::Failed(format!("order update: {e}")))?;
        let release = Update::builder()
            .table_name(&self.tables.reservations)
            .key("reservationId", s(&order.reservation_id))
            .update_expression(
                "SET #status = :released, updatedAt = :now, expiresAt = :expires REMOVE orderId",
            )
            .condition_expression("#status = :committed AND orderId = :order")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":released", s(ReservationStatus::Released.as_str()))
            .expression_attribute_values(":committed", s(ReservationStatus::Committed.as_str()))
            .expression_attribute_values(":order", s(order_id))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":expires", n(epoch_seconds() + RELEASED_TTL_SECONDS))
            .build()
            .map_err(|e| PortError::Failed(format!("reservation update: {e}")))?;
        let mut items = vec![
            TransactWriteItem::builder().update(cancel).build(),
            TransactWriteItem::builder().update(release).build(),
        ];
        items.extend(self.piece_updates(&stored.pieces, "sold", "available")?);
        match self.transact(items, None).await {
            Ok(()) => Ok(CancelOutcome::Cancelled),
            Err(c) if c.failed_at(0) => match self.order(order_id).await? {
                Some(now) if now.status == OrderStatus::Cancelled => Ok(CancelOutcome::AlreadyCancelled),
                _ => Err(c.into_port_error("cancelling an order")),
            },
            Err(c) => Err(c.into_port_error("cancelling an order")),
        }
    }

    async fn place(&self, order: &Order) -> Result<Order, PlaceOrderError> {
        if let Some(stored) = self.order(&order.order_id).await? {
            return Ok(stored);
        }
        let not_held = |state: String| {
            Err(PlaceOrderError::ReservationNotHeld {
                reservation_id: order.reservation_id.clone(),
                state,
            })
        };
        let Some(reservation) = self.load_reservation(&order.reservation_id).await? else {
            return not_held("missing".into());
        };
        match reservation.reservation.status {
            ReservationStatus::Reserved => {}
            ReservationStatus::Released => return not_held("released".into()),
            ReservationStatus::Committed => {
                return not_held(format!(
                    "already committed to order {}",
                    reservation.order_id.as_deref().unwrap_or("(unknown)")
                ));
            }
        }
        let sold = units(order.items.iter().map(|l| (l.sku.as_str(), l.quantity)));
        let held = units(
            reservation
                .reservation
                .items
                .iter()
                .map(|l| (l.sku.as_str(), l.quantity)),
        );
        if sold != held {
            return Err(PlaceOrderError::Port(PortError::Failed(format!(
                "order {} lists other items than reservation {} holds",
                order.order_id, order.reservation_id
            ))));
        }
        let now = now_rfc3339();
        let lines = AttributeValue::L(
            order
                .items
                .iter()
                .map(|l| {
                    AttributeValue::M(HashMap::from([
                        ("sku".to_owned(), s(&l.sku)),
                        ("quantity".to_owned(), n(i64::from(l.quantity))),
                        ("unitPrice".to_owned(), n(l.unit_price)),
                        ("lineTotal".to_owned(), n(l.line_total)),
                    ]))
                })
                .collect(),
        );
        let mut put = Put::builder()
            .table_name(&self.tables.orders)
            .item("orderId", s(&order.order_id))
            .item("status", s(order.status.as_str()))
            .item("items", lines)
            .item("subtotal", n(order.subtotal))
            .item("discount", n(order.discount))
            .item("total", n(order.total))
            .item("currency", s(order.currency.as_str()))
            .item("paymentId", s(&order.payment_id))
            .item("reservationId", s(&order.reservation_id))
            .item("executionName", s(&order.execution_name))
            .item("customerId", s(&order.customer_id))
            .item("customerEmail", s(&order.customer_email))
            .item("createdAt", s(&now))
            .condition_expression("attribute_not_exists(orderId)");
        if let Some(code) = &order.discount_code {
            put = put.item("discountCode", s(code));
        }
        let put = put
            .build()
            .map_err(|e| PlaceOrderError::Port(PortError::Failed(format!("order put: {e}"))))?;
        let commit = Update::builder()
            .table_name(&self.tables.reservations)
            .key("reservationId", s(&order.reservation_id))
            .update_expression("SET #status = :committed, orderId = :order, updatedAt = :now")
            .condition_expression("#status = :reserved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":committed", s(ReservationStatus::Committed.as_str()))
            .expression_attribute_values(":reserved", s(ReservationStatus::Reserved.as_str()))
            .expression_attribute_values(":order", s(&order.order_id))
            .expression_attribute_values(":now", s(&now))
            .build()
            .map_err(|e| PlaceOrderError::Port(PortError::Failed(format!("reservation update: {e}"))))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(commit).build(),
        ];
        items.extend(self.piece_updates(&reservation.pieces, "reserved", "sold")?);
        match self.transact(items, None).await {
            Ok(()) => Ok(order.clone()),
            Err(c) if c.failed_at(0) => match self.order(&order.order_id).await? {
                Some(stored) => Ok(stored),
                None => Err(PlaceOrderError::Port(c.into_port_error("placing the order"))),
            },
            Err(c) if c.failed_at(1) => match self.load_reservation(&order.reservation_id).await? {
                Some(r) if r.reservation.status == ReservationStatus::Released => not_held("released".into()),
                Some(r) if r.reservation.status == ReservationStatus::Committed => not_held(format!(
                    "already committed to order {}",
                    r.order_id.as_deref().unwrap_or("(unknown)")
                )),
                None => not_held("missing".into()),
                Some(_) => Err(PlaceOrderError::Port(c.into_port_error("placing the order"))),
            },
            Err(c) => Err(PlaceOrderError::Port(c.into_port_error("placing the order"))),
        }
    }

    async fn order(&self, order_id: &str) -> Result<Option<Order>, PortError> {
        let table = &self.tables.orders;
        match self.get(table, "orderId", order_id).await? {
            Some(item) => Ok(Some(order_from(&item, table, order_id)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl AuthenticationWaits for DynamoStore {
    /// The newest registration wins, as in the SQLite store: a retried wait task has a new token.
    async fn register(&self, payment_id: &str, task_token: &str) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.tables.payments)
            .item("pk", s(format!("WAIT#{payment_id}")))
            .item("taskToken", s(task_token))
            .item("registeredAt", s(now_rfc3339()))
            .item("expiresAt", n(epoch_seconds() + WAIT_TTL_SECONDS))
            .send()
            .await
            .map_err(|e| port_error("PutItem payments", e))?;
        Ok(())
    }

    async fn task_token(&self, payment_id: &str) -> Result<Option<String>, PortError> {
        let table = &self.tables.payments;
        Ok(self
            .get(table, "pk", &format!("WAIT#{payment_id}"))
            .await?
            .map(|item| get_s(&item, table, "taskToken").map(str::to_owned))
            .transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_fits_one_shard_takes_one_piece() {
        let pieces = choose_pieces("res_1", "A", 3, &[(0, 2), (1, 5), (2, 5)]);
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].quantity, 3);
        assert!(pieces[0].shard == 1 || pieces[0].shard == 2);
    }

    #[test]
    fn a_line_larger_than_any_shard_is_split_and_never_overdraws() {
        let shards = [(0, 2), (1, 3), (2, 1)];
        let pieces = choose_pieces("res_2", "A", 5, &shards);
        assert_eq!(pieces.iter().map(|p| p.quantity).sum::<i64>(), 5);
        for p in &pieces {
            let available = shards.iter().find(|(s, _)| *s == p.shard).map(|(_, a)| *a);
            assert!(Some(p.quantity) <= available);
        }
    }

    #[test]
    fn reservations_spread_over_shards() {
        let shards = [(0, 100), (1, 100), (2, 100), (3, 100)];
        let used: std::collections::BTreeSet<i64> = (0..64)
            .map(|i| choose_pieces(&format!("res_{i}"), "HOT", 1, &shards)[0].shard)
            .collect();
        assert!(used.len() >= 3, "{used:?}");
    }
}
