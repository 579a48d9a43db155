// SPDX-License-Identifier: GPL-2.0
/* placeholder */
int main(void)
{
	return 0;
}
