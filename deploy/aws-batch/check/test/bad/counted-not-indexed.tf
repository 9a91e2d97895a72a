# expect: reference "aws_subnet.s.id": aws_subnet.s has count: index it before ".id"
variable "n" {
  description = "how many"
  type        = number
  default     = 2
}
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "s" {
  count      = var.n
  vpc_id     = aws_vpc.main.id
  cidr_block = cidrsubnet("10.0.0.0/16", 4, count.index)
}
output "s" {
  description = "subnet"
  value       = aws_subnet.s.id
}
