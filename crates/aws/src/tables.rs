//! Table names: `stepcart-<env>-<table>` (docs/data-model.md), each overridable by the
//! `STEPCART_TABLE_<TABLE>` variable that Terraform sets on the functions.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableNames {
    pub catalog: String,
    pub stock: String,
    pub reservations: String,
    pub orders: String,
    pub payments: String,
    pub idempotency: String,
}

impl TableNames {
    /// The names the environment `env` (`dev`, `staging`, `prod`, ...) uses.
    pub fn for_environment(env: &str) -> TableNames {
        let name = |table: &str| format!("stepcart-{env}-{table}");
        TableNames {
            catalog: name("catalog"),
            stock: name("stock"),
            reservations: name("reservations"),
            orders: name("orders"),
            payments: name("payments"),
            idempotency: name("idempotency"),
        }
    }

    /// The environment's names (`STEPCART_ENV`, default `dev`), with any `STEPCART_TABLE_<TABLE>`
    /// variable taking precedence.
    pub fn from_env() -> TableNames {
        let env = std::env::var("STEPCART_ENV").unwrap_or_else(|_| "dev".to_owned());
        let mut names = TableNames::for_environment(&env);
        let over = |var: &str, slot: &mut String| {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                *slot = v;
            }
        };
        over("STEPCART_TABLE_CATALOG", &mut names.catalog);
        over("STEPCART_TABLE_STOCK", &mut names.stock);
        over("STEPCART_TABLE_RESERVATIONS", &mut names.reservations);
        over("STEPCART_TABLE_ORDERS", &mut names.orders);
        over("STEPCART_TABLE_PAYMENTS", &mut names.payments);
        over("STEPCART_TABLE_IDEMPOTENCY", &mut names.idempotency);
        names
    }

    pub fn all(&self) -> [&str; 6] {
        [
            &self.catalog,
            &self.stock,
            &self.reservations,
            &self.orders,
            &self.payments,
            &self.idempotency,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_environment() {
        let t = TableNames::for_environment("prod");
        assert_eq!(t.stock, "stepcart-prod-stock");
        assert_eq!(t.all().len(), 6);
    }
}
