# expect: aws_dynamodb_table.t: "ttl" is a nested block: write ttl { ... }, not ttl = ...
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "job_id"
  ttl      = { attribute_name = "ttl", enabled = true }
}
