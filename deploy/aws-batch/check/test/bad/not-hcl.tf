# expect: does not parse as HCL
resource "aws_s3_bucket" "b" {
  bucket = "x"
