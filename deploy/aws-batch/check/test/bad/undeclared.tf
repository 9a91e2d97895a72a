# expect: reference "var.nope": no variable "nope" is declared
# expect: reference "local.missing": no local "missing" is declared
# expect: reference "aws_vpc.other.id": no resource "aws_vpc" "other" is declared
# expect: reference "data.aws_region.here.region": no data "aws_region" "here" is declared
resource "aws_vpc" "main" {
  cidr_block = var.nope
  tags       = { Name = local.missing }
}
resource "aws_subnet" "s" {
  vpc_id            = aws_vpc.other.id
  availability_zone = "${data.aws_region.here.region}a"
}
