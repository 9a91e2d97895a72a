# expect: reference "aws_subnet.s.*.subnet_id": aws_subnet has no attribute "subnet_id"
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "s" {
  count      = 2
  vpc_id     = aws_vpc.main.id
  cidr_block = cidrsubnet("10.0.0.0/16", 4, count.index)
}
output "ids" {
  description = "subnets"
  value       = aws_subnet.s[*].subnet_id
}
