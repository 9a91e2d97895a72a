# expect: aws_dynamodb_table.t: missing required argument "name"
resource "aws_dynamodb_table" "t" {
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "job_id"
  attribute {
    name = "job_id"
    type = "S"
  }
}
