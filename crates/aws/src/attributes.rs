//! Reading and writing DynamoDB attribute maps, with a clear error for an item that is not what the
//! adapter wrote.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use stepcart_domain::PortError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(table: &str, key: &str, what: &str) -> PortError {
    PortError::Failed(format!("{table}: attribute {key} is {what}"))
}

pub(crate) fn get_s<'a>(item: &'a Item, table: &str, key: &str) -> Result<&'a str, PortError> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Ok(v),
        Some(_) => Err(corrupt(table, key, "not a string")),
        None => Err(corrupt(table, key, "missing")),
    }
}

pub(crate) fn opt_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    match item.get(key) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn get_n(item: &Item, table: &str, key: &str) -> Result<i64, PortError> {
    match item.get(key) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| corrupt(table, key, "not an integer")),
        Some(_) => Err(corrupt(table, key, "not a number")),
        None => Err(corrupt(table, key, "missing")),
    }
}

pub(crate) fn opt_n(item: &Item, table: &str, key: &str) -> Result<Option<i64>, PortError> {
    if item.contains_key(key) {
        get_n(item, table, key).map(Some)
    } else {
        Ok(None)
    }
}

pub(crate) fn get_bool(item: &Item, table: &str, key: &str) -> Result<bool, PortError> {
    match item.get(key) {
        Some(AttributeValue::Bool(v)) => Ok(*v),
        Some(_) => Err(corrupt(table, key, "not a boolean")),
        None => Err(corrupt(table, key, "missing")),
    }
}

pub(crate) fn get_list<'a>(
    item: &'a Item,
    table: &str,
    key: &str,
) -> Result<&'a [AttributeValue], PortError> {
    match item.get(key) {
        Some(AttributeValue::L(v)) => Ok(v),
        Some(_) => Err(corrupt(table, key, "not a list")),
        None => Err(corrupt(table, key, "missing")),
    }
}

pub(crate) fn as_map<'a>(value: &'a AttributeValue, table: &str, key: &str) -> Result<&'a Item, PortError> {
    match value {
        AttributeValue::M(m) => Ok(m),
        _ => Err(corrupt(table, key, "a list holding a non-map")),
    }
}

pub(crate) fn to_u32(value: i64, table: &str, key: &str) -> Result<u32, PortError> {
    u32::try_from(value).map_err(|_| corrupt(table, key, "out of range"))
}
