/* Unit tests of credentials and failure limits, with the clock pinned. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "secret.h"
#include "tap.h"

#define T0	((time_t)1893456000)

static void
test_tokens(void)
{
	char a[SECRET_TEXT_MAX], b[SECRET_TEXT_MAX];
	unsigned char ha[SECRET_HASH_LEN], hb[SECRET_HASH_LEN];

	ok(secret_token_new(TOKEN_PREFIX_OPERATOR, a, sizeof(a)) == 0 &&
	    secret_token_new(TOKEN_PREFIX_OPERATOR, b, sizeof(b)) == 0,
	    "two tokens made");
	ok(strcmp(a, b) != 0, "and they differ");
	is_int((long long)strlen(a), (long long)strlen(TOKEN_PREFIX_OPERATOR) +
	    SECRET_B64_LEN, "prefix + 43 characters (256 bits)");
	ok(secret_token_well_formed(a, TOKEN_PREFIX_OPERATOR), "well formed");
	ok(!secret_token_well_formed(a, TOKEN_PREFIX_ADMIN),
	    "not taken for an admin token");
	a[10] = '!';
	ok(!secret_token_well_formed(a, TOKEN_PREFIX_OPERATOR),
	    "a stray character breaks it");
	ok(secret_token_new(TOKEN_PREFIX_OPERATOR, a, 20) == -1,
	    "a short buffer is refused, not overrun");
	secret_hash("x", ha);
	secret_hash("x", hb);
	ok(secret_hash_equal(ha, hb), "equal hashes compare equal");
	secret_hash("y", hb);
	ok(!secret_hash_equal(ha, hb), "different ones do not");
}

static void
test_provisioning(void)
{
	char id[GROUP_PUBLIC_ID_LEN + 1], back[GROUP_PUBLIC_ID_LEN + 1];
	char ps[SECRET_TEXT_MAX];

	ok(secret_public_id_new(id) == 0 && strlen(id) == GROUP_PUBLIC_ID_LEN,
	    "public id of 16 hex");
	ok(secret_provisioning_new(id, ps, sizeof(ps)) == 0, "secret made");
	ok(strncmp(ps, "PS", 2) == 0, "starts with PS");
	ok(secret_provisioning_public_id(ps, back) == 0 && strcmp(id, back) == 0,
	    "the public id comes back out");
	ps[strlen(ps) - 1] = '\0';
	ok(secret_provisioning_public_id(ps, back) == -1, "truncated: refused");
	ok(secret_provisioning_public_id("PS0123456789abcdef", back) == -1,
	    "no secret part: refused");
	ok(secret_provisioning_public_id("", back) == -1, "empty: refused");
}

static void
test_bearer(void)
{
	is_str(secret_bearer("Bearer abc"), "abc", "Bearer credential");
	is_str(secret_bearer("bearer   abc"), "abc", "case and spaces forgiven");
	ok(secret_bearer("Basic abc") == NULL, "other schemes: none");
	ok(secret_bearer("Bearer ") == NULL, "empty: none");
	ok(secret_bearer(NULL) == NULL, "no header: none");
}

static void
test_ratelimit(void)
{
	struct ratelimit *rl = ratelimit_new(3, 300);
	char key[32];
	int locked = 0;

	for (int i = 0; i < 3; i++)
		ratelimit_fail(rl, "g1", T0 + i);
	is_int(ratelimit_wait(rl, "g1", T0 + 3), 0, "3 failures a minute pass");
	is_int(ratelimit_fail(rl, "g1", T0 + 3), 1, "the 4th waits 1 s");
	is_int(ratelimit_fail(rl, "g1", T0 + 4), 2, "the 5th 2 s");
	is_int(ratelimit_fail(rl, "g1", T0 + 6), 4, "the 6th 4 s: doubling");
	for (int i = 0; i < 20; i++)
		ratelimit_fail(rl, "g1", T0 + 10);
	is_int(ratelimit_wait(rl, "g1", T0 + 10), 300,
	    "never more than the lockout");
	is_int(ratelimit_wait(rl, "g1", T0 + 100), 210, "wait counts down");
	is_int(ratelimit_wait(rl, "g2", T0 + 100), 0, "other keys unaffected");
	is_int(ratelimit_wait(rl, "g1", T0 + 310), 0, "the wait ends");
	is_int(ratelimit_fail(rl, "g1", T0 + 311), 300,
	    "a failure right after: the delay goes on growing");
	is_int(ratelimit_fail(rl, "g1", T0 + 611 + 61), 0,
	    "after a quiet minute the key starts afresh");
	ratelimit_fail(rl, "g3", T0);
	ratelimit_fail(rl, "g3", T0 + 1);
	ratelimit_fail(rl, "g3", T0 + 2);
	is_int(ratelimit_fail(rl, "g3", T0 + 61), 0,
	    "failures of a past minute are forgotten");
	/* A flood of keys cannot evict a locked-out key's record. */
	for (int i = 0; i < 16; i++)	/* a long wait: 300 s */
		ratelimit_fail(rl, "victim", T0 + 400);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "flood-%d", i);
		ratelimit_fail(rl, key, T0 + 401);
	}
	locked = ratelimit_wait(rl, "victim", T0 + 402) > 0;
	ok(locked, "a flood of new keys does not lift a lockout");
	{
		unsigned long long ev = 0, full = 0;
		int said = ratelimit_pressure(rl, T0 + 402, &ev, &full);

		ok(said == 1 && ev > 0,
		    "the flood is pressure: %llu keys evicted, said", ev);
		ok(ratelimit_pressure(rl, T0 + 403, &ev, &full) == 0,
		    "  and not said again within the minute");
	}
	ratelimit_free(rl);
}

/* ratelimit.c's hash, which an attacker can compute as well. */
static uint32_t
fnv1a(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

/*
 * The limiter never fails open: a table full of other keys (locked ones
 * included, which are never evicted) still counts the attacker's own
 * failures and locks it out; and a key's count is not lost to a crowd of
 * keys with one failure each.
 */
static void
test_ratelimit_full(void)
{
	struct ratelimit *rl = ratelimit_new(3, 300);
	char key[32];
	long wait = 0;
	int i;

	/* 5,000 keys locked out: more than the table holds. */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "c:10.0.%d.%d", i / 256, i % 256);
		for (int f = 0; f < 4; f++)
			ratelimit_fail(rl, key, T0);
	}
	for (i = 0; i < 60 && wait == 0; i++)
		wait = ratelimit_fail(rl, "c:192.0.2.66", T0 + 1) ||
		    ratelimit_wait(rl, "c:192.0.2.66", T0 + 1);
	ok(wait > 0, "a table full of lockouts: the attacker's own failures "
	    "still lock it out (after %d)", i);
	ratelimit_free(rl);

	rl = ratelimit_new(3, 300);
	/*
	 * Keys crafted to land where the attacker's address does (the hash
	 * is no secret), all locked out: its failures must still lock it.
	 */
	{
		const char *me = "c:192.0.2.99";
		uint32_t mine = fnv1a(me) & 4095;
		int n = 0;

		for (i = 0; n < 12 && i < 5000000; i++) {
			uint32_t h;

			snprintf(key, sizeof(key), "g:crafted%d", i);
			h = fnv1a(key) & 4095;
			if (((h - mine) & 4095) < 8) {
				for (int f = 0; f < 4; f++)
					ratelimit_fail(rl, key, T0);
				n++;
			}
		}
		ok(n == 12, "12 keys crafted onto the attacker's slots, locked");
		wait = 0;
		for (i = 0; i < 60 && wait == 0; i++)
			wait = ratelimit_fail(rl, me, T0 + 1) ||
			    ratelimit_wait(rl, me, T0 + 1);
		ok(wait > 0, "its own failures are still answered with a wait "
		    "(after %d): the limiter fails closed", i);
	}
	ratelimit_free(rl);

	rl = ratelimit_new(3, 300);
	ratelimit_fail(rl, "c:192.0.2.7", T0);
	ratelimit_fail(rl, "c:192.0.2.7", T0);
	ratelimit_fail(rl, "c:192.0.2.7", T0);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "c:10.1.%d.%d", i / 256, i % 256);
		ratelimit_fail(rl, key, T0 + 1);
	}
	is_int(ratelimit_fail(rl, "c:192.0.2.7", T0 + 2), 1,
	    "a crowd of one-failure keys does not erase a key's count: its "
	    "4th failure waits");
	ratelimit_free(rl);
}

int
main(void)
{
	test_tokens();
	test_provisioning();
	test_bearer();
	test_ratelimit();
	test_ratelimit_full();
	return tap_done();
}
