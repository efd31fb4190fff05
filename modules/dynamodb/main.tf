# One on-demand table per entry of local.tables (tables.tf), with point-in-time recovery, TTL where the
# data model has one, server-side encryption and deletion protection.

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name                        = "${var.name_prefix}-${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  table_class                 = "STANDARD"
  hash_key                    = each.value.hash_key.name
  range_key                   = each.value.range_key == null ? null : each.value.range_key.name
  deletion_protection_enabled = var.deletion_protection
  tags                        = merge(var.tags, { table = each.key })

  dynamic "attribute" {
    for_each = local.key_attributes[each.key]

    content {
      name = attribute.key
      type = attribute.value
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes

    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key.name
      range_key          = global_secondary_index.value.range_key == null ? null : global_secondary_index.value.range_key.name
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]

    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = var.point_in_time_recovery_days
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
