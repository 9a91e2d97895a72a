# expect: reference "each.value": each.* outside a block with for_each
# expect: reference "count.index": count.* outside a block with count
resource "aws_vpc" "main" {
  cidr_block = each.value
}
output "n" {
  description = "index"
  value       = count.index
}
