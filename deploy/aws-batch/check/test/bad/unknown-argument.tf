# expect: aws_s3_bucket.b: unknown argument "bucket_name" (did you mean "bucket"?)
resource "aws_s3_bucket" "b" {
  bucket_name = "x"
}
