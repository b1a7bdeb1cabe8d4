// SPDX-License-Identifier: GPL-2.0
/*
 * nested_types.bpf.c - global data whose types are anonymous structs, unions and enums
 * nested in each other (and in a named struct), and arrays of them.
 *
 *   .rodata     cfg (anonymous struct: inner struct, tag union, rules[3] array of structs,
 *               anonymous enum, pointer), defaults (struct settings: anonymous member
 *               struct, unnamed member union, named enum)
 *   .data       state (anonymous struct: struct holding a union, union holding a struct,
 *               array of structs holding an array of structs), foo_x (anonymous struct),
 *               bits (anonymous union), pairs (array of a typedef'd anonymous struct)
 *   .data.foo   x (anonymous struct: its derived name clashes with .data's foo_x)
 *   .bss        out (anonymous struct the program copies everything into)
 *
 * One SEC("syscall") program, copy_nested (no ctx), copies the inputs into out and
 * increments state.count.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum prio {
	PRIO_LOW = -2,
	PRIO_HIGH = 7,
};

/* 16 bytes: level @0, range @4 (lo, hi), unnamed union @8, prio @12 */
struct settings {
	__u32 level;
	struct {
		__u16 lo;
		__u16 hi;
	} range;
	union {
		__u32 as_int;
		__u8 as_bytes[4];
	};
	enum prio prio;
};

/* ---- .rodata ---- */

/*
 * 64 bytes: mode @0, inner @8 (port @0, flags @2, limit @8; 16 bytes), tag @24,
 * rules @28 (3 x {id, weight}), state @52, ptr @56
 */
const volatile struct {
	__u32 mode;
	struct {
		__u16 port;
		__u8 flags;
		__u64 limit;
	} inner;
	union {
		__u32 word;
		__u16 halves[2];
	} tag;
	struct {
		__u32 id;
		__s32 weight;
	} rules[3];
	enum {
		CFG_OFF,
		CFG_ON = 5,
		CFG_AUTO = 9,
	} state;
	void *ptr;
} cfg = {
	.mode = 3,
	.inner = { .port = 8080, .flags = 0x5a, .limit = 0x1000000000ULL },
	.tag = { .word = 0x00020001 },
	.rules = { { 1, 10 }, { 2, -20 }, { 3, 30 } },
	.state = CFG_ON,
};

const volatile struct settings defaults = {
	.level = 4,
	.range = { .lo = 100, .hi = 200 },
	.as_int = 0xaabbccdd,
	.prio = PRIO_LOW,
};

/* ---- .data ---- */

/*
 * 32 bytes: count @0, pair @8 (a @0, val @4: u32 | s16[2]), word @16 (raw | {lo, hi}),
 * grid @24 (2 x { pts: 2 x {x, y} })
 */
struct {
	__u64 count;
	struct {
		__u32 a;
		union {
			__u32 u;
			__s16 s[2];
		} val;
	} pair;
	union {
		__u64 raw;
		struct {
			__u32 lo;
			__u32 hi;
		} half;
	} word;
	struct {
		struct {
			__u8 x;
			__u8 y;
		} pts[2];
	} grid[2];
} state = {
	.count = 40,
	.pair = { .a = 7, .val = { .s = { -5, 12 } } },
	.word = { .half = { .lo = 0x11111111, .hi = 0x22222222 } },
	.grid = { { .pts = { { 1, 2 }, { 3, 4 } } }, { .pts = { { 5, 6 }, { 7, 8 } } } },
};

/* `.data` + `foo_x` and `.data.foo` + `x` both derive `DataFooX`. */
struct {
	__u32 a;
} foo_x = { .a = 11 };

/* A global of an anonymous union type. */
union {
	__u64 v;
	__u8 b[8];
} bits = { .v = 0x0807060504030201ULL };

/* An anonymous struct with a typedef name. */
typedef struct {
	__u32 k;
	__u32 v;
} pair_t;

pair_t pairs[2] = { { 1, 2 }, { 3, 4 } };

/* ---- .data.foo ---- */
struct {
	__u16 b;
	struct {
		__u8 c;
		__u32 d;
	} sub;
} x SEC(".data.foo") = { .b = 22, .sub = { .c = 33, .d = 44 } };

/* ---- .bss ---- */
struct {
	__u64 runs;
	struct {
		__u32 mode;
		__u16 port;
		__u8 flags;
		__u64 limit;
	} cfg;
	union {
		__u32 word;
		__u16 halves[2];
	} tag;
	struct {
		__u32 id;
		__s32 weight;
	} rules[3];
	__u32 state;
	__s64 rules_sum;   /* sum of id * weight over cfg.rules */
	__u32 level;
	__u32 range_sum;   /* defaults.range.lo + hi */
	__u32 as_int;      /* defaults.as_int */
	__s32 prio;        /* defaults.prio */
	__u64 count;       /* state.count after the increment */
	__u32 pair_a;
	__s32 pair_s_sum;  /* state.pair.val.s[0] + s[1] */
	__u32 word_hi;     /* state.word.half.hi */
	__u32 grid_sum;    /* sum of x * y over state.grid[*].pts[*] */
	__u64 word_raw;    /* state.word.raw */
	__u32 foo_x_a;
	__u32 x_sum;       /* x.b + x.sub.c + x.sub.d */
	__u32 bits_b7;     /* bits.b[7] */
	__u32 pairs_sum;   /* sum of k * v over pairs */
} out;

SEC("syscall")
int copy_nested(void *ctx)
{
	int i, j;

	out.runs++;
	out.cfg.mode = cfg.mode;
	out.cfg.port = cfg.inner.port;
	out.cfg.flags = cfg.inner.flags;
	out.cfg.limit = cfg.inner.limit;
	out.tag.word = cfg.tag.word;
	out.rules_sum = 0;
	for (i = 0; i < 3; i++) {
		out.rules[i].id = cfg.rules[i].id;
		out.rules[i].weight = cfg.rules[i].weight;
		out.rules_sum += (__s64)cfg.rules[i].id * cfg.rules[i].weight;
	}
	out.state = cfg.state;

	out.level = defaults.level;
	out.range_sum = defaults.range.lo + defaults.range.hi;
	out.as_int = defaults.as_int;
	out.prio = defaults.prio;

	state.count++;
	out.count = state.count;
	out.pair_a = state.pair.a;
	out.pair_s_sum = state.pair.val.s[0] + state.pair.val.s[1];
	out.word_hi = state.word.half.hi;
	out.word_raw = state.word.raw;
	out.grid_sum = 0;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			out.grid_sum += state.grid[i].pts[j].x * state.grid[i].pts[j].y;

	out.foo_x_a = foo_x.a;
	out.x_sum = x.b + x.sub.c + x.sub.d;
	out.bits_b7 = bits.b[7];
	out.pairs_sum = pairs[0].k * pairs[0].v + pairs[1].k * pairs[1].v;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
