//! Stripe webhooks: the `Stripe-Signature` check and the events that finish a 3-D Secure wait.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and sends
//! `Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX...]`. During a secret rotation several `v1` entries
//! (and several secrets on our side) may be present: any pair that matches passes. A timestamp further
//! than the tolerance from now, in the past or in the future, is refused, which bounds replays.
//!
//! [`verify`] is pure: the same delivery verifies every time. Refusing a second delivery of the same
//! event (Stripe retries, and may deliver twice) is the caller's job, by [`Event::id`].

use hmac::{KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use thiserror::Error;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Stripe's default tolerance between the signature's timestamp and now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The header Stripe signs deliveries with.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("no Stripe-Signature header")]
    MissingHeader,
    #[error("malformed Stripe-Signature header: {0}")]
    MalformedHeader(String),
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("no signature matches the payload")]
    BadSignature,
    #[error("the signature is {age_secs} s old, more than the tolerated {tolerance_secs} s")]
    StaleTimestamp { age_secs: i64, tolerance_secs: i64 },
    #[error(
        "the signature is dated {ahead_secs} s in the future, more than the tolerated {tolerance_secs} s"
    )]
    FutureTimestamp { ahead_secs: i64, tolerance_secs: i64 },
    #[error("no webhook secret is configured")]
    NoSecrets,
    #[error("the payload is not a Stripe event: {0}")]
    BadPayload(String),
}

/// The parts of a Stripe event stepcart acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `evt_...`: the key to deduplicate deliveries by.
    pub id: String,
    /// For example `payment_intent.succeeded` or `payment_intent.payment_failed`.
    pub event_type: String,
    /// `data.object.id` when the event's object is a PaymentIntent.
    pub payment_intent_id: Option<String>,
    /// The PaymentIntent's status in the event.
    pub status: Option<String>,
    /// `data.object.last_payment_error.message`, on a failure.
    pub failure_message: Option<String>,
}

/// What a payment event means for a checkout waiting for 3-D Secure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthenticationOutcome<'a> {
    pub payment_id: &'a str,
    pub succeeded: bool,
    pub failure_message: Option<&'a str>,
}

impl Event {
    /// `payment_intent.succeeded` / `payment_intent.payment_failed` as an outcome; `None` for any other
    /// event, which the caller acknowledges and ignores.
    pub fn authentication_outcome(&self) -> Option<AuthenticationOutcome<'_>> {
        let payment_id = self.payment_intent_id.as_deref()?;
        let succeeded = match self.event_type.as_str() {
            "payment_intent.succeeded" => true,
            "payment_intent.payment_failed" => false,
            _ => return None,
        };
        Some(AuthenticationOutcome {
            payment_id,
            succeeded,
            failure_message: self.failure_message.as_deref(),
        })
    }

    /// Reads an event body (already verified).
    pub fn parse(payload: &[u8]) -> Result<Event, WebhookError> {
        #[derive(Deserialize)]
        struct RawError {
            #[serde(default)]
            message: Option<String>,
        }
        #[derive(Deserialize)]
        struct RawObject {
            #[serde(default)]
            id: Option<String>,
            #[serde(default)]
            object: Option<String>,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            last_payment_error: Option<RawError>,
        }
        #[derive(Deserialize)]
        struct RawData {
            object: RawObject,
        }
        #[derive(Deserialize)]
        struct RawEvent {
            id: String,
            #[serde(rename = "type")]
            event_type: String,
            data: RawData,
        }
        let raw: RawEvent =
            serde_json::from_slice(payload).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
        let object = raw.data.object;
        let is_intent = object.object.as_deref() == Some("payment_intent")
            || (object.object.is_none() && object.id.as_deref().is_some_and(|id| id.starts_with("pi_")));
        Ok(Event {
            id: raw.id,
            event_type: raw.event_type,
            payment_intent_id: if is_intent { object.id } else { None },
            status: object.status,
            failure_message: object.last_payment_error.and_then(|e| e.message),
        })
    }
}

struct SignatureHeader<'a> {
    timestamp_text: &'a str,
    timestamp: i64,
    v1: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<SignatureHeader<'_>, WebhookError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(WebhookError::MissingHeader);
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut any_v1 = false;
    for item in header.split(',') {
        let Some((name, value)) = item.trim().split_once('=') else {
            return Err(WebhookError::MalformedHeader(format!(
                "{:?} is not name=value",
                item.trim()
            )));
        };
        match name.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(WebhookError::MalformedHeader("two timestamps".into()));
                }
                let text = value.trim();
                let parsed = text
                    .parse::<i64>()
                    .ok()
                    .filter(|_| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        WebhookError::MalformedHeader(format!("timestamp {text:?} is not a number"))
                    })?;
                timestamp = Some((text, parsed));
            }
            "v1" => {
                any_v1 = true;
                // A v1 that is not hex can never match; the others may.
                if let Ok(bytes) = hex::decode(value.trim()) {
                    v1.push(bytes);
                }
            }
            // v0 (test-mode legacy) and future schemes are not trusted.
            _ => {}
        }
    }
    let Some((timestamp_text, timestamp)) = timestamp else {
        return Err(WebhookError::MalformedHeader("no timestamp".into()));
    };
    if !any_v1 {
        return Err(WebhookError::NoSignature);
    }
    Ok(SignatureHeader {
        timestamp_text,
        timestamp,
        v1,
    })
}

fn mac(secret: &str, timestamp: &str, payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// Checks `signature_header` (the `Stripe-Signature` value) against the raw `payload` with any of
/// `secrets`, then the timestamp against `now_unix` within `tolerance_secs` either way, and parses the
/// event. The comparison is constant-time.
pub fn verify(
    payload: &[u8],
    signature_header: &str,
    secrets: &[&str],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<Event, WebhookError> {
    let header = parse_header(signature_header)?;
    if secrets.is_empty() || secrets.iter().all(|s| s.is_empty()) {
        return Err(WebhookError::NoSecrets);
    }
    let matched = secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        header.v1.iter().any(|signature| {
            mac(secret, header.timestamp_text, payload)
                .verify_slice(signature)
                .is_ok()
        })
    });
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    let tolerance_secs = tolerance_secs.max(0);
    // In i128: with i64 the age saturates at i64::MIN for a clock far in the past, and negating that
    // overflows (a panic with overflow checks, a wrap to "not in the future" without: accepted).
    let age = i128::from(now_unix) - i128::from(header.timestamp);
    let clamp = |secs: i128| i64::try_from(secs).unwrap_or(i64::MAX);
    if age > i128::from(tolerance_secs) {
        return Err(WebhookError::StaleTimestamp {
            age_secs: clamp(age),
            tolerance_secs,
        });
    }
    if -age > i128::from(tolerance_secs) {
        return Err(WebhookError::FutureTimestamp {
            ahead_secs: clamp(-age),
            tolerance_secs,
        });
    }
    Event::parse(payload)
}

/// A `Stripe-Signature` value for `payload` signed with `secret` at `timestamp`, as Stripe would send
/// it: for tests, and for tools that replay events to a local endpoint.
pub fn signature_header(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let signature = mac(secret, &timestamp.to_string(), payload)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(signature))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const OTHER: &str = "whsec_other_secret";
    const T: i64 = 1_700_000_000;
    const PAYLOAD: &str = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_123","object":"payment_intent","status":"succeeded"}}}"#;
    /// HMAC-SHA256("whsec_test_secret", "1700000000." + PAYLOAD), computed independently (Python's hmac).
    const KNOWN_V1: &str = "939e13ed09f4295c292d5ca034bb29daf7df1cc8b88e5f19da7f3dcdf6e87773";

    fn check(header: &str, now: i64) -> Result<Event, WebhookError> {
        verify(PAYLOAD.as_bytes(), header, &[SECRET], now, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn a_valid_signature_passes_and_the_event_is_read() {
        let header = format!("t={T},v1={KNOWN_V1}");
        assert_eq!(signature_header(PAYLOAD.as_bytes(), SECRET, T), header);
        let event = check(&header, T + 10).expect("valid");
        assert_eq!(
            event,
            Event {
                id: "evt_1".into(),
                event_type: "payment_intent.succeeded".into(),
                payment_intent_id: Some("pi_123".into()),
                status: Some("succeeded".into()),
                failure_message: None,
            }
        );
        assert_eq!(
            event.authentication_outcome(),
            Some(AuthenticationOutcome {
                payment_id: "pi_123",
                succeeded: true,
                failure_message: None
            })
        );
        // Spaces after commas, as some proxies reformat headers.
        assert!(check(&format!("t={T}, v1={KNOWN_V1}"), T).is_ok());
    }

    #[test]
    fn any_of_several_v1_signatures_or_secrets_may_match() {
        let wrong = signature_header(PAYLOAD.as_bytes(), OTHER, T);
        let wrong_v1 = wrong.split("v1=").nth(1).expect("v1");
        let header = format!("t={T},v1={wrong_v1},v1={KNOWN_V1}");
        assert!(check(&header, T).is_ok());
        let header = format!("t={T},v1={KNOWN_V1},v1={wrong_v1}");
        assert!(check(&header, T).is_ok());
        // Rotation on our side: the old and new secrets are both accepted.
        let header = signature_header(PAYLOAD.as_bytes(), OTHER, T);
        assert!(verify(PAYLOAD.as_bytes(), &header, &[SECRET, OTHER], T, 300).is_ok());
        assert_eq!(check(&header, T), Err(WebhookError::BadSignature));
        // A v0 entry is never trusted, even when it would match.
        let header = format!("t={T},v0={KNOWN_V1}");
        assert_eq!(check(&header, T), Err(WebhookError::NoSignature));
    }

    #[test]
    fn a_bad_signature_or_a_changed_body_fails() {
        let mut flipped = KNOWN_V1.to_owned();
        flipped.replace_range(0..1, "8");
        assert_eq!(
            check(&format!("t={T},v1={flipped}"), T),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(&format!("t={T},v1=zz-not-hex"), T),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            check(&format!("t={T},v1=939e"), T),
            Err(WebhookError::BadSignature)
        );
        let header = format!("t={T},v1={KNOWN_V1}");
        let tampered = PAYLOAD.replace("pi_123", "pi_999");
        assert_eq!(
            verify(tampered.as_bytes(), &header, &[SECRET], T, 300),
            Err(WebhookError::BadSignature)
        );
        // The timestamp is signed too: moving it breaks the signature.
        assert_eq!(
            check(&format!("t={},v1={KNOWN_V1}", T + 1), T),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let header = format!("t={T},v1={KNOWN_V1}");
        assert!(check(&header, T + 300).is_ok());
        assert_eq!(
            check(&header, T + 301),
            Err(WebhookError::StaleTimestamp {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(check(&header, T - 300).is_ok());
        assert_eq!(
            check(&header, T - 301),
            Err(WebhookError::FutureTimestamp {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
        // A tighter tolerance is the caller's to choose.
        assert!(matches!(
            verify(PAYLOAD.as_bytes(), &header, &[SECRET], T + 11, 10),
            Err(WebhookError::StaleTimestamp { .. })
        ));
    }

    /// Found by the `signature_header` fuzz target (crates/stripe-webhook/fuzz): a genuine signature
    /// checked against a clock of i64::MIN was accepted (the age saturated and its negation wrapped).
    #[test]
    fn extreme_clocks_and_timestamps_never_accept_nor_panic() {
        let header = format!("t={T},v1={KNOWN_V1}");
        assert_eq!(
            check(&header, i64::MIN),
            Err(WebhookError::FutureTimestamp {
                ahead_secs: i64::MAX,
                tolerance_secs: 300
            })
        );
        assert!(matches!(
            verify(PAYLOAD.as_bytes(), &header, &[SECRET], i64::MIN, i64::MAX),
            Err(WebhookError::FutureTimestamp { .. })
        ));
        assert!(matches!(
            check(&header, i64::MAX),
            Err(WebhookError::StaleTimestamp { .. })
        ));
        let zero = signature_header(PAYLOAD.as_bytes(), SECRET, 0);
        assert!(matches!(
            check(&zero, i64::MIN),
            Err(WebhookError::FutureTimestamp { .. })
        ));
        let max = signature_header(PAYLOAD.as_bytes(), SECRET, i64::MAX);
        assert!(check(&max, i64::MAX).is_ok());
        assert_eq!(
            check(&max, i64::MIN),
            Err(WebhookError::FutureTimestamp {
                ahead_secs: i64::MAX,
                tolerance_secs: 300
            })
        );
        // A timestamp past i64 is malformed, not a panic.
        assert!(matches!(
            check(&format!("t=99999999999999999999,v1={KNOWN_V1}"), T),
            Err(WebhookError::MalformedHeader(_))
        ));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(check("", T), Err(WebhookError::MissingHeader));
        assert_eq!(check("   ", T), Err(WebhookError::MissingHeader));
        assert!(matches!(
            check(&format!("v1={KNOWN_V1}"), T),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            check(&format!("t=abc,v1={KNOWN_V1}"), T),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            check(&format!("t=-5,v1={KNOWN_V1}"), T),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            check("garbage", T),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert!(matches!(
            check(&format!("t={T},t={T},v1={KNOWN_V1}"), T),
            Err(WebhookError::MalformedHeader(_))
        ));
        assert_eq!(check(&format!("t={T}"), T), Err(WebhookError::NoSignature));
        assert_eq!(
            verify(PAYLOAD.as_bytes(), &format!("t={T},v1={KNOWN_V1}"), &[], T, 300),
            Err(WebhookError::NoSecrets)
        );
    }

    #[test]
    fn verification_is_pure_so_a_replay_verifies_again() {
        // Deduplicating deliveries is the caller's job (by event id); the check itself has no memory.
        let header = format!("t={T},v1={KNOWN_V1}");
        let first = check(&header, T).expect("first");
        let again = check(&header, T + 5).expect("again");
        assert_eq!(first, again);
        assert_eq!(first.id, "evt_1");
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_refused() {
        let body = b"{\"hello\":1}";
        let header = signature_header(body, SECRET, T);
        assert!(matches!(
            verify(body, &header, &[SECRET], T, 300),
            Err(WebhookError::BadPayload(_))
        ));
    }

    #[test]
    fn a_failed_payment_event_carries_the_reason() {
        let body = br#"{"id":"evt_2","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_9","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"code":"payment_intent_authentication_failure","message":"The provided PaymentMethod has failed authentication."}}}}"#;
        let header = signature_header(body, SECRET, T);
        let event = verify(body, &header, &[SECRET], T, 300).expect("valid");
        let outcome = event.authentication_outcome().expect("a payment outcome");
        assert_eq!(outcome.payment_id, "pi_9");
        assert!(!outcome.succeeded);
        assert_eq!(
            outcome.failure_message,
            Some("The provided PaymentMethod has failed authentication.")
        );
        // Other events are read but carry no outcome.
        let body = br#"{"id":"evt_3","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}"#;
        let event = Event::parse(body).expect("event");
        assert_eq!(event.payment_intent_id, None);
        assert_eq!(event.authentication_outcome(), None);
    }
}
