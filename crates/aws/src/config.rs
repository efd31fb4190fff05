//! Configuration and secrets from SSM Parameter Store, read once per container and kept for a while:
//! a Lambda container serves many invocations, and the Stripe key must not cost a call each time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stepcart_domain::PortError;

use crate::error::port_error;

/// A secret value. Its `Debug` and `Display` never show it, so it cannot leak into logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug)]
pub struct Parameters {
    client: aws_sdk_ssm::Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Secret)>>,
}

impl Parameters {
    pub fn new(client: aws_sdk_ssm::Client, ttl: Duration) -> Parameters {
        Parameters {
            client,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The parameter's value (decrypted for a SecureString), from the cache while it is fresh.
    pub async fn get(&self, name: &str) -> Result<Secret, PortError> {
        if let Some((at, value)) = self.lock().get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("GetParameter {name}"), e))?;
        let value = out
            .parameter()
            .and_then(|p| p.value())
            .ok_or_else(|| PortError::Failed(format!("parameter {name} has no value")))?;
        let secret = Secret::new(value);
        self.lock()
            .insert(name.to_owned(), (Instant::now(), secret.clone()));
        Ok(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Secret)>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("sk_test_123");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "sk_test_123");
    }
}
