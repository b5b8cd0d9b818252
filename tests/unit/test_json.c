/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "common/json.h"
#include "t.h"

static void test_basic(void)
{
	char buf[256];
	struct json j;

	json_begin(&j, buf, sizeof(buf));
	CHECK(json_end(&j) == 2);
	CHECK_STR(buf, "{}");

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "vmnet_subnet_mask", "255.255.255.0");
	json_num(&j, "vmnet_mtu", 1500);
	json_num(&j, "neg", -42);
	json_raw(&j, "ok", "true");
	json_str(&j, "nothing", NULL);
	CHECK(json_end(&j) == (int)strlen(buf));
	CHECK_STR(buf, "{\"vmnet_subnet_mask\":\"255.255.255.0\",\"vmnet_mtu\":1500,"
		  "\"neg\":-42,\"ok\":true,\"nothing\":null}");

	json_begin(&j, buf, sizeof(buf));
	json_num(&j, "min", -9223372036854775807LL - 1);
	json_end(&j);
	CHECK_STR(buf, "{\"min\":-9223372036854775808}");
}

static void test_escaping(void)
{
	char buf[512];
	struct json j;
	char all[32];

	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "k\"ey", "a\"b\\c/d\n\t\r\b\f");
	json_end(&j);
	CHECK_STR(buf, "{\"k\\\"ey\":\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\"}");

	/* Every control character is escaped; none appears raw. */
	for (int i = 0; i < 31; i++)
		all[i] = (char)(i + 1);
	all[31] = '\0';
	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "c", all);
	CHECK(json_end(&j) > 0);
	for (const char *p = buf; *p; p++)
		CHECK((unsigned char)*p >= 0x20);
	CHECK(strstr(buf, "\\u0001") != NULL);
	CHECK(strstr(buf, "\\u001f") != NULL);
	CHECK(strstr(buf, "\\u000b") != NULL);
	CHECK(strstr(buf, "\\n") != NULL);

	/* UTF-8 passes through unchanged. */
	json_begin(&j, buf, sizeof(buf));
	json_str(&j, "u", "caf\xc3\xa9");
	json_end(&j);
	CHECK_STR(buf, "{\"u\":\"caf\xc3\xa9\"}");
}

static void test_overflow(void)
{
	char buf[64];
	struct json j;
	const char *full = "{\"a\":\"0123456789\"}";
	size_t n = strlen(full);

	/* Every capacity: exact fit succeeds, anything less fails cleanly. */
	for (size_t cap = 0; cap <= n + 2; cap++) {
		memset(buf, 'X', sizeof(buf));
		json_begin(&j, buf, cap);
		json_str(&j, "a", "0123456789");
		int r = json_end(&j);

		if (cap > n) {
			CHECK(r == (int)n);
			CHECK_STR(buf, full);
		} else {
			CHECK(r == -1);
			CHECK(j.overflow);
			if (cap)
				CHECK(strlen(buf) < cap);
		}
		for (size_t i = cap; i < sizeof(buf); i++)
			CHECK(buf[i] == 'X');
	}

	/* An escape sequence is never cut in half. */
	json_begin(&j, buf, 10);
	json_str(&j, "k", "\x01\x01");
	CHECK(json_end(&j) == -1);
	CHECK(strchr(buf, '\\') == NULL || strstr(buf, "\\u0001") != NULL);
}

static void tests(void)
{
	test_basic();
	test_escaping();
	test_overflow();
}

T_MAIN
