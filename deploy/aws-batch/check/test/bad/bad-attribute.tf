# expect: reference "aws_s3_bucket.b.url": aws_s3_bucket has no attribute "url"
resource "aws_s3_bucket" "b" {
  bucket = "x"
}
output "u" {
  description = "the bucket"
  value       = aws_s3_bucket.b.url
}
