//! The `Stripe-Signature` check. Input: the first line is the header value, the second a secret, the
//! third a timestamp (decimal, possibly garbage), the rest the payload. Then:
//! - `verify` on the fuzzed header never panics, with any tolerance and any `now`;
//! - a header built by `signature_header(payload, secret, t)` verifies at time `t` (the signature part:
//!   the event may still be refused as `BadPayload`), for any non-empty secret and any `t >= 0`;
//! - it does not verify under another secret, nor with the payload changed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepcart_stripe_webhook::{DEFAULT_TOLERANCE_SECS, WebhookError, signature_header, verify};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let header = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let secret = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let t_text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let payload = parts.next().unwrap_or_default();
    let t = t_text.trim().parse::<i64>().unwrap_or_else(|_| {
        // Any 8 bytes make a timestamp too, including the extremes.
        let mut bytes = [0u8; 8];
        for (slot, byte) in bytes.iter_mut().zip(t_text.bytes()) {
            *slot = byte;
        }
        i64::from_le_bytes(bytes)
    });

    // Arbitrary header, arbitrary clock and tolerance: an answer, never a panic.
    for (now, tolerance) in [
        (t, DEFAULT_TOLERANCE_SECS),
        (i64::MAX, DEFAULT_TOLERANCE_SECS),
        (i64::MIN, i64::MAX),
        (0, -1),
    ] {
        if let Err(e) = verify(
            payload,
            &header,
            &[secret.as_str(), "whsec_other"],
            now,
            tolerance,
        ) {
            let _ = e.to_string();
        }
        let _ = verify(payload, &header, &[], now, tolerance);
    }

    if secret.is_empty() || t < 0 {
        return;
    }
    let built = signature_header(payload, &secret, t);
    match verify(payload, &built, &[secret.as_str()], t, DEFAULT_TOLERANCE_SECS) {
        Ok(_) | Err(WebhookError::BadPayload(_)) => {}
        Err(e) => panic!("a header built by signature_header does not verify: {built:?}: {e}"),
    }
    // Within the tolerance either way it still verifies; just outside it, it does not.
    for now in [
        t.saturating_add(DEFAULT_TOLERANCE_SECS),
        t.saturating_sub(DEFAULT_TOLERANCE_SECS),
    ] {
        assert!(
            !matches!(
                verify(payload, &built, &[secret.as_str()], now, DEFAULT_TOLERANCE_SECS),
                Err(WebhookError::StaleTimestamp { .. } | WebhookError::FutureTimestamp { .. })
            ),
            "{built:?} refused at {now} within the tolerance"
        );
    }
    if let Some(late) = t.checked_add(DEFAULT_TOLERANCE_SECS + 1) {
        assert!(
            matches!(
                verify(payload, &built, &[secret.as_str()], late, DEFAULT_TOLERANCE_SECS),
                Err(WebhookError::StaleTimestamp { .. })
            ),
            "{built:?} accepted at {late}, past the tolerance"
        );
    }
    // A genuine signature checked against any clock and tolerance: an answer, never a panic, and never
    // accepted when the clock is further from t than the tolerance.
    for (now, tolerance) in [
        (i64::MIN, DEFAULT_TOLERANCE_SECS),
        (i64::MAX, DEFAULT_TOLERANCE_SECS),
        (i64::MIN, i64::MAX),
        (t, -5),
    ] {
        let answer = verify(payload, &built, &[secret.as_str()], now, tolerance);
        let distance = i128::from(now) - i128::from(t);
        if distance.abs() > i128::from(tolerance.max(0)) {
            assert!(
                matches!(
                    answer,
                    Err(WebhookError::StaleTimestamp { .. } | WebhookError::FutureTimestamp { .. })
                ),
                "{built:?} not refused at {now} with tolerance {tolerance}: {answer:?}"
            );
        }
    }
    // Another secret, or a changed payload, never verifies.
    let other = format!("{secret}x");
    assert!(
        matches!(
            verify(payload, &built, &[other.as_str()], t, DEFAULT_TOLERANCE_SECS),
            Err(WebhookError::BadSignature)
        ),
        "{built:?} verified under another secret"
    );
    let mut changed = payload.to_vec();
    changed.push(b' ');
    assert!(
        matches!(
            verify(&changed, &built, &[secret.as_str()], t, DEFAULT_TOLERANCE_SECS),
            Err(WebhookError::BadSignature)
        ),
        "{built:?} verified a changed payload"
    );
});
