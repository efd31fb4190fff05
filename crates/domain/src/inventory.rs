//! Stock and reservations. Stock is conserved: for every SKU, available + reserved + sold never changes
//! except when the shop restocks.

use serde::{Deserialize, Serialize};

use crate::cart::CartLine;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    pub sku: String,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    /// Units moved from available to reserved.
    Reserved,
    /// The order was placed: units moved from reserved to sold.
    Committed,
    /// Compensated: units moved back from reserved to available.
    Released,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "RESERVED",
            Self::Committed => "COMMITTED",
            Self::Released => "RELEASED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RESERVED" => Some(Self::Reserved),
            "COMMITTED" => Some(Self::Committed),
            "RELEASED" => Some(Self::Released),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub reservation_id: String,
    pub execution_name: String,
    pub items: Vec<CartLine>,
    pub status: ReservationStatus,
}

/// What releasing a reservation did; releasing is idempotent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReleaseOutcome {
    /// Units went back to available now.
    Released,
    /// An earlier call released it already.
    AlreadyReleased,
    /// Nothing was reserved under this id (the reservation never happened).
    NotFound,
    /// The order was placed; sold units are not released.
    Committed,
    /// The order had been placed: it was cancelled and its units went back to available.
    OrderCancelled,
}

/// A line the store could not reserve in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub sku: String,
    pub requested: u32,
    pub available: i64,
}

impl Shortage {
    pub fn message(&self) -> String {
        format!(
            "SKU {} has {} available, {} requested; nothing was reserved",
            self.sku,
            self.available.max(0),
            self.requested
        )
    }
}

/// Lines sorted by SKU: stores take locks or write items in this order, so two carts never deadlock.
pub fn canonical_lines(lines: &[CartLine]) -> Vec<CartLine> {
    let mut sorted = lines.to_vec();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    sorted
}
