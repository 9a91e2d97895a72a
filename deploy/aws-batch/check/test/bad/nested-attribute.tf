# expect: reference "aws_dynamodb_table.t.ttl.0.attribute": aws_dynamodb_table.ttl has no attribute "attribute"
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "job_id"
  attribute {
    name = "job_id"
    type = "S"
  }
}
output "ttl" {
  description = "ttl attribute"
  value       = aws_dynamodb_table.t.ttl[0].attribute
}
