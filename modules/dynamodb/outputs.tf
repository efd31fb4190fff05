output "table_names" {
  description = "Table names by logical table (catalog, stock, reservations, orders, payments, idempotency)."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "Table ARNs by logical table."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}

output "index_arns" {
  description = "ARNs of the global secondary indexes by logical table (empty list when a table has none)."
  value       = { for k, t in aws_dynamodb_table.this : k => [for i in local.tables[k].indexes : "${t.arn}/index/${i.name}"] }
}
