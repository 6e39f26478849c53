/* corsgate as an Envoy dynamic-module HTTP filter (Envoy 1.38 to 1.40: what
 * differs between them is in envoy_abi_version.h).
 *
 * Thin by design: on request headers, read the headers corsgate asks for,
 * call corsgate_evaluate once, and either answer at once (RESPOND, see
 * cg_respond) or keep the decision for the response (CONTINUE), where the
 * owned headers are stripped and the decided ones written. Every CORS rule
 * lives in the library; this file only moves bytes between Envoy and it.
 *
 * filter_config (listener) and DynamicModuleFilterPerRoute.filter_config
 * (route, virtual host) are both a policy JSON document. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corsgate.h"
#include "envoy_abi.h"

#define CG_EXPORT __attribute__((visibility("default")))

#define CG_BUF(s) ((envoy_dm_buffer){(s), sizeof(s) - 1})
#define CG_SLICE_BUF(sl) ((envoy_dm_buffer){(const char *)(sl).ptr, (sl).len})

/* Room for the policy compiler's message (every error, one per line), and
 * for one log line. */
#define CG_MESSAGE_CAP 8192
#define CG_LINE_CAP (CG_MESSAGE_CAP + 256)

/* Header lines read in one call without allocating; a map with more lines
 * (Envoy allows 100 by default) is read into a heap array. */
#define CG_LINES_ON_STACK 64

/* Longest counter name: "decisions.kind.<kind>.reason.<reason>". */
#define CG_COUNTER_NAME_CAP 96

/* What the request path needs of one corsgate_outcomes entry, prepared at
 * config load. */
typedef struct cg_outcome {
    size_t counter;     /* Envoy's id of "decisions.kind.<k>.reason.<r>" */
    char details[48];   /* %RESPONSE_CODE_DETAILS% of our local replies */
    size_t details_len; /* "corsgate_<reason>" */
} cg_outcome;

typedef struct cg_config {
    corsgate_policy *policy;
    cg_outcome *outcomes; /* by corsgate_outcome_index */
    size_t outcomes_len;
    bool counted;         /* every counter could be defined */
} cg_config;

/* Room in a stream's state for the header values a decision holds itself
 * (copied from the request, such as the reflected origin): enough for any
 * origin a browser sends (a host is at most 253 bytes). The Envoy suite
 * also runs against a build with -DCG_KEPT_BYTES=1, where every such
 * decision takes the other path (cg_filter.spill). */
#ifndef CG_KEPT_BYTES
#define CG_KEPT_BYTES 512
#endif

/* Per stream, allocated by Envoy's call to http_filter_new for every
 * request, so kept small: what the response hook needs of a CONTINUE
 * decision. The decision itself (~8 KB) is evaluated on the request
 * hook's stack; its headers are kept here, their values pointing at static
 * strings or into the policy (which outlive the stream), or, for values
 * inside the decision, copied into bytes[]. When those do not fit, the
 * whole decision is copied to the heap (spill) and the headers point into
 * that copy: a decision holds no pointer into itself, so a copy is valid
 * on its own. */
typedef struct cg_filter {
    struct cg_filter *next;   /* in the thread's cache (cg_cache) */
    const cg_config *config;
    corsgate_decision *spill; /* NULL unless bytes[] was too small */
    bool pending;             /* CONTINUE: the response hook writes */
    bool strip_upstream;
    size_t headers_len;
    corsgate_header headers[CORSGATE_DECISION_MAX_HEADERS];
    uint8_t bytes[CG_KEPT_BYTES];
} cg_filter;

/* Per-stream states no longer in use, kept by each worker thread for its
 * next streams: Envoy creates a filter for every request and destroys it
 * on the same worker, and a malloc and a free in Envoy's allocator cost
 * about 250 instructions a request. At most CG_CACHE_MAX states (~1.5 KB
 * each) are kept per thread; they are freed when the thread exits. */
#define CG_CACHE_MAX 64

typedef struct cg_cache {
    cg_filter *head;
    size_t len;
} cg_cache;

static pthread_key_t cg_cache_key;
static bool cg_cache_usable; /* the key exists (set by program_init) */

/* The lengths of the names corsgate reads in a request
 * (corsgate_request_header_names) and of those it owns in a response
 * (corsgate_owned_header_names), one bit per length (bit 63: 63 or more),
 * set once by program_init. A line whose name has none of these lengths
 * is none of those headers, so it is not offered to the library. */
static uint64_t cg_request_name_lengths;
static uint64_t cg_owned_name_lengths;

/* corsgate_owned_header_names, kept by program_init for cg_is_owned. */
static const corsgate_slice *cg_owned_names;
static size_t cg_owned_names_len;

/* How many per-route policies exist, in any listener. While there are
 * none, no route can have one, and the request path skips asking Envoy
 * for the route's (get_most_specific_route_config walks the route's
 * per-filter configs on every call). A route's policy is created on the
 * main thread before Envoy hands the route table to the workers, so a
 * worker using that route sees the count above 0. */
static atomic_size_t cg_route_policies;


static void
cg_log(envoy_dm_log_level level, const char *msg, size_t len, uint32_t line)
{
    ENVOY_DM_LOG(level, ((envoy_dm_buffer){msg, len}), CG_BUF(__FILE__), line);
}


/* Answer the request now with `status`, `headers` and no body.
 *
 * An allowed preflight (2xx) is sent as response headers that end the
 * stream, not as Envoy's local reply (http_send_response): a local reply
 * goes through the HTTP connection manager's local_reply_config, whose
 * body_format gives it a body, also to a 204, which breaks the next
 * pipelined HTTP/1.1 response and is an HTTP/2 PROTOCOL_ERROR. Sent this
 * way the reply is exactly what the decision says, whatever
 * local_reply_config holds; Envoy records no %RESPONSE_CODE_DETAILS% for it.
 * A denial (403) stays a local reply, with its details ("corsgate_<reason>"):
 * body_format may give it a body, as it does to Envoy's own errors, which
 * is valid HTTP and what such a setup asks for. */
static void
cg_respond(envoy_dm_filter_envoy env, uint32_t status, envoy_dm_header *headers,
           size_t n, envoy_dm_buffer details)
{
    envoy_dm_header all[CORSGATE_DECISION_MAX_HEADERS + 1];
    char code[3];
    size_t i;

    if (status < 200 || status > 299) {
        envoy_dynamic_module_callback_http_send_response(
            env, status, headers, n, (envoy_dm_buffer){NULL, 0}, details);
        return;
    }
    /* Three digits, 200 to 299: no formatting call per preflight. */
    code[0] = (char)('0' + status / 100);
    code[1] = (char)('0' + status / 10 % 10);
    code[2] = (char)('0' + status % 10);
    all[0] = (envoy_dm_header){":status", 7, code, sizeof(code)};
    for (i = 0; i < n && i < CORSGATE_DECISION_MAX_HEADERS; i++) {
        all[i + 1] = headers[i];
    }
    envoy_dynamic_module_callback_http_send_response_headers(env, all, i + 1,
                                                             true);
}


/* Log one problem of a refused policy, naming where it came from. */
static void
cg_log_refusal(envoy_dm_buffer name, const char *where, const char *text,
               size_t text_len, char *line, size_t line_cap)
{
    int n;

    n = snprintf(line, line_cap,
                 "corsgate: invalid policy in %s of filter '%.*s': %.*s",
                 where, (int)(name.length > 128 ? 128 : name.length),
                 name.ptr != NULL ? name.ptr : "",
                 (int)(text_len < CG_MESSAGE_CAP ? text_len : CG_MESSAGE_CAP),
                 text);
    if (n > 0) {
        cg_log(ENVOY_DM_LOG_ERROR, line,
               (size_t)n < line_cap ? (size_t)n : line_cap - 1, __LINE__);
    }
}


/* Log what an accepted policy does that its author should know, one
 * warning per log line, at config load. */
static void
cg_log_warnings(envoy_dm_buffer name, const char *where,
                const corsgate_policy *policy, char *message, char *line)
{
    size_t i, n, len;
    int m;

    n = corsgate_policy_warning_count(policy);
    for (i = 0; i < n; i++) {
        if (!corsgate_policy_warning(policy, i, (uint8_t *)message,
                                     CG_MESSAGE_CAP, &len)) {
            break;
        }
        m = snprintf(line, CG_LINE_CAP,
                     "corsgate: warning in %s of filter '%.*s': %.*s", where,
                     (int)(name.length > 128 ? 128 : name.length),
                     name.ptr != NULL ? name.ptr : "",
                     (int)(len < CG_MESSAGE_CAP ? len : CG_MESSAGE_CAP),
                     message);
        if (m > 0) {
            cg_log(ENVOY_DM_LOG_WARN, line,
                   (size_t)m < CG_LINE_CAP ? (size_t)m : CG_LINE_CAP - 1,
                   __LINE__);
        }
    }
}


/* Compile a policy document; on failure log the library's message, one
 * log line per problem, and return NULL so that Envoy rejects the config. */
static corsgate_policy *
cg_compile(envoy_dm_buffer name, envoy_dm_buffer json, const char *where)
{
    corsgate_policy *policy = NULL;
    char *message = NULL, *line = NULL;
    size_t len = 0, start, end;
    const char *text;
    corsgate_result rc;

    message = malloc(CG_MESSAGE_CAP);
    line = malloc(CG_LINE_CAP);
    if (message == NULL || line == NULL) {
        goto cleanup;
    }
    rc = corsgate_policy_from_json((const uint8_t *)json.ptr, json.length,
                                   &policy, (uint8_t *)message,
                                   CG_MESSAGE_CAP, &len);
    if (rc == CORSGATE_RESULT_OK) {
        cg_log_warnings(name, where, policy, message, line);
        goto cleanup;
    }
    policy = NULL;
    if (len == 0
        || (rc != CORSGATE_RESULT_INVALID_POLICY
            && rc != CORSGATE_RESULT_INVALID_JSON)) {
        text = corsgate_result_str(rc);
        cg_log_refusal(name, where, text, strlen(text), line, CG_LINE_CAP);
        goto cleanup;
    }
    for (start = 0; start < len && start < CG_MESSAGE_CAP; start = end + 1) {
        for (end = start; end < len && end < CG_MESSAGE_CAP; end++) {
            if (message[end] == '\n') {
                break;
            }
        }
        cg_log_refusal(name, where, message + start, end - start, line,
                       CG_LINE_CAP);
    }
    if (len > CG_MESSAGE_CAP) {
        text = "(message cut here)";
        cg_log_refusal(name, where, text, strlen(text), line, CG_LINE_CAP);
    }

cleanup:
    free(line);
    free(message);
    return policy;
}


static inline uint64_t
cg_length_bit(size_t len)
{
    return (uint64_t)1 << (len < 63 ? len : 63);
}


static uint64_t
cg_length_mask(const corsgate_slice *names, size_t n)
{
    uint64_t mask = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        mask |= cg_length_bit(names[i].len);
    }
    return mask;
}


/* cg_is_owned past the length check: compare with each owned name. */
static bool
cg_is_owned_name(corsgate_slice name)
{
    const uint8_t *owned;
    uint64_t x, y;
    size_t i, j;

    for (i = 0; i < cg_owned_names_len; i++) {
        if (cg_owned_names[i].len != name.len) {
            continue;
        }
        /* Eight bytes at a time, then the rest (no call to memcmp). */
        owned = cg_owned_names[i].ptr;
        for (j = 0; j + 8 <= name.len; j += 8) {
            memcpy(&x, owned + j, 8);
            memcpy(&y, name.ptr + j, 8);
            if (x != y) {
                break;
            }
        }
        if (j + 8 <= name.len) {
            continue;
        }
        while (j < name.len && owned[j] == name.ptr[j]) {
            j++;
        }
        if (j == name.len) {
            return true;
        }
    }
    return false;
}


/* Whether a lowercase header name is one corsgate owns:
 * corsgate_is_owned_header for lowercase names (a decision's, Envoy's),
 * without a call into the library; most names fail the length check. */
static inline bool
cg_is_owned(corsgate_slice name)
{
    return (cg_owned_name_lengths & cg_length_bit(name.len))
           && cg_is_owned_name(name);
}


/* pthread_key_create destructor: a thread's cached states. */
static void
cg_cache_free(void *arg)
{
    cg_cache *cache = arg;
    cg_filter *f;

    while (cache->head != NULL) {
        f = cache->head;
        cache->head = f->next;
        free(f);
    }
    free(cache);
}


CG_EXPORT const char *
envoy_dynamic_module_on_program_init(void)
{
    const corsgate_slice *names;
    size_t n;

    names = corsgate_request_header_names(&n);
    cg_request_name_lengths = cg_length_mask(names, n);
    cg_owned_names = corsgate_owned_header_names(&cg_owned_names_len);
    cg_owned_name_lengths = cg_length_mask(cg_owned_names, cg_owned_names_len);
    cg_cache_usable = pthread_key_create(&cg_cache_key, cg_cache_free) == 0;
    return ENVOY_DM_ABI_VERSION;
}


/* One entry per outcome corsgate can decide: its reply details, and its
 * counter "decisions.kind.<kind>.reason.<reason>". The counters are plain
 * ones, incremented by id; a labelled counter would have Envoy resolve its
 * label values to stat names on every request. The /stats names are those
 * labels would give; stats_tags in Envoy's bootstrap turn them back into
 * Prometheus labels. False when out of memory. */
static bool
cg_prepare_outcomes(envoy_dm_config_envoy config_envoy, cg_config *cfg)
{
    const corsgate_outcome *all;
    cg_outcome *o;
    char name[CG_COUNTER_NAME_CAP];
    size_t len, i;
    int n;

    all = corsgate_outcomes(&len);
    cfg->outcomes = calloc(len, sizeof(*cfg->outcomes));
    if (cfg->outcomes == NULL) {
        return false;
    }
    cfg->outcomes_len = len;
    cfg->counted = true;
    for (i = 0; i < len; i++) {
        o = &cfg->outcomes[i];
        n = snprintf(o->details, sizeof(o->details), "corsgate_%s",
                     corsgate_reason_str(all[i].reason));
        o->details_len = n > 0 && (size_t)n < sizeof(o->details)
                             ? (size_t)n : strlen("corsgate");
        n = snprintf(name, sizeof(name), "decisions.kind.%s.reason.%s",
                     corsgate_kind_str(all[i].kind),
                     corsgate_reason_str(all[i].reason));
        cfg->counted =
            cfg->counted && n > 0 && (size_t)n < sizeof(name)
            && envoy_dynamic_module_callback_http_filter_config_define_counter(
                   config_envoy, (envoy_dm_buffer){name, (size_t)n}, NULL, 0,
                   &o->counter) == ENVOY_DM_METRICS_SUCCESS;
    }
    return true;
}


CG_EXPORT envoy_dm_config_module
envoy_dynamic_module_on_http_filter_config_new(envoy_dm_config_envoy
                                               config_envoy,
                                               envoy_dm_buffer name,
                                               envoy_dm_buffer config)
{
    cg_config *cfg = NULL;

    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        goto fail;
    }
    cfg->policy = cg_compile(name, config, "filter_config");
    /* Counters can only be defined here (Envoy freezes them afterwards);
     * per-route policies count into the listener filter's counters. */
    if (cfg->policy == NULL || !cg_prepare_outcomes(config_envoy, cfg)) {
        goto fail;
    }
    if (!cfg->counted) {
        static const char msg[] = "corsgate: could not define the "
                                  "'decisions' counters; continuing "
                                  "without them";
        cg_log(ENVOY_DM_LOG_WARN, msg, sizeof(msg) - 1, __LINE__);
    }
    return cfg;

fail:
    if (cfg != NULL) {
        corsgate_policy_free(cfg->policy);
        free(cfg->outcomes);
    }
    free(cfg);
    return NULL;
}


CG_EXPORT void
envoy_dynamic_module_on_http_filter_config_destroy(envoy_dm_config_module
                                                   config)
{
    cg_config *cfg = (cg_config *)config;

    if (cfg != NULL) {
        corsgate_policy_free(cfg->policy);
        free(cfg->outcomes);
        free(cfg);
    }
}


/* A route's (or virtual host's) module object is its compiled policy. */
CG_EXPORT envoy_dm_route_module
envoy_dynamic_module_on_http_filter_per_route_config_new(envoy_dm_buffer name,
                                                         envoy_dm_buffer
                                                         config)
{
    corsgate_policy *policy = cg_compile(name, config,
                                         "per-route filter_config");

    if (policy != NULL) {
        atomic_fetch_add_explicit(&cg_route_policies, 1,
                                  memory_order_relaxed);
    }
    return policy;
}


CG_EXPORT void
envoy_dynamic_module_on_http_filter_per_route_config_destroy(
    envoy_dm_route_module route)
{
    if (route != NULL) {
        corsgate_policy_free((corsgate_policy *)route);
        atomic_fetch_sub_explicit(&cg_route_policies, 1,
                                  memory_order_relaxed);
    }
}


CG_EXPORT envoy_dm_filter_module
envoy_dynamic_module_on_http_filter_new(envoy_dm_config_module config,
                                        envoy_dm_filter_envoy filter_envoy)
{
    cg_cache *cache;
    cg_filter *f;

    (void)filter_envoy;
#ifdef CORSGATE_ENVOY_EMPTY_HOOKS
    /* scripts/bench-envoy --instructions only: a module whose hooks do
     * nothing keeps nothing per stream (any non-NULL pointer will do). */
    return config;
#endif
    cache = cg_cache_usable ? pthread_getspecific(cg_cache_key) : NULL;
    if (cache != NULL && cache->head != NULL) {
        f = cache->head;
        cache->head = f->next;
        cache->len--;
    } else {
        f = malloc(sizeof(*f));
        if (f == NULL) {
            return NULL;
        }
    }
    f->config = config;
    f->spill = NULL;
    f->pending = false;
    return f;
}


CG_EXPORT void
envoy_dynamic_module_on_http_filter_destroy(envoy_dm_filter_module filter)
{
    cg_filter *f = (cg_filter *)filter;
    cg_cache *cache = NULL;

#ifdef CORSGATE_ENVOY_EMPTY_HOOKS
    return;
#endif
    if (f == NULL) {
        return;
    }
    free(f->spill);
    if (cg_cache_usable) {
        cache = pthread_getspecific(cg_cache_key);
        if (cache == NULL) {
            cache = calloc(1, sizeof(*cache));
            if (cache != NULL
                && pthread_setspecific(cg_cache_key, cache) != 0) {
                free(cache);
                cache = NULL;
            }
        }
    }
    if (cache != NULL && cache->len < CG_CACHE_MAX) {
        f->next = cache->head;
        cache->head = f;
        cache->len++;
    } else {
        free(f);
    }
}


/* Every line of a header map, in one call: into `stack` when it fits,
 * else into a heap array the caller frees (*heap). False, with a log line,
 * when the lines cannot be read. */
static bool
cg_get_lines(envoy_dm_filter_envoy env, envoy_dm_header_kind kind,
             envoy_dm_envoy_header *stack, envoy_dm_envoy_header **heap,
             const envoy_dm_envoy_header **lines, size_t *len)
{
    static const char msg[] = "corsgate: could not read the header lines";
    envoy_dm_envoy_header *out = stack;

    *heap = NULL;
    *len = envoy_dynamic_module_callback_http_get_headers_size(env, kind);
    if (*len > CG_LINES_ON_STACK) {
        out = *heap = malloc(*len * sizeof(*out));
    }
    *lines = out;
    if (*len > 0
        && (out == NULL
            || !envoy_dynamic_module_callback_http_get_headers(env, kind,
                                                               out))) {
        cg_log(ENVOY_DM_LOG_ERROR, msg, sizeof(msg) - 1, __LINE__);
        *len = 0;
        return false;
    }
    return true;
}


#ifdef CORSGATE_ENVOY_REQUEST_BY_NAME
/* Alternative measured by scripts/bench-envoy --instructions
 * (BENCH_ALTERNATIVES=1), not built otherwise: the method and each name
 * corsgate reads, one get_header call each, instead of the whole list.
 * Envoy builds a lowercase copy of every name it is asked for (heap-
 * allocated past 22 bytes) before looking it up, which costs more than
 * reading every line. */
static void
cg_read_request(envoy_dm_filter_envoy env, corsgate_request *req)
{
    const corsgate_slice *names;
    envoy_dm_buffer v = {NULL, 0};
    size_t n, i, j, count = 0;

    envoy_dynamic_module_callback_http_get_header(
        env, ENVOY_DM_REQUEST_HEADERS, CG_BUF(":method"), &v, 0, &count);
    corsgate_request_init(req, (const uint8_t *)v.ptr, v.length);
    names = corsgate_request_header_names(&n);
    for (i = 0; i < n; i++) {
        count = 0;
        v = (envoy_dm_buffer){NULL, 0};
        envoy_dynamic_module_callback_http_get_header(
            env, ENVOY_DM_REQUEST_HEADERS, CG_SLICE_BUF(names[i]), &v, 0,
            &count);
        for (j = 0; j < count; j++) {
            if (j > 0) {
                envoy_dynamic_module_callback_http_get_header(
                    env, ENVOY_DM_REQUEST_HEADERS, CG_SLICE_BUF(names[i]), &v,
                    j, NULL);
            }
            corsgate_request_add_header(req, names[i].ptr, names[i].len,
                                        (const uint8_t *)v.ptr, v.length);
        }
    }
}
#else
static bool
cg_name_is(const envoy_dm_envoy_header *line, const char *name, size_t len)
{
    return line->key_length == len && memcmp(line->key_ptr, name, len) == 0;
}


/* Offer corsgate every request line whose name could be one it reads (see
 * cg_request_name_lengths), in order; it keeps the ones it reads. The
 * slices borrow Envoy's memory, valid until this hook returns. Lines that
 * cannot be read leave a request without Origin: nothing is allowed. */
static void
cg_read_request(envoy_dm_filter_envoy env, corsgate_request *req)
{
    envoy_dm_envoy_header stack[CG_LINES_ON_STACK], *heap;
    const envoy_dm_envoy_header *lines;
    size_t len, i;

    cg_get_lines(env, ENVOY_DM_REQUEST_HEADERS, stack, &heap, &lines, &len);
    i = 0;
    while (i < len && !cg_name_is(&lines[i], ":method", 7)) {
        i++;
    }
    if (i < len) {
        corsgate_request_init(req, (const uint8_t *)lines[i].value_ptr,
                              lines[i].value_length);
    } else {
        corsgate_request_init(req, NULL, 0);
    }
    for (i = 0; i < len; i++) {
        if (cg_request_name_lengths & cg_length_bit(lines[i].key_length)) {
            corsgate_request_add_header(
                req, (const uint8_t *)lines[i].key_ptr, lines[i].key_length,
                (const uint8_t *)lines[i].value_ptr, lines[i].value_length);
        }
    }
    free(heap);
}
#endif


#ifdef CORSGATE_ENVOY_RESPONSE_BY_NAME
/* Alternative measured by scripts/bench-envoy --instructions
 * (BENCH_ALTERNATIVES=1), not built otherwise: one get_header call per
 * owned name instead of reading the response's lines. */
static bool
cg_response_has_owned(envoy_dm_filter_envoy env)
{
    const corsgate_slice *owned;
    envoy_dm_buffer v;
    size_t n, i, count;

    owned = corsgate_owned_header_names(&n);
    for (i = 0; i < n; i++) {
        count = 0;
        envoy_dynamic_module_callback_http_get_header(
            env, ENVOY_DM_RESPONSE_HEADERS, CG_SLICE_BUF(owned[i]), &v, 0,
            &count);
        if (count > 0) {
            return true;
        }
    }
    return false;
}
#else
/* True when the response has a header corsgate owns, or may have one (its
 * lines cannot be read). */
static bool
cg_response_has_owned(envoy_dm_filter_envoy env)
{
    envoy_dm_envoy_header stack[CG_LINES_ON_STACK], *heap;
    const envoy_dm_envoy_header *lines;
    size_t len, i;
    bool found;

    found = !cg_get_lines(env, ENVOY_DM_RESPONSE_HEADERS, stack, &heap,
                          &lines, &len);
    /* Envoy keeps every header name lowercase (its header maps take only
     * lowercase keys), so the exact compare of cg_is_owned is
     * corsgate_is_owned_header here. */
    for (i = 0; i < len && !found; i++) {
        found = cg_is_owned((corsgate_slice){
            (const uint8_t *)lines[i].key_ptr, lines[i].key_length});
    }
    free(heap);
    return found;
}
#endif


/* Count the decision by kind and reason; log denials at debug level.
 * Returns its outcome entry, NULL for a pair corsgate_outcomes lacks. */
static const cg_outcome *
cg_record(envoy_dm_filter_envoy env, const cg_config *cfg,
          const corsgate_decision *d)
{
    size_t i = corsgate_outcome_index(d->kind, d->reason);
    const cg_outcome *o = i < cfg->outcomes_len ? &cfg->outcomes[i] : NULL;
    corsgate_slice detail;
    char line[256];
    int n;

    if (o != NULL && cfg->counted) {
        envoy_dynamic_module_callback_http_filter_increment_counter(
            env, o->counter, NULL, 0, 1);
    }
    if (d->verdict == CORSGATE_VERDICT_DENIED
        && envoy_dynamic_module_callback_log_enabled(ENVOY_DM_LOG_DEBUG)) {
        detail = corsgate_decision_detail(d);
        n = snprintf(line, sizeof(line), "corsgate: denied %s: %s%s%.*s%s",
                     corsgate_kind_str(d->kind),
                     corsgate_reason_str(d->reason), detail.len ? " (" : "",
                     (int)(detail.len < 128 ? detail.len : 128),
                     detail.len ? (const char *)detail.ptr : "",
                     detail.len ? ")" : "");
        if (n > 0) {
            cg_log(ENVOY_DM_LOG_DEBUG, line,
                   (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1,
                   __LINE__);
        }
    }
    return o;
}


/* Keep the headers of decision `d` in `f` for the response hook (see
 * cg_filter): values inside `d` are copied into f->bytes when `copy`,
 * else left pointing into `d` (a heap copy that lives as long as `f`).
 * False when they do not fit. */
static bool
cg_keep(cg_filter *f, const corsgate_decision *d, bool copy)
{
    uintptr_t lo = (uintptr_t)d;
    corsgate_header *h;
    size_t i, used = 0;

    f->strip_upstream = d->strip_upstream;
    for (i = 0; i < d->headers_len && i < CORSGATE_DECISION_MAX_HEADERS;
         i++) {
        h = &f->headers[i];
        if (corsgate_decision_header(d, i, h) != CORSGATE_RESULT_OK) {
            break;
        }
        if (copy && h->value.len > 0
            && (uintptr_t)h->value.ptr - lo < sizeof(*d)) {
            if (h->value.len > CG_KEPT_BYTES - used) {
                return false;
            }
            memcpy(f->bytes + used, h->value.ptr, h->value.len);
            h->value.ptr = f->bytes + used;
            used += h->value.len;
        }
    }
    f->headers_len = i;
    return true;
}


/* Keep a CONTINUE decision for the response hook; if it is too big for
 * the stream's state and its copy cannot be allocated, keep corsgate's
 * safe denial instead (strip the upstream's CORS headers, add none). */
static void
cg_keep_decision(cg_filter *f, const corsgate_decision *d)
{
    static const char msg[] = "corsgate: out of memory keeping a decision; "
                              "writing no CORS headers";

    f->pending = true;
    if (cg_keep(f, d, true)) {
        return;
    }
    f->spill = malloc(sizeof(*f->spill));
    if (f->spill != NULL) {
        memcpy(f->spill, d, sizeof(*d));
        cg_keep(f, f->spill, false);
        return;
    }
    cg_log(ENVOY_DM_LOG_ERROR, msg, sizeof(msg) - 1, __LINE__);
    f->strip_upstream = true;
    f->headers_len = 0;
}


CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_request_headers(envoy_dm_filter_envoy env,
                                                    envoy_dm_filter_module
                                                    filter,
                                                    bool end_of_stream)
{
    cg_filter *f = (cg_filter *)filter;
    const corsgate_policy *policy;
    corsgate_request req;
    corsgate_decision d;
    corsgate_result rc;
    envoy_dm_header out[CORSGATE_DECISION_MAX_HEADERS];
    corsgate_header h;
    const cg_outcome *o;
    const char *reason;
    envoy_dm_buffer details = CG_BUF("corsgate");
    size_t n;

    (void)end_of_stream;
#ifdef CORSGATE_ENVOY_EMPTY_HOOKS
    /* scripts/bench-envoy --instructions only: what Envoy spends on calling
     * a dynamic module whose hooks do nothing. */
    return ENVOY_DM_CONTINUE;
#endif
    policy = NULL;
    if (atomic_load_explicit(&cg_route_policies, memory_order_relaxed) > 0) {
        policy =
            envoy_dynamic_module_callback_get_most_specific_route_config(env);
    }
    if (policy == NULL) {
        policy = f->config->policy;
    }

    cg_read_request(env, &req);
    /* On any failure corsgate writes its safe denial (strip the upstream's
     * CORS headers, add none): applied and counted like any decision. */
    rc = corsgate_evaluate(policy, &req, &d);
    if (rc != CORSGATE_RESULT_OK) {
        reason = corsgate_result_str(rc);
        cg_log(ENVOY_DM_LOG_ERROR, reason, strlen(reason), __LINE__);
    }
    o = cg_record(env, f->config, &d);

    if (d.action == CORSGATE_ACTION_CONTINUE) {
        cg_keep_decision(f, &d);
    }
    if (d.action != CORSGATE_ACTION_RESPOND) {
        return ENVOY_DM_CONTINUE;
    }
    for (n = 0; n < d.headers_len && n < CORSGATE_DECISION_MAX_HEADERS
                && corsgate_decision_header(&d, n, &h) == CORSGATE_RESULT_OK;
         n++) {
        out[n] = (envoy_dm_header){(const char *)h.name.ptr, h.name.len,
                                   (const char *)h.value.ptr, h.value.len};
    }
    if (o != NULL) {
        details = (envoy_dm_buffer){o->details, o->details_len};
    }
    /* Envoy copies everything; this stream's state is not touched after. */
    cg_respond(env, d.status, out, n, details);
    return ENVOY_DM_STOP_ITERATION;
}


/* Runs for the upstream's response and for Envoy's own local replies
 * (direct_response, 503 no healthy upstream, ...), not for ours. */
CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_response_headers(envoy_dm_filter_envoy env,
                                                     envoy_dm_filter_module
                                                     filter,
                                                     bool end_of_stream)
{
    const cg_filter *f = (const cg_filter *)filter;
    const corsgate_slice *owned;
    const corsgate_header *h;
    size_t i, n;

    (void)end_of_stream;
#ifdef CORSGATE_ENVOY_EMPTY_HOOKS
    return ENVOY_DM_CONTINUE;
#endif
    if (!f->pending) {
        return ENVOY_DM_CONTINUE;
    }
    /* Most upstreams send no CORS headers: look before removing. */
    if (f->strip_upstream && cg_response_has_owned(env)) {
        owned = corsgate_owned_header_names(&n);
        for (i = 0; i < n; i++) {
            envoy_dynamic_module_callback_http_set_header(
                env, ENVOY_DM_RESPONSE_HEADERS, CG_SLICE_BUF(owned[i]),
                (envoy_dm_buffer){NULL, 0});
        }
    }
    for (i = 0; i < f->headers_len; i++) {
        h = &f->headers[i];
        /* Once the owned names are gone, adding one is setting it, and
         * cheaper: Envoy's set first searches for the name to replace. */
#ifdef CORSGATE_ENVOY_SET_OWNED
        /* Alternative measured by scripts/bench-envoy --instructions
         * (BENCH_ALTERNATIVES=1): set (replace) every owned header. */
        if (h->op == CORSGATE_HEADER_OP_APPEND)
#else
        if (h->op == CORSGATE_HEADER_OP_APPEND
            || (f->strip_upstream && cg_is_owned(h->name)))
#endif
        {
            envoy_dynamic_module_callback_http_add_header(
                env, ENVOY_DM_RESPONSE_HEADERS, CG_SLICE_BUF(h->name),
                CG_SLICE_BUF(h->value));
        } else {
            envoy_dynamic_module_callback_http_set_header(
                env, ENVOY_DM_RESPONSE_HEADERS, CG_SLICE_BUF(h->name),
                CG_SLICE_BUF(h->value));
        }
    }
    return ENVOY_DM_CONTINUE;
}


/* ---- Hooks that Envoy requires and corsgate has no use for ---------- */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"

/* Told before any local reply; there is no header map to write to yet.
 * Envoy's own replies (direct_response, 503 no healthy upstream, ...) come
 * through response_headers above; ours are complete when sent. */
CG_EXPORT envoy_dm_local_reply_status
envoy_dynamic_module_on_http_filter_local_reply(envoy_dm_filter_envoy env,
                                                envoy_dm_filter_module filter,
                                                uint32_t response_code,
                                                envoy_dm_buffer details,
                                                bool reset_imminent)
{
    return ENVOY_DM_LOCAL_REPLY_CONTINUE;
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_stream_complete(envoy_dm_filter_envoy env,
                                                    envoy_dm_filter_module
                                                    filter)
{
}

CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_request_body(envoy_dm_filter_envoy env,
                                                 envoy_dm_filter_module filter,
                                                 bool end_of_stream)
{
    return ENVOY_DM_CONTINUE;
}

CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_request_trailers(envoy_dm_filter_envoy env,
                                                     envoy_dm_filter_module
                                                     filter)
{
    return ENVOY_DM_CONTINUE;
}

CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_response_body(envoy_dm_filter_envoy env,
                                                  envoy_dm_filter_module
                                                  filter,
                                                  bool end_of_stream)
{
    return ENVOY_DM_CONTINUE;
}

CG_EXPORT envoy_dm_status
envoy_dynamic_module_on_http_filter_response_trailers(envoy_dm_filter_envoy env,
                                                      envoy_dm_filter_module
                                                      filter)
{
    return ENVOY_DM_CONTINUE;
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_callout_done(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id,
    uint32_t result, envoy_dm_header *headers, size_t headers_size,
    envoy_dm_buffer *body_chunks, size_t body_chunks_size)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_stream_headers(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id,
    envoy_dm_header *headers, size_t headers_size, bool end_stream)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_stream_data(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id,
    const envoy_dm_buffer *data, size_t data_count, bool end_stream)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_stream_trailers(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id,
    envoy_dm_header *trailers, size_t trailers_size)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_stream_complete(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_http_stream_reset(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter, uint64_t id,
    uint32_t reason)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_scheduled(envoy_dm_filter_envoy env,
                                              envoy_dm_filter_module filter,
                                              uint64_t event_id)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter)
{
}

CG_EXPORT void
envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    envoy_dm_filter_envoy env, envoy_dm_filter_module filter)
{
}

#pragma GCC diagnostic pop
