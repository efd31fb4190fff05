//! Cross-table invariants that no single CHECK constraint can express. The CLI and the tests run them
//! after a burst of checkouts; an empty list means the books balance.

use crate::error::StoreError;
use crate::store::Store;

/// Each query returns one text column per violation found.
const CHECKS: &[&str] = &[
    // Reserved and sold units are exactly what the reservations say they are.
    "SELECT 'SKU ' || s.sku || ': reserved ' || s.reserved || ' but RESERVED reservations hold ' || COALESCE(h.n, 0)
     FROM stock s LEFT JOIN (
         SELECT l.sku, SUM(l.quantity) AS n FROM reservation_lines l
         JOIN reservations r USING (reservation_id) WHERE r.status = 'RESERVED' GROUP BY l.sku
     ) h USING (sku)
     WHERE s.reserved <> COALESCE(h.n, 0)",
    "SELECT 'SKU ' || s.sku || ': sold ' || s.sold || ' but COMMITTED reservations hold ' || COALESCE(h.n, 0)
     FROM stock s LEFT JOIN (
         SELECT l.sku, SUM(l.quantity) AS n FROM reservation_lines l
         JOIN reservations r USING (reservation_id) WHERE r.status = 'COMMITTED' GROUP BY l.sku
     ) h USING (sku)
     WHERE s.sold <> COALESCE(h.n, 0)",
    "SELECT 'SKU ' || sku || ': available + reserved + sold = ' || (available + reserved + sold)
         || ', stocked ' || stocked
     FROM stock WHERE available + reserved + sold <> stocked OR available < 0 OR reserved < 0 OR sold < 0",
    // An order exists exactly for each committed reservation.
    "SELECT 'reservation ' || r.reservation_id || ' is COMMITTED to ' || r.order_id || ' but that order does not hold it'
     FROM reservations r LEFT JOIN orders o ON o.order_id = r.order_id AND o.reservation_id = r.reservation_id
     WHERE r.status = 'COMMITTED' AND o.order_id IS NULL",
    "SELECT 'order ' || o.order_id || ' holds reservation ' || o.reservation_id || ', which is not committed to it'
     FROM orders o LEFT JOIN reservations r ON r.reservation_id = o.reservation_id
     WHERE o.status = 'CONFIRMED' AND (r.status IS NOT 'COMMITTED' OR r.order_id IS NOT o.order_id)",
    // A cancelled order gave its units back: its reservation is released.
    "SELECT 'order ' || o.order_id || ' is CANCELLED but reservation ' || o.reservation_id || ' is '
         || COALESCE(r.status, 'missing')
     FROM orders o LEFT JOIN reservations r ON r.reservation_id = o.reservation_id
     WHERE o.status = 'CANCELLED' AND r.status IS NOT 'RELEASED'",
    // Money: taken only by a succeeded payment, given back at most once and in full.
    "SELECT 'payment ' || payment_id || ' is ' || status || ' with ' || captured || ' captured of ' || amount
     FROM sim_payment_intents
     WHERE (status = 'succeeded' AND captured <> amount) OR (status <> 'succeeded' AND captured <> 0)",
    "SELECT 'payment ' || p.payment_id || ': refunded ' || p.refunded || ' but refunds total ' || COALESCE(f.n, 0)
     FROM sim_payment_intents p LEFT JOIN (
         SELECT payment_id, SUM(amount) AS n FROM sim_refunds GROUP BY payment_id
     ) f USING (payment_id)
     WHERE p.refunded <> COALESCE(f.n, 0) OR p.refunded NOT IN (0, p.captured)",
    // Every captured payment has exactly one confirmed order or was refunded in full; a checkout whose
    // execution is still running may be between the two.
    "SELECT 'payment ' || p.payment_id || ' captured ' || p.captured || ' ' || p.currency || ' but has '
         || COUNT(o.order_id) || ' orders and no refund'
     FROM sim_payment_intents p LEFT JOIN orders o ON o.payment_id = p.payment_id AND o.status = 'CONFIRMED'
     WHERE p.captured > 0 AND p.refunded = 0
       AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.name = p.execution_name AND e.status = 'RUNNING')
     GROUP BY p.payment_id HAVING COUNT(o.order_id) <> 1",
    // Every confirmed order is paid by a captured, unrefunded payment of exactly its total.
    "SELECT 'order ' || o.order_id || ' is ' || o.status || ' but payment ' || o.payment_id || ' is '
         || COALESCE(p.status || ', captured ' || p.captured || ', refunded ' || p.refunded, 'missing')
     FROM orders o LEFT JOIN sim_payment_intents p ON p.payment_id = o.payment_id
     WHERE o.status = 'CONFIRMED'
       AND (p.payment_id IS NULL OR p.captured <> o.total OR p.refunded <> 0 OR p.currency <> o.currency)",
];

impl Store {
    /// Every broken invariant as a sentence; empty when stock, reservations, orders and payments agree.
    pub async fn check_invariants(&self) -> Result<Vec<String>, StoreError> {
        self.run(|conn| {
            let mut problems = Vec::new();
            for sql in CHECKS {
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
                for row in rows {
                    problems.push(row?);
                }
            }
            Ok(problems)
        })
        .await
    }
}
