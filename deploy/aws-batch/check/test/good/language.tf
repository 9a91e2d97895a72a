# Language features the checker must accept: count and for_each with
# indexes and splats, dynamic blocks with iterators, for expressions,
# nested attribute references, ignore_changes, data sources, locals.
variable "zones" {
  description = "zones"
  type        = list(string)
  default     = ["a", "b"]
}
locals {
  cidr = "10.0.0.0/16"
  rules = { http = 80, https = 443 }
}
data "aws_region" "current" {}
resource "aws_vpc" "main" {
  cidr_block = local.cidr
}
resource "aws_subnet" "s" {
  for_each          = toset(var.zones)
  vpc_id            = aws_vpc.main.id
  availability_zone = "${data.aws_region.current.region}${each.value}"
  cidr_block        = cidrsubnet(local.cidr, 4, index(var.zones, each.value))
}
resource "aws_security_group" "g" {
  vpc_id = aws_vpc.main.id
  dynamic "ingress" {
    for_each = local.rules
    iterator = rule
    content {
      from_port   = rule.value
      to_port     = rule.value
      protocol    = "tcp"
      cidr_blocks = [for s in aws_subnet.s : s.cidr_block]
    }
  }
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tags, ingress]
  }
}
resource "aws_dynamodb_table" "t" {
  name     = "t"
  hash_key = "job_id"
  attribute {
    name = "job_id"
    type = "S"
  }
  ttl {
    attribute_name = "ttl"
    enabled        = true
  }
}
output "subnets" {
  description = "ids"
  value       = [for k, s in aws_subnet.s : s.id]
}
output "first" {
  description = "by key"
  value       = aws_subnet.s["a"].arn
}
output "ttl" {
  description = "nested attribute"
  value       = aws_dynamodb_table.t.ttl[0].attribute_name
}
output "sg" {
  description = "splat"
  value       = aws_security_group.g[*].id
}
