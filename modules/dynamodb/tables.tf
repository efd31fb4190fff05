# The tables of docs/data-model.md. Keep this map and the document's "Tables" summary in step:
# scripts/infra_tests/test_consistency.py compares them.

locals {
  tables = {
    catalog = {
      hash_key      = { name = "pk", type = "S" }
      range_key     = null
      ttl_attribute = null
      indexes       = []
    }
    stock = {
      hash_key      = { name = "sku", type = "S" }
      range_key     = { name = "shard", type = "N" }
      ttl_attribute = null
      indexes       = []
    }
    reservations = {
      hash_key      = { name = "reservationId", type = "S" }
      range_key     = null
      ttl_attribute = "expiresAt"
      indexes       = []
    }
    orders = {
      hash_key      = { name = "orderId", type = "S" }
      range_key     = null
      ttl_attribute = null
      indexes = [
        {
          name               = "byCustomer"
          hash_key           = { name = "customerId", type = "S" }
          range_key          = { name = "createdAt", type = "S" }
          projection_type    = "INCLUDE"
          non_key_attributes = ["status", "total", "currency"]
        },
      ]
    }
    payments = {
      hash_key      = { name = "pk", type = "S" }
      range_key     = null
      ttl_attribute = "expiresAt"
      indexes       = []
    }
    idempotency = {
      hash_key      = { name = "pk", type = "S" }
      range_key     = null
      ttl_attribute = "expiresAt"
      indexes       = []
    }
  }

  # Every key attribute of a table and of its indexes, declared once.
  key_attributes = {
    for name, t in local.tables : name => {
      for a in concat(
        [t.hash_key],
        t.range_key == null ? [] : [t.range_key],
        flatten([for i in t.indexes : concat([i.hash_key], i.range_key == null ? [] : [i.range_key])]),
      ) : a.name => a.type
    }
  }
}
