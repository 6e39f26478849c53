/* The C ABI, tested from C.
 *
 * Replays every case of the shared vectors (tests/vectors, one JSON file
 * per topic) through corsgate.h, flattened to lines first by
 * tests/c/vectors_to_text.py since C has no JSON parser; then tests what
 * the vectors cannot: NULL handling of every call, policy error messages
 * and their truncation, the builder, versions and static strings, the
 * header name lists, decisions that outlive the request's bytes, and one
 * policy shared by four threads.
 *
 * Usage: vectors VECTORS.txt
 * Prints "N passed, 0 failed" last; exits 0 only when nothing failed.
 * Built and run (plain, ASan+UBSan, valgrind) by scripts/c-tests. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corsgate.h"

/* Threads of the sharing test, and how many times each replays every
 * vector (CORSGATE_C_TEST_ROUNDS overrides it). */
#define THREADS        4
#define DEFAULT_ROUNDS 20

/* Room for policy messages; every message in these tests is shorter. */
#define MESSAGE_CAP 4096

/* Room for one failure description. */
#define WHY_CAP 2048

/* Poison written over request bytes once a decision has been made. */
#define SCRUB_BYTE 0xA5


/* ---- results ------------------------------------------------------- */

static unsigned g_passed;
static unsigned g_failed;
static const char *t_name;
static unsigned t_failures;

/* Records one assertion of the current test; prints it when it fails. */
static bool
check_(bool ok, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        return true;
    }
    t_failures++;
    fprintf(stderr, "FAIL %s (vectors.c:%d: %s): ", t_name, line, expr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return false;
}

#define CHECK(cond, ...) check_((cond), __LINE__, #cond, __VA_ARGS__)

typedef void (*test_fn)(void);

static void
run_test(const char *name, test_fn fn)
{
    t_name = name;
    t_failures = 0;
    fn();
    if (t_failures == 0) {
        g_passed++;
        printf("ok   %s\n", name);
    } else {
        g_failed++;
        printf("FAIL %s (%u checks failed)\n", name, t_failures);
    }
}


/* ---- bytes --------------------------------------------------------- */

/* An owned byte string, NUL-terminated after `len` for printing. */
typedef struct bytes {
    uint8_t *ptr;
    size_t len;
} bytes;

static bool
mem_eq(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len) {
        return false;
    }
    if (a_len == 0) {
        return true;
    }
    if (a == NULL || b == NULL) {
        return false;
    }
    return memcmp(a, b, a_len) == 0;
}

static bool
slice_eq(corsgate_slice s, const void *p, size_t n)
{
    if (s.ptr == NULL && s.len != 0) {
        return false;
    }
    return mem_eq(s.ptr, s.len, p, n);
}

static bool
slice_is(corsgate_slice s, const char *str)
{
    return slice_eq(s, str, strlen(str));
}

static bool
contains(const uint8_t *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);

    if (hay == NULL || n > hay_len) {
        return false;
    }
    for (size_t i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool
ascii_ieq(const uint8_t *a, size_t a_len, const char *b)
{
    size_t n = strlen(b);

    if (a_len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t x = a[i], y = (uint8_t)b[i];

        if (x >= 'A' && x <= 'Z') {
            x = (uint8_t)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (uint8_t)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* Whether `p` .. `p + n` lies inside the object at `base` of `size`. */
static bool
points_into(const void *p, size_t n, const void *base, size_t size)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)base;

    return p != NULL && a >= lo && a - lo <= size && n <= size - (a - lo);
}

/* Prints bytes for a message: printable ASCII as is, the rest as \xNN,
 * cut at `cap`. Returns `out`. */
static const char *
show(char *out, size_t cap, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        bool plain = b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\';

        if (o + (plain ? 1 : 4) + 4 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)b[i];
        } else {
            snprintf(out + o, cap - o, "\\x%02x", b[i]);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}


/* Appends to a failure description, never past `cap`. */
static void
why_add(char *why, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(why);
    va_list ap;

    if (used + 1 >= cap) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why + used, cap - used, fmt, ap);
    va_end(ap);
}

/* A heap copy of `n` bytes (never NULL, even for n = 0), or NULL when out
 * of memory. */
static uint8_t *
dup_bytes(const void *p, size_t n)
{
    uint8_t *copy = malloc(n + 1);

    if (copy != NULL && n > 0) {
        memcpy(copy, p, n);
    }
    return copy;
}

/* Overwrites then frees a copy, so that any later read through a pointer
 * into it sees garbage (and ASan/valgrind see a use after free). */
static void
scrub_free(uint8_t *p, size_t n)
{
    if (p != NULL) {
        memset(p, SCRUB_BYTE, n + 1);
        free(p);
    }
}


/* ---- the flattened vectors ----------------------------------------- */

typedef struct header_line {
    bytes name;
    bytes value;
    corsgate_header_op op;
} header_line;

typedef struct vcase {
    bytes name;
    bytes method;
    header_line *request;
    size_t request_len;
    size_t request_cap;
    char verdict[32];
    char kind[32];
    char reason[48];
    char action[16];
    uint32_t status;
    bool strip_upstream;
    header_line *expect;
    size_t expect_len;
    size_t expect_cap;
} vcase;

typedef struct vfile {
    bytes name;
    bytes policy_json;
    bool report;
    corsgate_policy *policy;
    vcase *cases;
    size_t cases_len;
    size_t cases_cap;
} vfile;

typedef struct vectors {
    vfile *files;
    size_t len;
    size_t cap;
    size_t cases;
} vectors;

/* Makes room for one more element of `size` bytes in `*items`. */
static bool
grow(void **items, size_t *cap, size_t len, size_t size)
{
    void *bigger;
    size_t new_cap;

    if (len < *cap) {
        return true;
    }
    new_cap = *cap ? *cap * 2 : 8;
    bigger = realloc(*items, new_cap * size);
    if (bigger == NULL) {
        return false;
    }
    *items = bigger;
    *cap = new_cap;
    return true;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes a hex field ("-" is empty) into a new NUL-terminated string. */
static bool
hex_decode(const char *hex, bytes *out)
{
    size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);

    out->ptr = NULL;
    out->len = 0;
    if (n % 2 != 0) {
        return false;
    }
    out->ptr = malloc(n / 2 + 1);
    if (out->ptr == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);

        if (hi < 0 || lo < 0) {
            free(out->ptr);
            out->ptr = NULL;
            return false;
        }
        out->ptr[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    out->len = n / 2;
    out->ptr[out->len] = '\0';
    return true;
}

static bool
copy_word(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

static void
free_case(vcase *c)
{
    free(c->name.ptr);
    free(c->method.ptr);
    for (size_t i = 0; i < c->request_len; i++) {
        free(c->request[i].name.ptr);
        free(c->request[i].value.ptr);
    }
    free(c->request);
    for (size_t i = 0; i < c->expect_len; i++) {
        free(c->expect[i].name.ptr);
        free(c->expect[i].value.ptr);
    }
    free(c->expect);
}

static void
free_vectors(vectors *v)
{
    for (size_t f = 0; f < v->len; f++) {
        vfile *file = &v->files[f];

        for (size_t i = 0; i < file->cases_len; i++) {
            free_case(&file->cases[i]);
        }
        free(file->cases);
        free(file->name.ptr);
        free(file->policy_json.ptr);
        corsgate_policy_free(file->policy);
    }
    free(v->files);
    memset(v, 0, sizeof(*v));
}

static char *
read_file(const char *path, size_t *len_out)
{
    FILE *f = NULL;
    char *data = NULL, *bigger;
    size_t len = 0, cap = 0, n;

    f = fopen(path, "rb");
    if (f == NULL) {
        goto fail;
    }
    do {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 65536;
            bigger = realloc(data, cap + 1);
            if (bigger == NULL) {
                goto fail;
            }
            data = bigger;
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        goto fail;
    }
    fclose(f);
    data[len] = '\0';
    *len_out = len;
    return data;

fail:
    if (f != NULL) {
        fclose(f);
    }
    free(data);
    return NULL;
}

/* Splits a line on single spaces, in place. Returns the field count. */
static size_t
split_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;

    while (*line != '\0' && n < max) {
        fields[n++] = line;
        line = strchr(line, ' ');
        if (line == NULL) {
            break;
        }
        *line++ = '\0';
    }
    return n;
}

/* Parses the line format written by vectors_to_text.py. */
static bool
parse_vectors(char *text, vectors *v)
{
    char *line = text, *next, *f[8];
    size_t lineno = 0, n;
    vfile *file = NULL;
    vcase *c = NULL;
    header_line *h;
    unsigned long status;
    char *end;

    for (; *line != '\0'; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        } else {
            next = line + strlen(line);
        }
        n = split_fields(line, f, 8);
        if (n == 0) {
            continue;
        }
        if (strcmp(f[0], "F") == 0 && n == 2) {
            if (c != NULL
                || !grow((void **)&v->files, &v->cap, v->len,
                         sizeof(*v->files))) {
                goto bad;
            }
            file = &v->files[v->len++];
            memset(file, 0, sizeof(*file));
            if (!hex_decode(f[1], &file->name)) {
                goto bad;
            }
        } else if (strcmp(f[0], "P") == 0 && n == 3 && file != NULL) {
            if (!hex_decode(f[1], &file->policy_json)) {
                goto bad;
            }
            file->report = strcmp(f[2], "1") == 0;
        } else if (strcmp(f[0], "C") == 0 && n == 3 && file != NULL
                   && c == NULL) {
            if (!grow((void **)&file->cases, &file->cases_cap, file->cases_len,
                      sizeof(*file->cases))) {
                goto bad;
            }
            c = &file->cases[file->cases_len++];
            memset(c, 0, sizeof(*c));
            if (!hex_decode(f[1], &c->name) || !hex_decode(f[2], &c->method)) {
                goto bad;
            }
        } else if (strcmp(f[0], "H") == 0 && n == 3 && c != NULL) {
            if (!grow((void **)&c->request, &c->request_cap, c->request_len,
                      sizeof(*c->request))) {
                goto bad;
            }
            h = &c->request[c->request_len++];
            memset(h, 0, sizeof(*h));
            if (!hex_decode(f[1], &h->name) || !hex_decode(f[2], &h->value)) {
                goto bad;
            }
        } else if (strcmp(f[0], "E") == 0 && n == 7 && c != NULL) {
            status = strtoul(f[5], &end, 10);
            if (*end != '\0' || status > 999
                || !copy_word(c->verdict, sizeof(c->verdict), f[1])
                || !copy_word(c->kind, sizeof(c->kind), f[2])
                || !copy_word(c->reason, sizeof(c->reason), f[3])
                || !copy_word(c->action, sizeof(c->action), f[4])) {
                goto bad;
            }
            c->status = (uint32_t)status;
            c->strip_upstream = strcmp(f[6], "1") == 0;
        } else if (strcmp(f[0], "R") == 0 && n == 4 && c != NULL) {
            if (!grow((void **)&c->expect, &c->expect_cap, c->expect_len,
                      sizeof(*c->expect))) {
                goto bad;
            }
            h = &c->expect[c->expect_len++];
            memset(h, 0, sizeof(*h));
            if (!hex_decode(f[1], &h->name) || !hex_decode(f[2], &h->value)) {
                goto bad;
            }
            h->op = strcmp(f[3], "APPEND") == 0 ? CORSGATE_HEADER_OP_APPEND
                                                : CORSGATE_HEADER_OP_SET;
        } else if (strcmp(f[0], ".") == 0 && n == 1 && c != NULL) {
            if (c->verdict[0] == '\0') {
                goto bad;
            }
            c = NULL;
            v->cases++;
        } else {
            goto bad;
        }
    }
    if (c != NULL) {
        fprintf(stderr, "vectors: the last case is not closed\n");
        return false;
    }
    return true;

bad:
    fprintf(stderr, "vectors: line %zu: malformed\n", lineno);
    return false;
}


/* ---- evaluating a case --------------------------------------------- */

static const char *const REQUEST_HEADERS[] = {
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
};

static bool
is_request_header(const bytes *name)
{
    for (size_t i = 0; i < sizeof(REQUEST_HEADERS) / sizeof(*REQUEST_HEADERS);
         i++) {
        if (ascii_ieq(name->ptr, name->len, REQUEST_HEADERS[i])) {
            return true;
        }
    }
    return false;
}

static const char *
action_str(uint32_t action)
{
    switch (action) {
    case CORSGATE_ACTION_CONTINUE:
        return "continue";
    case CORSGATE_ACTION_RESPOND:
        return "respond";
    default:
        return "unknown";
    }
}

/* Evaluates a case into `d`. With `scrub`, every request byte is a fresh
 * heap copy: each header name is overwritten and freed right after
 * corsgate_request_add_header (it is only read during the call), the
 * method and values right after corsgate_evaluate (the decision must not
 * point at them). Without it (threads), the shared case bytes are used
 * read-only. Problems with add_header's answer go to `why`. */
static corsgate_result
eval_case(const corsgate_policy *policy, const vcase *c, bool scrub,
          corsgate_decision *d, char *why, size_t why_cap)
{
    corsgate_request req;
    corsgate_result rc = CORSGATE_RESULT_PANIC;
    uint8_t **copies = NULL, *method, *name, *value;
    char shown[128];
    bool read;

    if (scrub) {
        copies = calloc(c->request_len + 1, sizeof(*copies));
        if (copies == NULL) {
            why_add(why, why_cap, "out of memory; ");
            goto cleanup;
        }
        copies[0] = dup_bytes(c->method.ptr, c->method.len);
        if (copies[0] == NULL) {
            why_add(why, why_cap, "out of memory; ");
            goto cleanup;
        }
    }
    method = scrub ? copies[0] : c->method.ptr;
    corsgate_request_init(&req, method, c->method.len);
    for (size_t i = 0; i < c->request_len; i++) {
        const header_line *h = &c->request[i];

        name = h->name.ptr;
        value = h->value.ptr;
        if (scrub) {
            name = dup_bytes(h->name.ptr, h->name.len);
            copies[i + 1] = dup_bytes(h->value.ptr, h->value.len);
            if (name == NULL || copies[i + 1] == NULL) {
                free(name);
                why_add(why, why_cap, "out of memory; ");
                goto cleanup;
            }
            value = copies[i + 1];
        }
        read = corsgate_request_add_header(&req, name, h->name.len, value,
                                           h->value.len);
        if (scrub) {
            scrub_free(name, h->name.len);
        }
        if (read != is_request_header(&h->name)) {
            why_add(why, why_cap, "add_header(%s) returned %s; ",
                    show(shown, sizeof(shown), h->name.ptr, h->name.len),
                    read ? "true" : "false");
        }
    }
    rc = corsgate_evaluate(policy, &req, d);
    memset(&req, SCRUB_BYTE, sizeof(req));

cleanup:
    if (copies != NULL) {
        scrub_free(copies[0], c->method.len);
        for (size_t i = 0; i < c->request_len; i++) {
            scrub_free(copies[i + 1], c->request[i].value.len);
        }
        free(copies);
    }
    return rc;
}

static void
describe_headers(char *why, size_t cap, const char *label,
                 const corsgate_decision *d)
{
    char n[96], v[256];
    size_t len = d->headers_len;

    if (len > CORSGATE_DECISION_MAX_HEADERS) {
        len = CORSGATE_DECISION_MAX_HEADERS;
    }
    why_add(why, cap, "%s [", label);
    for (size_t i = 0; i < len; i++) {
        const corsgate_header *h = &d->headers[i];

        why_add(why, cap, "%s%s: %s (%s)", i ? ", " : "",
                show(n, sizeof(n), h->name.ptr, h->name.len),
                show(v, sizeof(v), h->value.ptr, h->value.len),
                h->op == CORSGATE_HEADER_OP_APPEND ? "append" : "set");
    }
    why_add(why, cap, "]; ");
}

static void
describe_expected(char *why, size_t cap, const vcase *c)
{
    char n[96], v[256];

    why_add(why, cap, "expected [");
    for (size_t i = 0; i < c->expect_len; i++) {
        const header_line *h = &c->expect[i];

        why_add(why, cap, "%s%s: %s (%s)", i ? ", " : "",
                show(n, sizeof(n), h->name.ptr, h->name.len),
                show(v, sizeof(v), h->value.ptr, h->value.len),
                h->op == CORSGATE_HEADER_OP_APPEND ? "append" : "set");
    }
    why_add(why, cap, "]; ");
}

/* True when corsgate_outcomes lists the decision's kind and reason, at
 * the index corsgate_outcome_index gives. */
static bool
outcome_listed(const corsgate_decision *d)
{
    size_t len, i;
    const corsgate_outcome *all = corsgate_outcomes(&len);

    i = corsgate_outcome_index(d->kind, d->reason);
    return i < len && all[i].kind == d->kind && all[i].reason == d->reason;
}


/* Compares a decision with a case's expectations; describes every
 * difference in `why`. Reads only its arguments: safe in any thread. */
static bool
decision_matches(const vcase *c, bool report, const corsgate_decision *d,
                 char *why, size_t cap)
{
    const char *verdict = corsgate_verdict_str(d->verdict);
    const char *kind = corsgate_kind_str(d->kind);
    const char *reason = corsgate_reason_str(d->reason);
    const char *action = action_str(d->action);
    bool ok = true, headers_ok = d->headers_len == c->expect_len;

    if (strcmp(verdict, c->verdict) != 0) {
        why_add(why, cap, "verdict %s, expected %s; ", verdict, c->verdict);
        ok = false;
    }
    if (strcmp(kind, c->kind) != 0) {
        why_add(why, cap, "kind %s, expected %s; ", kind, c->kind);
        ok = false;
    }
    if (strcmp(reason, c->reason) != 0) {
        why_add(why, cap, "reason %s, expected %s; ", reason, c->reason);
        ok = false;
    }
    if (!outcome_listed(d)) {
        why_add(why, cap, "(%s, %s) is not in corsgate_outcomes; ", kind,
                reason);
        ok = false;
    }
    if (strcmp(action, c->action) != 0) {
        why_add(why, cap, "action %s, expected %s; ", action, c->action);
        ok = false;
    }
    if (d->status != c->status) {
        why_add(why, cap, "status %u, expected %u; ", (unsigned)d->status,
                (unsigned)c->status);
        ok = false;
    }
    if (d->strip_upstream != c->strip_upstream) {
        why_add(why, cap, "strip_upstream %d, expected %d; ",
                (int)d->strip_upstream, (int)c->strip_upstream);
        ok = false;
    }
    if (d->report_only != report) {
        why_add(why, cap, "report_only %d, expected %d; ", (int)d->report_only,
                (int)report);
        ok = false;
    }
    for (size_t i = 0; headers_ok && i < c->expect_len; i++) {
        const corsgate_header *got = &d->headers[i];
        const header_line *want = &c->expect[i];

        headers_ok = slice_eq(got->name, want->name.ptr, want->name.len)
                     && slice_eq(got->value, want->value.ptr, want->value.len)
                     && got->op == want->op;
    }
    if (!headers_ok) {
        describe_headers(why, cap, "headers", d);
        describe_expected(why, cap, c);
        ok = false;
    }
    return ok;
}


/* ---- the vectors, one test per case -------------------------------- */

static vectors g_vectors;

static void
run_vectors(void)
{
    uint8_t *message = malloc(MESSAGE_CAP);
    char why[WHY_CAP], shown[256];
    corsgate_decision *d = malloc(sizeof(*d));
    size_t message_len = 0, passed = 0, failed = 0;
    corsgate_result rc;

    if (message == NULL || d == NULL) {
        fprintf(stderr, "vectors: out of memory\n");
        g_failed++;
        goto cleanup;
    }
    for (size_t f = 0; f < g_vectors.len; f++) {
        vfile *file = &g_vectors.files[f];

        rc = corsgate_policy_from_json(file->policy_json.ptr,
                                       file->policy_json.len, &file->policy,
                                       message, MESSAGE_CAP, &message_len);
        if (rc != CORSGATE_RESULT_OK) {
            fprintf(
                stderr, "FAIL %s: policy: %s: %.*s\n",
                (const char *)file->name.ptr, corsgate_result_str(rc),
                (int)(message_len < MESSAGE_CAP ? message_len : MESSAGE_CAP),
                (const char *)message);
            file->policy = NULL;
            failed += file->cases_len;
            continue;
        }
        if (corsgate_policy_is_report_only(file->policy) != file->report) {
            fprintf(stderr, "FAIL %s: policy_is_report_only is %d\n",
                    (const char *)file->name.ptr,
                    (int)corsgate_policy_is_report_only(file->policy));
            failed++;
        }
        for (size_t i = 0; i < file->cases_len; i++) {
            const vcase *c = &file->cases[i];
            bool ok;

            why[0] = '\0';
            /* Garbage first: evaluate must write every field it reports. */
            memset(d, 0x5A, sizeof(*d));
            rc = eval_case(file->policy, c, true, d, why, sizeof(why));
            ok = why[0] == '\0';
            if (rc != CORSGATE_RESULT_OK) {
                why_add(why, sizeof(why), "evaluate returned %s; ",
                        corsgate_result_str(rc));
                ok = false;
            } else {
                ok = decision_matches(c, file->report, d, why, sizeof(why))
                     && ok;
            }
            if (ok) {
                passed++;
            } else {
                failed++;
                fprintf(
                    stderr, "FAIL %s: %s: %s\n", (const char *)file->name.ptr,
                    show(shown, sizeof(shown), c->name.ptr, c->name.len), why);
            }
        }
    }
    printf("%s vectors: %zu of %zu cases in %zu files\n",
           failed ? "FAIL" : "ok  ", passed, g_vectors.cases, g_vectors.len);
    g_passed += (unsigned)passed;
    g_failed += (unsigned)failed;

cleanup:
    free(message);
    free(d);
}


/* ---- helpers for the feature tests --------------------------------- */

static corsgate_policy *
compile_ok(const char *json)
{
    corsgate_policy *policy = NULL;
    uint8_t message[MESSAGE_CAP];
    size_t message_len = 0;
    corsgate_result rc;

    rc = corsgate_policy_from_json((const uint8_t *)json, strlen(json), &policy,
                                   message, sizeof(message), &message_len);
    if (!CHECK(rc == CORSGATE_RESULT_OK, "%s: %s: %.*s", json,
               corsgate_result_str(rc),
               (int)(message_len < sizeof(message) ? message_len
                                                   : sizeof(message)),
               (const char *)message)) {
        return NULL;
    }
    CHECK(policy != NULL, "%s: OK without a policy", json);
    CHECK(message_len == 0, "%s: OK with a message of %zu bytes", json,
          message_len);
    return policy;
}

/* Evaluates method + optional Origin, request method and request headers
 * (NULL: absent). The strings are only borrowed for the call. */
static corsgate_result
evaluate_simple(const corsgate_policy *policy, const char *method,
                const char *origin, const char *request_method,
                const char *request_headers, corsgate_decision *d)
{
    corsgate_request req;

    corsgate_request_init(&req, (const uint8_t *)method, strlen(method));
    if (origin != NULL) {
        corsgate_request_add_header(&req, (const uint8_t *)"Origin", 6,
                                    (const uint8_t *)origin, strlen(origin));
    }
    if (request_method != NULL) {
        corsgate_request_add_header(
            &req, (const uint8_t *)"Access-Control-Request-Method", 29,
            (const uint8_t *)request_method, strlen(request_method));
    }
    if (request_headers != NULL) {
        corsgate_request_add_header(
            &req, (const uint8_t *)"Access-Control-Request-Headers", 30,
            (const uint8_t *)request_headers, strlen(request_headers));
    }
    return corsgate_evaluate(policy, &req, d);
}

static const corsgate_header *
find_header(const corsgate_decision *d, const char *name)
{
    for (size_t i = 0; i < d->headers_len; i++) {
        if (slice_is(d->headers[i].name, name)) {
            return &d->headers[i];
        }
    }
    return NULL;
}

/* Checks that header `name` is in `d` with `value` (NULL: absent). */
static void
check_header(const corsgate_decision *d, const char *name, const char *value)
{
    const corsgate_header *h = find_header(d, name);
    char shown[256];

    if (value == NULL) {
        if (h != NULL) {
            CHECK(h == NULL, "%s present: %s", name,
                  show(shown, sizeof(shown), h->value.ptr, h->value.len));
        }
        return;
    }
    if (!CHECK(h != NULL, "%s missing", name)) {
        return;
    }
    CHECK(slice_is(h->value, value), "%s: %s, expected %s", name,
          show(shown, sizeof(shown), h->value.ptr, h->value.len), value);
}

#define S(lit) ((const uint8_t *)(lit)), (sizeof(lit) - 1)


/* ---- versions and static strings ----------------------------------- */

static void
test_versions(void)
{
    const char *v = corsgate_version();

    CHECK(corsgate_abi_version() == CORSGATE_ABI_VERSION,
          "library ABI %u, header ABI %u", (unsigned)corsgate_abi_version(),
          (unsigned)CORSGATE_ABI_VERSION);
    if (!CHECK(v != NULL, "corsgate_version() is NULL")) {
        return;
    }
    CHECK(strncmp(v, "corsgate/", 9) == 0 && strlen(v) > 9, "version %s", v);
#ifdef CORSGATE_EXPECTED_VERSION
    CHECK(strcmp(v, "corsgate/" CORSGATE_EXPECTED_VERSION) == 0,
          "version %s, Cargo.toml says %s", v, CORSGATE_EXPECTED_VERSION);
#endif
    CHECK(corsgate_version() == v, "version is not one static string");
}

static void
test_static_strings(void)
{
    static const struct {
        uint32_t value;
        const char *text;
    } reasons[] = {
        {CORSGATE_REASON_NOT_CORS, "not-cors"},
        {CORSGATE_REASON_ALLOWED, "allowed"},
        {CORSGATE_REASON_ORIGIN_NOT_ALLOWED, "origin-not-allowed"},
        {CORSGATE_REASON_ORIGIN_MALFORMED, "origin-malformed"},
        {CORSGATE_REASON_ORIGIN_TOO_LONG, "origin-too-long"},
        {CORSGATE_REASON_ORIGIN_DUPLICATED, "origin-duplicated"},
        {CORSGATE_REASON_ORIGIN_NULL, "origin-null"},
        {CORSGATE_REASON_METHOD_NOT_ALLOWED, "method-not-allowed"},
        {CORSGATE_REASON_METHOD_MALFORMED, "method-malformed"},
        {CORSGATE_REASON_METHOD_DUPLICATED, "method-duplicated"},
        {CORSGATE_REASON_HEADER_NOT_ALLOWED, "header-not-allowed"},
        {CORSGATE_REASON_HEADERS_MALFORMED, "headers-malformed"},
        {CORSGATE_REASON_HEADERS_TOO_LONG, "headers-too-long"},
        {CORSGATE_REASON_TOO_MANY_HEADERS, "too-many-headers"},
        {CORSGATE_REASON_TOO_MANY_HEADER_LINES, "too-many-header-lines"},
        {CORSGATE_REASON_INTERNAL_ERROR, "internal-error"},
    };
    static const uint32_t results[] = {
        CORSGATE_RESULT_OK,           CORSGATE_RESULT_NULL_PARAMETER,
        CORSGATE_RESULT_PANIC,        CORSGATE_RESULT_INVALID_POLICY,
        CORSGATE_RESULT_INVALID_JSON, CORSGATE_RESULT_UNKNOWN_FIELD,
        CORSGATE_RESULT_INVALID_TEXT,
    };
    static const uint32_t not_reasons[] = {2,  9,  15,   29,        35,
                                           89, 91, 1000, UINT32_MAX};
    static const uint32_t not_results[] = {3, 99, 104, 200, UINT32_MAX};
    const size_t n_reasons = sizeof(reasons) / sizeof(*reasons);
    const size_t n_results = sizeof(results) / sizeof(*results);
    const char *text;

    for (size_t i = 0; i < n_reasons; i++) {
        text = corsgate_reason_str(reasons[i].value);
        CHECK(text != NULL && strcmp(text, reasons[i].text) == 0,
              "reason %u: %s, expected %s", (unsigned)reasons[i].value,
              text ? text : "(null)", reasons[i].text);
        CHECK(corsgate_reason_str(reasons[i].value) == text,
              "reason %u: not one static string", (unsigned)reasons[i].value);
    }
    for (size_t i = 0; i < sizeof(not_reasons) / sizeof(*not_reasons); i++) {
        text = corsgate_reason_str(not_reasons[i]);
        CHECK(text != NULL && strcmp(text, "unknown") == 0, "reason %u: %s",
              (unsigned)not_reasons[i], text ? text : "(null)");
    }
    for (size_t i = 0; i < n_results; i++) {
        text = corsgate_result_str(results[i]);
        if (!CHECK(text != NULL && text[0] != '\0'
                       && strcmp(text, "unknown result") != 0,
                   "result %u: %s", (unsigned)results[i],
                   text ? text : "(null)")) {
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(text, corsgate_result_str(results[j])) != 0,
                  "results %u and %u share the text %s", (unsigned)results[i],
                  (unsigned)results[j], text);
        }
        CHECK(corsgate_result_str(results[i]) == text,
              "result %u: not one static string", (unsigned)results[i]);
    }
    for (size_t i = 0; i < sizeof(not_results) / sizeof(*not_results); i++) {
        text = corsgate_result_str(not_results[i]);
        CHECK(text != NULL && strcmp(text, "unknown result") == 0,
              "result %u: %s", (unsigned)not_results[i],
              text ? text : "(null)");
    }

    CHECK(strcmp(corsgate_verdict_str(CORSGATE_VERDICT_NOT_CORS), "not-cors")
              == 0,
          "verdict not-cors");
    CHECK(strcmp(corsgate_verdict_str(CORSGATE_VERDICT_ALLOWED), "allowed")
              == 0,
          "verdict allowed");
    CHECK(strcmp(corsgate_verdict_str(CORSGATE_VERDICT_DENIED), "denied") == 0,
          "verdict denied");
    CHECK(strcmp(corsgate_verdict_str(3), "unknown") == 0, "verdict 3");
    CHECK(strcmp(corsgate_verdict_str(UINT32_MAX), "unknown") == 0,
          "verdict max");
    CHECK(strcmp(corsgate_kind_str(CORSGATE_KIND_NOT_CORS), "not-cors") == 0,
          "kind not-cors");
    CHECK(strcmp(corsgate_kind_str(CORSGATE_KIND_PREFLIGHT), "preflight") == 0,
          "kind preflight");
    CHECK(strcmp(corsgate_kind_str(CORSGATE_KIND_ACTUAL), "actual") == 0,
          "kind actual");
    CHECK(strcmp(corsgate_kind_str(3), "unknown") == 0, "kind 3");
    CHECK(strcmp(corsgate_kind_str(UINT32_MAX), "unknown") == 0, "kind max");
}


/* ---- header name lists --------------------------------------------- */

static void
test_header_names(void)
{
    static const char *const owned[] = {
        "access-control-allow-origin",  "access-control-allow-credentials",
        "access-control-allow-methods", "access-control-allow-headers",
        "access-control-max-age",       "access-control-expose-headers",
        "x-corsgate-reason",
    };
    static const char *const not_owned[] = {
        "vary",
        "x-corsgate-reason ",
        "origin",
        "access-control-allow",
        "access-control-allow-origins",
        "access-control-allow-origin ",
        " access-control-allow-origin",
        "access-control-request-method",
        "content-type",
    };
    const size_t n_owned = sizeof(owned) / sizeof(*owned);
    const size_t n_request = sizeof(REQUEST_HEADERS) / sizeof(*REQUEST_HEADERS);
    const corsgate_slice *names;
    const corsgate_outcome *outcomes;
    size_t len = 99;
    corsgate_request req;
    char upper[64];

    names = corsgate_request_header_names(&len);
    if (CHECK(names != NULL && len == n_request, "request names: %zu", len)) {
        for (size_t i = 0; i < n_request; i++) {
            CHECK(slice_is(names[i], REQUEST_HEADERS[i]),
                  "request name %zu is not %s", i, REQUEST_HEADERS[i]);
        }
    }
    CHECK(corsgate_request_header_names(NULL) == names,
          "request names: not one static array");

    len = 99;
    names = corsgate_owned_header_names(&len);
    if (CHECK(names != NULL && len == n_owned, "owned names: %zu", len)) {
        for (size_t i = 0; i < n_owned; i++) {
            bool found = false;

            for (size_t j = 0; j < len; j++) {
                found = found || slice_is(names[j], owned[i]);
            }
            CHECK(found, "owned names lack %s", owned[i]);
        }
    }
    CHECK(corsgate_owned_header_names(NULL) == names,
          "owned names: not one static array");

    outcomes = corsgate_outcomes(&len);
    CHECK(outcomes != NULL && len > 0 && corsgate_outcomes(NULL) == outcomes,
          "outcomes: not one static array");
    for (size_t i = 0; outcomes != NULL && i < len; i++) {
        CHECK(corsgate_outcome_index(outcomes[i].kind, outcomes[i].reason)
                  == i,
              "outcome %zu: index does not round-trip", i);
    }
    CHECK(corsgate_outcome_index(CORSGATE_KIND_NOT_CORS,
                                 CORSGATE_REASON_ALLOWED) == len,
          "(not-cors, allowed) is not an outcome");
    CHECK(corsgate_outcome_index(UINT32_MAX, UINT32_MAX) == len,
          "unknown kind and reason");

    for (size_t i = 0; i < n_owned; i++) {
        size_t n = strlen(owned[i]);

        CHECK(corsgate_is_owned_header((const uint8_t *)owned[i], n),
              "%s not owned", owned[i]);
        for (size_t j = 0; j <= n; j++) {
            char ch = owned[i][j];

            upper[j] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
        }
        CHECK(corsgate_is_owned_header((const uint8_t *)upper, n),
              "%s not owned", upper);
    }
    for (size_t i = 0; i < sizeof(not_owned) / sizeof(*not_owned); i++) {
        CHECK(!corsgate_is_owned_header((const uint8_t *)not_owned[i],
                                        strlen(not_owned[i])),
              "'%s' owned", not_owned[i]);
    }
    CHECK(!corsgate_is_owned_header((const uint8_t *)"x", 0), "empty owned");

    /* Which lines the request view reads, in any case. */
    corsgate_request_init(&req, S("GET"));
    CHECK(corsgate_request_add_header(&req, S("ORIGIN"), S("https://a.com")),
          "ORIGIN ignored");
    CHECK(corsgate_request_add_header(&req, S("access-control-REQUEST-method"),
                                      S("PUT")),
          "request method ignored");
    CHECK(corsgate_request_add_header(&req, S("Access-Control-Request-Headers"),
                                      S("x-a")),
          "request headers ignored");
    CHECK(!corsgate_request_add_header(&req, S("Host"), S("a.com")),
          "Host read");
    CHECK(!corsgate_request_add_header(&req, S("Origin2"), S("x")),
          "Origin2 read");
    CHECK(!corsgate_request_add_header(&req, S("Origi"), S("x")), "Origi read");
    CHECK(!corsgate_request_add_header(&req, S(""), S("x")), "empty read");
    CHECK(!corsgate_request_add_header(&req, S("Access-Control-Request-Header"),
                                       S("x")),
          "Access-Control-Request-Header read");
    CHECK(req.origin_lines == 1 && req.request_method_lines == 1
              && req.request_headers_lines == 1,
          "lines %u %u %u", (unsigned)req.origin_lines,
          (unsigned)req.request_method_lines,
          (unsigned)req.request_headers_lines);
}

/* The request view's documented, readable fields. */
static void
test_request_view(void)
{
    static const char first[] = "https://a.example.com";
    static const char second[] = "https://b.example.com";
    static const char *const lines[] = {"a", "b", "c", "d", "e",
                                        "f", "g", "h", "i", "j"};
    corsgate_policy *policy = NULL;
    corsgate_decision d;
    corsgate_request req;

    policy = compile_ok("{\"allow_origins\": [\"https://a.example.com\"],"
                        " \"allow_headers\": [\"*\"]}");
    if (policy == NULL) {
        return;
    }
    corsgate_request_init(&req, S("OPTIONS"));
    CHECK(slice_is(req.method, "OPTIONS"), "method");
    CHECK(req.origin_lines == 0 && req.request_method_lines == 0
              && req.request_headers_lines == 0,
          "a new request has lines");
    corsgate_request_add_header(&req, S("Origin"), S(first));
    corsgate_request_add_header(&req, S("Access-Control-Request-Method"),
                                S("POST"));
    corsgate_request_add_header(&req, S("origin"), S(second));
    CHECK(req.origin_lines == 2, "origin lines %u", (unsigned)req.origin_lines);
    CHECK(req.origin.ptr == (const uint8_t *)first
              && req.origin.len == sizeof(first) - 1,
          "origin is not the first line, borrowed");
    for (size_t i = 0; i < 10; i++) {
        corsgate_request_add_header(&req, S("Access-Control-Request-Headers"),
                                    (const uint8_t *)lines[i], 1);
    }
    CHECK(req.request_headers_lines == 10, "request headers lines %u",
          (unsigned)req.request_headers_lines);
    for (size_t i = 0; i < CORSGATE_REQUEST_HEADERS_MAX_LINES; i++) {
        CHECK(req.request_headers[i].ptr == (const uint8_t *)lines[i],
              "request_headers[%zu] is not line %zu", i, i);
    }
    CHECK(corsgate_evaluate(policy, &req, &d) == CORSGATE_RESULT_OK,
          "evaluate");
    CHECK(d.reason == CORSGATE_REASON_ORIGIN_DUPLICATED, "reason %s",
          corsgate_reason_str(d.reason));

    /* init starts over: one origin, nine request-headers lines. */
    corsgate_request_init(&req, S("OPTIONS"));
    CHECK(req.origin_lines == 0 && req.request_headers_lines == 0,
          "init keeps lines");
    corsgate_request_add_header(&req, S("Origin"), S(first));
    corsgate_request_add_header(&req, S("Access-Control-Request-Method"),
                                S("POST"));
    for (size_t i = 0; i < CORSGATE_REQUEST_HEADERS_MAX_LINES + 1; i++) {
        corsgate_request_add_header(&req, S("Access-Control-Request-Headers"),
                                    (const uint8_t *)lines[i], 1);
    }
    CHECK(corsgate_evaluate(policy, &req, &d) == CORSGATE_RESULT_OK,
          "evaluate");
    CHECK(d.reason == CORSGATE_REASON_TOO_MANY_HEADER_LINES, "reason %s",
          corsgate_reason_str(d.reason));

    /* Exactly the most lines kept is fine. */
    corsgate_request_init(&req, S("OPTIONS"));
    corsgate_request_add_header(&req, S("Origin"), S(first));
    corsgate_request_add_header(&req, S("Access-Control-Request-Method"),
                                S("POST"));
    for (size_t i = 0; i < CORSGATE_REQUEST_HEADERS_MAX_LINES; i++) {
        corsgate_request_add_header(&req, S("Access-Control-Request-Headers"),
                                    (const uint8_t *)lines[i], 1);
    }
    CHECK(corsgate_evaluate(policy, &req, &d) == CORSGATE_RESULT_OK,
          "evaluate");
    CHECK(d.verdict == CORSGATE_VERDICT_ALLOWED, "8 lines: %s",
          corsgate_reason_str(d.reason));

    corsgate_policy_free(policy);
}


/* ---- NULL handling ------------------------------------------------- */

static void
test_null_handling(void)
{
    static const char json[] = "{\"allow_origins\": [\"https://a.com\"]}";
    corsgate_policy *policy = NULL, *sentinel = (corsgate_policy *)&policy;
    corsgate_policy *out;
    corsgate_builder *builder = NULL;
    corsgate_decision d, before;
    corsgate_request req;
    corsgate_slice values[1];
    uint8_t message[256];
    size_t message_len;
    size_t len;
    corsgate_result rc;

    /* policy_from_json */
    out = sentinel;
    rc = corsgate_policy_from_json(NULL, 5, &out, message, sizeof(message),
                                   &message_len);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "(NULL, 5): %s",
          corsgate_result_str(rc));
    CHECK(out == sentinel, "(NULL, 5) wrote the policy");
    rc = corsgate_policy_from_json(S(json), NULL, message, sizeof(message),
                                   &message_len);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "policy_out NULL: %s",
          corsgate_result_str(rc));
    rc = corsgate_policy_from_json(S("{"), NULL, NULL, 0, NULL);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER
              || rc == CORSGATE_RESULT_INVALID_JSON,
          "bad JSON, policy_out NULL: %s", corsgate_result_str(rc));
    rc = corsgate_policy_from_json(NULL, 0, &out, NULL, 0, NULL);
    CHECK(rc == CORSGATE_RESULT_INVALID_JSON, "(NULL, 0): %s",
          corsgate_result_str(rc));
    CHECK(out == sentinel, "(NULL, 0) wrote the policy");
    rc = corsgate_policy_from_json(S(json), &policy, NULL, 0, NULL);
    CHECK(rc == CORSGATE_RESULT_OK && policy != NULL, "no message pointers: %s",
          corsgate_result_str(rc));
    rc = corsgate_policy_from_json(S("[]"), &out, NULL, 64, NULL);
    CHECK(rc == CORSGATE_RESULT_INVALID_JSON,
          "error, message NULL with a capacity: %s", corsgate_result_str(rc));
    message_len = 0;
    rc = corsgate_policy_from_json(S("[]"), &out, NULL, 0, &message_len);
    CHECK(rc == CORSGATE_RESULT_INVALID_JSON && message_len > 0,
          "error, only the length: %s, %zu", corsgate_result_str(rc),
          message_len);
    CHECK(out == sentinel, "an error wrote the policy");

    /* frees and predicates */
    corsgate_policy_free(NULL);
    corsgate_builder_free(NULL);
    CHECK(!corsgate_policy_is_origin_independent(NULL),
          "is_origin_independent(NULL)");
    CHECK(!corsgate_policy_is_report_only(NULL), "is_report_only(NULL)");

    /* builder */
    rc = corsgate_builder_new(NULL);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "builder_new(NULL): %s",
          corsgate_result_str(rc));
    rc = corsgate_builder_merge_json(NULL, S(json), message, sizeof(message),
                                     &message_len);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "merge_json(NULL): %s",
          corsgate_result_str(rc));
    rc = corsgate_builder_set(NULL, S("max_age"), NULL, 0);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "set(NULL): %s",
          corsgate_result_str(rc));
    out = sentinel;
    rc = corsgate_builder_build(NULL, &out, message, sizeof(message),
                                &message_len);
    CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER && out == sentinel,
          "build(NULL): %s", corsgate_result_str(rc));
    rc = corsgate_builder_new(&builder);
    if (CHECK(rc == CORSGATE_RESULT_OK && builder != NULL, "builder_new: %s",
              corsgate_result_str(rc))) {
        rc = corsgate_builder_merge_json(builder, NULL, 3, NULL, 0, NULL);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "merge_json(NULL, 3): %s",
              corsgate_result_str(rc));
        rc = corsgate_builder_merge_json(builder, NULL, 0, NULL, 0, NULL);
        CHECK(rc == CORSGATE_RESULT_INVALID_JSON, "merge_json(NULL, 0): %s",
              corsgate_result_str(rc));
        rc = corsgate_builder_merge_json(builder, S(json), NULL, 0, NULL);
        CHECK(rc == CORSGATE_RESULT_OK, "merge_json, no message: %s",
              corsgate_result_str(rc));
        rc = corsgate_builder_set(builder, NULL, 7, NULL, 0);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "set(field NULL, 7): %s",
              corsgate_result_str(rc));
        rc = corsgate_builder_set(builder, S("max_age"), NULL, 1);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "set(values NULL, 1): %s",
              corsgate_result_str(rc));
        values[0].ptr = NULL;
        values[0].len = 3;
        rc = corsgate_builder_set(builder, S("max_age"), values, 1);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "set(value (NULL, 3)): %s",
              corsgate_result_str(rc));
        rc = corsgate_builder_build(builder, NULL, message, sizeof(message),
                                    &message_len);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER,
              "build(policy_out NULL): %s", corsgate_result_str(rc));
        out = NULL;
        rc = corsgate_builder_build(builder, &out, NULL, 0, NULL);
        CHECK(rc == CORSGATE_RESULT_OK && out != NULL, "build, no message: %s",
              corsgate_result_str(rc));
        corsgate_policy_free(out);
    }
    corsgate_builder_free(builder);

    /* request view */
    corsgate_request_init(NULL, S("GET"));
    CHECK(!corsgate_request_add_header(NULL, S("Origin"), S("https://a.com")),
          "add_header(NULL request)");
    corsgate_request_init(&req, NULL, 0);
    CHECK(req.method.len == 0, "init(NULL, 0): method length %zu",
          req.method.len);
    CHECK(!corsgate_request_add_header(&req, NULL, 6, S("https://a.com")),
          "add_header(name NULL, 6)");
    CHECK(!corsgate_request_add_header(&req, S("Origin"), NULL, 5),
          "add_header(value NULL, 5)");
    CHECK(req.origin_lines == 0, "a refused line was counted");
    CHECK(corsgate_request_add_header(&req, S("Origin"), NULL, 0),
          "add_header(value NULL, 0) is an empty value");
    CHECK(req.origin_lines == 1, "origin lines %u", (unsigned)req.origin_lines);

    /* header lists */
    CHECK(corsgate_request_header_names(NULL) != NULL,
          "request_header_names(NULL)");
    CHECK(corsgate_owned_header_names(NULL) != NULL,
          "owned_header_names(NULL)");
    len = 0;
    CHECK(corsgate_owned_header_names(&len) != NULL && len > 0, "owned len");
    CHECK(!corsgate_is_owned_header(NULL, 5), "is_owned_header(NULL, 5)");
    CHECK(!corsgate_is_owned_header(NULL, 0), "is_owned_header(NULL, 0)");

    /* evaluate: NULL_PARAMETER and nothing written */
    if (policy != NULL) {
        memset(&d, 0x3C, sizeof(d));
        memcpy(&before, &d, sizeof(d));
        rc = corsgate_evaluate(NULL, &req, &d);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER, "evaluate(NULL policy): %s",
              corsgate_result_str(rc));
        rc = corsgate_evaluate(policy, NULL, &d);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER,
              "evaluate(NULL request): %s", corsgate_result_str(rc));
        CHECK(memcmp(&d, &before, sizeof(d)) == 0,
              "evaluate with NULL wrote the decision");
        rc = corsgate_evaluate(policy, &req, NULL);
        CHECK(rc == CORSGATE_RESULT_NULL_PARAMETER,
              "evaluate(NULL decision): %s", corsgate_result_str(rc));
        /* The (NULL, 0) origin is an empty origin: malformed. */
        rc = corsgate_evaluate(policy, &req, &d);
        CHECK(rc == CORSGATE_RESULT_OK
                  && d.reason == CORSGATE_REASON_ORIGIN_MALFORMED,
              "empty origin: %s, %s", corsgate_result_str(rc),
              corsgate_reason_str(d.reason));
    }
    corsgate_policy_free(policy);
}


/* ---- policy errors ------------------------------------------------- */

typedef struct bad_policy {
    const char *json;
    corsgate_result code;
    const char *mentions[3];
} bad_policy;

static void
test_policy_errors(void)
{
    static const bad_policy cases[] = {
        {"", CORSGATE_RESULT_INVALID_JSON, {NULL}},
        {"{", CORSGATE_RESULT_INVALID_JSON, {NULL}},
        {"\xff\xfe", CORSGATE_RESULT_INVALID_JSON, {NULL}},
        {"[]", CORSGATE_RESULT_INVALID_JSON, {"object"}},
        {"\"allow_origins\"", CORSGATE_RESULT_INVALID_JSON, {"object"}},
        /* Unknown fields are reported with the invalid values. */
        {"{\"allow_origins\": [\"https://a.com\"], \"alow_methods\": []}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"alow_methods", "allow_methods"}},
        {"{\"allow_origins\": [\"https://a.com:443\"], \"zzz\": 1}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"zzz", "allow_origins[0]"}},
        {"{\"allow_origins\": \"https://a.com\"}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins", "list"}},
        {"{}", CORSGATE_RESULT_INVALID_POLICY, {"allow_origins"}},
        {"{\"allow_origins\": [\"*\"], \"allow_credentials\": true}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins", "credentials"}},
        {"{\"allow_origins\": [\"https://a.com:443\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", ":443"}},
        {"{\"allow_origins\": [\"https://a.com/\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]"}},
        {"{\"allow_origins\": [\"null\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", "null"}},
        {"{\"allow_origins\": [\"http://a.com\"], \"allow_credentials\": true}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", "http://a.com"}},
        {"{\"allow_origins\": [\"https://*.com\"], \"allow_credentials\": "
         "true}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", "*.com"}},
        {"{\"allow_origins\": [\"https://a.com\"], \"allow_methods\": "
         "[\"TRACE\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_methods[0]", "TRACE"}},
        {"{\"allow_origins\": [\"https://a.com\"], \"allow_headers\": "
         "[\"x-ok\", \"cookie\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_headers[1]", "cookie"}},
        {"{\"allow_origins\": [\"https://a.com\"], \"max_age\": 100000}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"max_age", "86400"}},
        {"{\"allow_origins\": [\"https://a.com\"], \"preflight_status\": 201}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"preflight_status"}},
        {"{\"allow_origins\": [\"https://a.com\"], \"mode\": \"audit\"}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"mode"}},
        {"{\"allow_origins\": [\"regex:(\"]}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", "regex"}},
        /* Every problem, one per line. */
        {"{\"allow_origins\": [\"https://a.com:443\"], \"allow_methods\": "
         "[\"CONNECT\"], \"max_age\": 100000}",
         CORSGATE_RESULT_INVALID_POLICY,
         {"allow_origins[0]", "allow_methods[0]", "max_age"}},
    };
    uint8_t message[MESSAGE_CAP];
    corsgate_policy *sentinel = (corsgate_policy *)&message, *out;
    size_t message_len, lines;
    corsgate_result rc;
    char shown[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        const bad_policy *c = &cases[i];
        size_t shown_len;

        out = sentinel;
        message_len = 0;
        memset(message, 0, sizeof(message));
        rc = corsgate_policy_from_json((const uint8_t *)c->json,
                                       strlen(c->json), &out, message,
                                       sizeof(message), &message_len);
        shown_len =
            message_len < sizeof(message) ? message_len : sizeof(message);
        show(shown, sizeof(shown), message, shown_len);
        CHECK(rc == c->code, "%s: %s, expected %s (%s)", c->json,
              corsgate_result_str(rc), corsgate_result_str(c->code), shown);
        CHECK(out == sentinel, "%s: the policy was written", c->json);
        CHECK(message_len > 0 && message_len <= sizeof(message),
              "%s: message length %zu", c->json, message_len);
        for (size_t m = 0; m < 3 && c->mentions[m] != NULL; m++) {
            CHECK(contains(message, shown_len, c->mentions[m]),
                  "%s: the message does not name %s: %s", c->json,
                  c->mentions[m], shown);
        }
    }

    /* The last case has three problems: three lines. */
    lines = 1;
    for (size_t i = 0; i + 1 < message_len; i++) {
        lines += message[i] == '\n';
    }
    CHECK(lines >= 3, "three problems on %zu lines: %s", lines, shown);
}

static void
test_message_truncation(void)
{
    static const char json[] = "{\"allow_origins\": [\"https://a.com:443\", "
                               "\"null\"], \"max_age\": 100000}";
    uint8_t full[MESSAGE_CAP], small[64];
    corsgate_policy *out = NULL;
    size_t full_len = 0, len;
    corsgate_result rc;

    rc =
        corsgate_policy_from_json(S(json), &out, full, sizeof(full), &full_len);
    if (!CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "%s",
               corsgate_result_str(rc))) {
        return;
    }
    CHECK(full_len > 32 && full_len < sizeof(full), "full length %zu",
          full_len);

    /* 10 bytes of room: a prefix, the full length, nothing past it. */
    memset(small, '#', sizeof(small));
    len = 0;
    rc = corsgate_policy_from_json(S(json), &out, small, 10, &len);
    CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "%s", corsgate_result_str(rc));
    CHECK(len == full_len, "truncated: length %zu, full %zu", len, full_len);
    CHECK(memcmp(small, full, 10) == 0, "truncated: not a prefix");
    for (size_t i = 10; i < sizeof(small); i++) {
        if (!CHECK(small[i] == '#', "byte %zu past the capacity written", i)) {
            break;
        }
    }

    /* No room at all: nothing written, the full length reported. */
    memset(small, '#', sizeof(small));
    len = 0;
    rc = corsgate_policy_from_json(S(json), &out, small, 0, &len);
    CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "%s", corsgate_result_str(rc));
    CHECK(len == full_len, "cap 0: length %zu, full %zu", len, full_len);
    CHECK(small[0] == '#', "cap 0: a byte was written");

    /* Exactly enough room. */
    memset(small, '#', sizeof(small));
    {
        uint8_t *exact = malloc(full_len);

        if (CHECK(exact != NULL, "out of memory")) {
            len = 0;
            rc =
                corsgate_policy_from_json(S(json), &out, exact, full_len, &len);
            CHECK(rc == CORSGATE_RESULT_INVALID_POLICY && len == full_len
                      && memcmp(exact, full, full_len) == 0,
                  "exact capacity");
            free(exact);
        }
    }

    /* The builder truncates the same way. */
    {
        corsgate_builder *b = NULL;

        if (CHECK(corsgate_builder_new(&b) == CORSGATE_RESULT_OK, "new")) {
            memset(small, '#', sizeof(small));
            len = 0;
            rc = corsgate_builder_merge_json(
                b, S("{\"allow_origins\": [], \"zzz\": 1}"), small, 4, &len);
            CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "merge: %s",
                  corsgate_result_str(rc));
            CHECK(len > 4 && small[4] == '#', "merge: length %zu", len);
            memset(small, '#', sizeof(small));
            len = 0;
            rc = corsgate_builder_build(b, &out, small, 4, &len);
            CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "build: %s",
                  corsgate_result_str(rc));
            CHECK(len > 4 && small[4] == '#', "build: length %zu", len);
            CHECK(out == NULL, "build: the policy was written");
        }
        corsgate_builder_free(b);
    }
}


/* ---- builder ------------------------------------------------------- */

static corsgate_result
builder_set_str(corsgate_builder *b, const char *field, const char *const *vs,
                size_t n)
{
    corsgate_slice values[8];

    for (size_t i = 0; i < n && i < 8; i++) {
        values[i].ptr = (const uint8_t *)vs[i];
        values[i].len = strlen(vs[i]);
    }
    return corsgate_builder_set(b, (const uint8_t *)field, strlen(field),
                                values, n);
}

static void
test_builder(void)
{
    static const char *const origins[] = {"https://app.example.com",
                                          "https://*.example.org"};
    static const char *const methods[] = {"GET", "PUT"};
    static const char *const headers[] = {"Content-Type", "x-request-id"};
    static const char *const on[] = {"on"};
    static const char *const max_age[] = {"600"};
    static const char *const bad_age[] = {"ten minutes"};
    static const char *const two_ages[] = {"1", "2"};
    static const char *const not_utf8[] = {"x-\xff"};
    corsgate_builder *b = NULL;
    corsgate_policy *p1 = NULL, *p2 = NULL, *p3 = NULL;
    uint8_t message[MESSAGE_CAP];
    size_t message_len = 0;
    corsgate_decision d;
    corsgate_result rc;
    char shown[512];

    rc = corsgate_builder_new(&b);
    if (!CHECK(rc == CORSGATE_RESULT_OK && b != NULL, "new: %s",
               corsgate_result_str(rc))) {
        goto cleanup;
    }

    /* Empty: allow_origins is required. */
    rc = corsgate_builder_build(b, &p1, message, sizeof(message), &message_len);
    CHECK(rc == CORSGATE_RESULT_INVALID_POLICY && p1 == NULL, "empty: %s",
          corsgate_result_str(rc));
    CHECK(contains(message, message_len, "allow_origins"), "empty: %s",
          show(shown, sizeof(shown), message, message_len));

    CHECK(builder_set_str(b, "allow_origins", origins, 2) == CORSGATE_RESULT_OK,
          "set allow_origins");
    CHECK(builder_set_str(b, "allow_methods", methods, 2) == CORSGATE_RESULT_OK,
          "set allow_methods");
    CHECK(builder_set_str(b, "allow_headers", headers, 2) == CORSGATE_RESULT_OK,
          "set allow_headers");
    CHECK(builder_set_str(b, "allow_credentials", on, 1) == CORSGATE_RESULT_OK,
          "set allow_credentials");
    CHECK(builder_set_str(b, "max_age", max_age, 1) == CORSGATE_RESULT_OK,
          "set max_age");

    rc = builder_set_str(b, "allow_orgins", origins, 2);
    CHECK(rc == CORSGATE_RESULT_UNKNOWN_FIELD, "allow_orgins: %s",
          corsgate_result_str(rc));
    rc = builder_set_str(b, "", origins, 1);
    CHECK(rc == CORSGATE_RESULT_UNKNOWN_FIELD, "empty field: %s",
          corsgate_result_str(rc));
    rc = builder_set_str(b, "max_age\xff", max_age, 1);
    CHECK(rc == CORSGATE_RESULT_UNKNOWN_FIELD, "non-UTF-8 field: %s",
          corsgate_result_str(rc));
    rc = builder_set_str(b, "allow_headers", not_utf8, 1);
    CHECK(rc == CORSGATE_RESULT_INVALID_TEXT, "non-UTF-8 value: %s",
          corsgate_result_str(rc));

    rc = corsgate_builder_build(b, &p1, message, sizeof(message), &message_len);
    if (!CHECK(rc == CORSGATE_RESULT_OK && p1 != NULL, "build: %s: %s",
               corsgate_result_str(rc),
               show(shown, sizeof(shown), message, message_len))) {
        goto cleanup;
    }
    CHECK(message_len == 0, "build OK with a message");
    rc = evaluate_simple(p1, "OPTIONS", "https://api.example.org", "PUT",
                         "content-type,X-Request-ID", &d);
    CHECK(rc == CORSGATE_RESULT_OK && d.verdict == CORSGATE_VERDICT_ALLOWED,
          "preflight: %s", corsgate_reason_str(d.reason));
    CHECK(d.action == CORSGATE_ACTION_RESPOND && d.status == 204,
          "preflight: action %u status %u", (unsigned)d.action,
          (unsigned)d.status);
    check_header(&d, "access-control-allow-origin", "https://api.example.org");
    check_header(&d, "access-control-allow-credentials", "true");
    check_header(&d, "access-control-allow-methods", "GET, PUT");
    check_header(&d, "access-control-allow-headers",
                 "content-type, x-request-id");
    check_header(&d, "access-control-max-age", "600");

    /* merge_json: an unknown field changes nothing. */
    rc = corsgate_builder_merge_json(b, S("{\"max_age\": 60, \"zzz\": 1}"),
                                     message, sizeof(message), &message_len);
    CHECK(rc == CORSGATE_RESULT_INVALID_POLICY, "merge zzz: %s",
          corsgate_result_str(rc));
    CHECK(contains(message, message_len, "zzz"), "merge zzz: %s",
          show(shown, sizeof(shown), message, message_len));
    rc = corsgate_builder_build(b, &p2, NULL, 0, NULL);
    if (CHECK(rc == CORSGATE_RESULT_OK && p2 != NULL, "rebuild: %s",
              corsgate_result_str(rc))) {
        evaluate_simple(p2, "OPTIONS", "https://app.example.com", "PUT", NULL,
                        &d);
        check_header(&d, "access-control-max-age", "600");
        CHECK(d.status == 204, "status %u", (unsigned)d.status);
    }

    /* merge_json: later fields win; the older policies are untouched. */
    rc = corsgate_builder_merge_json(
        b, S("{\"max_age\": 60, \"preflight_status\": 200}"), message,
        sizeof(message), &message_len);
    CHECK(rc == CORSGATE_RESULT_OK && message_len == 0, "merge: %s",
          corsgate_result_str(rc));
    rc = corsgate_builder_build(b, &p3, NULL, 0, NULL);
    if (CHECK(rc == CORSGATE_RESULT_OK && p3 != NULL, "build 3: %s",
              corsgate_result_str(rc))) {
        evaluate_simple(p3, "OPTIONS", "https://app.example.com", "PUT", NULL,
                        &d);
        check_header(&d, "access-control-max-age", "60");
        CHECK(d.status == 200, "status %u", (unsigned)d.status);
        evaluate_simple(p1, "OPTIONS", "https://app.example.com", "PUT", NULL,
                        &d);
        check_header(&d, "access-control-max-age", "600");
    }

    /* Values are checked at build, all problems at once. */
    CHECK(builder_set_str(b, "max_age", bad_age, 1) == CORSGATE_RESULT_OK,
          "set a bad max_age");
    CHECK(builder_set_str(b, "allow_credentials", two_ages, 2)
              == CORSGATE_RESULT_OK,
          "set two allow_credentials");
    corsgate_policy_free(p2);
    p2 = NULL;
    rc = corsgate_builder_build(b, &p2, message, sizeof(message), &message_len);
    show(shown, sizeof(shown), message, message_len);
    CHECK(rc == CORSGATE_RESULT_INVALID_POLICY && p2 == NULL, "bad max_age: %s",
          corsgate_result_str(rc));
    CHECK(contains(message, message_len, "max_age")
              && contains(message, message_len, "ten minutes"),
          "bad max_age: %s", shown);
    CHECK(contains(message, message_len, "allow_credentials"),
          "bad allow_credentials: %s", shown);

cleanup:
    corsgate_policy_free(p1);
    corsgate_policy_free(p2);
    corsgate_policy_free(p3);
    corsgate_builder_free(b);
}


/* ---- policy predicates --------------------------------------------- */

static void
test_policy_predicates(void)
{
    corsgate_policy *any = compile_ok("{\"allow_origins\": [\"*\"]}");
    corsgate_policy *one =
        compile_ok("{\"allow_origins\": [\"https://a.com\"]}");
    corsgate_policy *report = compile_ok(
        "{\"allow_origins\": [\"https://a.com\"], \"mode\": \"report\"}");
    corsgate_decision d;

    if (any == NULL || one == NULL || report == NULL) {
        goto cleanup;
    }
    CHECK(corsgate_policy_is_origin_independent(any), "* is dependent");
    CHECK(!corsgate_policy_is_origin_independent(one), "one is independent");
    CHECK(!corsgate_policy_is_report_only(any), "* is report-only");
    CHECK(corsgate_policy_is_report_only(report), "report is not report-only");

    /* No Vary for a policy that answers every origin the same way, but
     * ACAO * on every response: a cached copy may answer a CORS request. */
    evaluate_simple(any, "GET", NULL, NULL, NULL, &d);
    CHECK(d.verdict == CORSGATE_VERDICT_NOT_CORS && d.headers_len == 1,
          "* not CORS: %zu headers", d.headers_len);
    check_header(&d, "access-control-allow-origin", "*");
    evaluate_simple(one, "GET", NULL, NULL, NULL, &d);
    CHECK(d.headers_len == 1, "not CORS: %zu headers", d.headers_len);
    check_header(&d, "vary", "Origin");
    evaluate_simple(report, "GET", "https://evil.example", NULL, NULL, &d);
    CHECK(d.report_only && d.verdict == CORSGATE_VERDICT_DENIED
              && d.headers_len == 0 && !d.strip_upstream
              && d.action == CORSGATE_ACTION_CONTINUE,
          "report: %s", corsgate_reason_str(d.reason));

cleanup:
    corsgate_policy_free(any);
    corsgate_policy_free(one);
    corsgate_policy_free(report);
}


/* ---- decisions outlive the request --------------------------------- */

/* Evaluates from heap copies, then overwrites and frees them. */
static corsgate_result
evaluate_then_scrub(const corsgate_policy *policy, const char *method,
                    const char *origin, const char *request_method,
                    const char *request_headers, corsgate_decision *d,
                    const uint8_t **origin_at)
{
    const char *texts[4] = {method, origin, request_method, request_headers};
    static const char *const names[4] = {NULL, "Origin",
                                         "Access-Control-Request-Method",
                                         "Access-Control-Request-Headers"};
    uint8_t *copies[4] = {NULL, NULL, NULL, NULL};
    corsgate_result rc = CORSGATE_RESULT_PANIC;
    corsgate_request req;

    for (size_t i = 0; i < 4; i++) {
        if (texts[i] != NULL) {
            copies[i] = dup_bytes(texts[i], strlen(texts[i]));
            if (copies[i] == NULL) {
                goto cleanup;
            }
        }
    }
    *origin_at = copies[1];
    corsgate_request_init(&req, copies[0], strlen(method));
    for (size_t i = 1; i < 4; i++) {
        if (copies[i] != NULL) {
            corsgate_request_add_header(&req, (const uint8_t *)names[i],
                                        strlen(names[i]), copies[i],
                                        strlen(texts[i]));
        }
    }
    rc = corsgate_evaluate(policy, &req, d);

cleanup:
    for (size_t i = 0; i < 4; i++) {
        scrub_free(copies[i], texts[i] ? strlen(texts[i]) : 0);
    }
    return rc;
}

static void
test_decision_outlives_request(void)
{
    corsgate_policy *policy = NULL;
    corsgate_decision *d = malloc(sizeof(*d));
    const uint8_t *origin_at = NULL;
    const corsgate_header *acao;
    char origin[CORSGATE_ORIGIN_MAX_LEN + 2];
    const char *suffix = ".example.com";
    size_t n;
    char shown[128];

    policy = compile_ok("{\"allow_origins\": [\"https://*.example.com\"],"
                        " \"allow_methods\": [\"PUT\"],"
                        " \"allow_headers\": [\"x-a\"],"
                        " \"allow_credentials\": true, \"debug\": true}");
    if (policy == NULL || !CHECK(d != NULL, "out of memory")) {
        goto cleanup;
    }

    /* The reflected origin is a copy inside the decision. */
    CHECK(evaluate_then_scrub(policy, "GET", "https://app.example.com", NULL,
                              NULL, d, &origin_at)
              == CORSGATE_RESULT_OK,
          "evaluate");
    CHECK(d->verdict == CORSGATE_VERDICT_ALLOWED, "reason %s",
          corsgate_reason_str(d->reason));
    check_header(d, "access-control-allow-origin", "https://app.example.com");
    acao = find_header(d, "access-control-allow-origin");
    if (acao != NULL) {
        CHECK(points_into(acao->value.ptr, acao->value.len, d, sizeof(*d)),
              "the reflected origin is not in the decision");
    }

    /* So is the refused header named in detail. */
    CHECK(evaluate_then_scrub(policy, "OPTIONS", "https://app.example.com",
                              "PUT", "x-a, X-Secret, x-b", d, &origin_at)
              == CORSGATE_RESULT_OK,
          "evaluate");
    CHECK(d->reason == CORSGATE_REASON_HEADER_NOT_ALLOWED, "reason %s",
          corsgate_reason_str(d->reason));
    CHECK(slice_is(d->detail, "X-Secret") || slice_is(d->detail, "x-secret"),
          "detail %s",
          show(shown, sizeof(shown), d->detail.ptr, d->detail.len));
    CHECK(d->detail.len == 0
              || points_into(d->detail.ptr, d->detail.len, d, sizeof(*d)),
          "detail is not in the decision");
    check_header(d, "x-corsgate-reason", "header-not-allowed");
    CHECK(d->status == 403, "status %u", (unsigned)d->status);

    /* The longest origin accepted is reflected whole: labels of 40 bytes
     * under the suffix, 512 bytes in all. */
    n = CORSGATE_ORIGIN_MAX_LEN - strlen(suffix);
    memcpy(origin, "https://", 8);
    for (size_t i = 8; i < n; i++) {
        origin[i] = (i - 8) % 41 == 40 && i + 2 < n ? '.' : 'a';
    }
    memcpy(origin + n, suffix, strlen(suffix) + 1);
    n += strlen(suffix);
    if (CHECK(n == CORSGATE_ORIGIN_MAX_LEN, "built %zu bytes", n)) {
        CHECK(evaluate_then_scrub(policy, "GET", origin, NULL, NULL, d,
                                  &origin_at)
                  == CORSGATE_RESULT_OK,
              "evaluate");
        CHECK(d->verdict == CORSGATE_VERDICT_ALLOWED, "512 bytes: %s",
              corsgate_reason_str(d->reason));
        check_header(d, "access-control-allow-origin", origin);

        /* One more byte: too long, never reflected. */
        memmove(origin + 9, origin + 8, n - 8 + 1);
        origin[8] = 'b';
        CHECK(evaluate_then_scrub(policy, "GET", origin, NULL, NULL, d,
                                  &origin_at)
                  == CORSGATE_RESULT_OK,
              "evaluate");
        CHECK(d->reason == CORSGATE_REASON_ORIGIN_TOO_LONG, "513 bytes: %s",
              corsgate_reason_str(d->reason));
        check_header(d, "access-control-allow-origin", NULL);
        check_header(d, "x-corsgate-reason", "origin-too-long");
    }

cleanup:
    corsgate_policy_free(policy);
    free(d);
}


/* ---- one policy, four threads -------------------------------------- */

typedef struct worker {
    pthread_t thread;
    unsigned rounds;
    size_t evaluated;
    size_t mismatches;
    char first[WHY_CAP];
} worker;

static pthread_mutex_t g_gate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cond = PTHREAD_COND_INITIALIZER;
static bool g_gate_open;

static void *
worker_main(void *arg)
{
    worker *w = arg;
    corsgate_decision d;
    char why[WHY_CAP];

    pthread_mutex_lock(&g_gate_mutex);
    while (!g_gate_open) {
        pthread_cond_wait(&g_gate_cond, &g_gate_mutex);
    }
    pthread_mutex_unlock(&g_gate_mutex);

    for (unsigned r = 0; r < w->rounds; r++) {
        for (size_t f = 0; f < g_vectors.len; f++) {
            const vfile *file = &g_vectors.files[f];

            if (file->policy == NULL) {
                continue;
            }
            for (size_t i = 0; i < file->cases_len; i++) {
                const vcase *c = &file->cases[i];
                corsgate_result rc;

                why[0] = '\0';
                rc = eval_case(file->policy, c, false, &d, why, sizeof(why));
                w->evaluated++;
                if (rc == CORSGATE_RESULT_OK
                    && decision_matches(c, file->report, &d, why,
                                        sizeof(why))) {
                    continue;
                }
                if (w->mismatches++ == 0) {
                    why_add(w->first, sizeof(w->first), "%s #%zu: %s: %s",
                            (const char *)file->name.ptr, i,
                            corsgate_result_str(rc), why);
                }
            }
        }
    }
    return NULL;
}

static void
test_threads(void)
{
    worker workers[THREADS];
    const char *env = getenv("CORSGATE_C_TEST_ROUNDS");
    unsigned rounds = DEFAULT_ROUNDS;
    size_t started = 0, evaluated = 0;

    if (env != NULL && atoi(env) > 0) {
        rounds = (unsigned)atoi(env);
    }
    if (!CHECK(g_vectors.cases > 0, "no vectors")) {
        return;
    }
    memset(workers, 0, sizeof(workers));
    g_gate_open = false;
    for (size_t i = 0; i < THREADS; i++) {
        workers[i].rounds = rounds;
        if (!CHECK(pthread_create(&workers[i].thread, NULL, worker_main,
                                  &workers[i])
                       == 0,
                   "pthread_create %zu", i)) {
            break;
        }
        started++;
    }
    /* Release them together, so that they evaluate at the same time. */
    pthread_mutex_lock(&g_gate_mutex);
    g_gate_open = true;
    pthread_cond_broadcast(&g_gate_cond);
    pthread_mutex_unlock(&g_gate_mutex);
    for (size_t i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        evaluated += workers[i].evaluated;
        CHECK(workers[i].mismatches == 0, "thread %zu: %zu mismatches; %s", i,
              workers[i].mismatches, workers[i].first);
    }
    CHECK(started == THREADS, "%zu threads", started);
    printf("     threads: %zu evaluations in %zu threads, %u rounds\n",
           evaluated, started, rounds);
}


/* ---- main ---------------------------------------------------------- */

int
main(int argc, char **argv)
{
    char *text = NULL;
    size_t text_len = 0;
    int status = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTORS.txt\n", argv[0]);
        return 2;
    }
    text = read_file(argv[1], &text_len);
    if (text == NULL) {
        perror(argv[1]);
        goto cleanup;
    }
    if (!parse_vectors(text, &g_vectors)) {
        goto cleanup;
    }
    if (g_vectors.cases == 0) {
        fprintf(stderr, "%s: no cases\n", argv[1]);
        goto cleanup;
    }

    run_vectors();
    run_test("versions", test_versions);
    run_test("static strings", test_static_strings);
    run_test("header names", test_header_names);
    run_test("request view", test_request_view);
    run_test("NULL handling", test_null_handling);
    run_test("policy errors", test_policy_errors);
    run_test("message truncation", test_message_truncation);
    run_test("builder", test_builder);
    run_test("policy predicates", test_policy_predicates);
    run_test("decision outlives the request", test_decision_outlives_request);
    run_test("one policy, four threads", test_threads);

    printf("%u passed, %u failed\n", g_passed, g_failed);
    status = g_failed == 0 ? 0 : 1;

cleanup:
    free_vectors(&g_vectors);
    free(text);
    return status;
}
