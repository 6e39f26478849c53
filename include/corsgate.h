/* DRAFT contract, hand-written; will be replaced by the cbindgen output of
 * src/ffi with the same names, values and semantics. */
#ifndef CORSGATE_H
#define CORSGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORSGATE_ABI_VERSION 1
/* Most lines of Access-Control-Request-Headers kept by corsgate_request. */
#define CORSGATE_REQUEST_HEADERS_MAX_LINES 8
/* Most headers one decision asks the caller to write. */
#define CORSGATE_DECISION_MAX_HEADERS 8
/* Longest Origin accepted; longer ones are denied (ORIGIN_TOO_LONG). */
#define CORSGATE_ORIGIN_MAX_LEN 512

/* Result codes: 0 = OK; groups never reused. */
enum corsgate_result {
    CORSGATE_RESULT_OK = 0,
    CORSGATE_RESULT_NULL_PARAMETER = 1,
    CORSGATE_RESULT_PANIC = 2,
    CORSGATE_RESULT_INVALID_POLICY = 100, /* message buffer says why */
    CORSGATE_RESULT_INVALID_JSON = 101,   /* message buffer says why */
    CORSGATE_RESULT_UNKNOWN_FIELD = 102,  /* builder: no such policy field */
};
typedef uint32_t corsgate_result;

enum corsgate_verdict {
    CORSGATE_VERDICT_NOT_CORS = 0, /* no Origin: pass through */
    CORSGATE_VERDICT_ALLOWED = 1,
    CORSGATE_VERDICT_DENIED = 2,
};
typedef uint32_t corsgate_verdict;

enum corsgate_kind {
    CORSGATE_KIND_NOT_CORS = 0,
    CORSGATE_KIND_PREFLIGHT = 1,
    CORSGATE_KIND_ACTUAL = 2,
};
typedef uint32_t corsgate_kind;

enum corsgate_action {
    /* Let the request go on; on its response, remove the owned headers if
     * strip_upstream, then write `headers`. */
    CORSGATE_ACTION_CONTINUE = 0,
    /* Answer now with `status`, an empty body and `headers`; the upstream
     * never runs. */
    CORSGATE_ACTION_RESPOND = 1,
};
typedef uint32_t corsgate_action;

enum corsgate_reason {
    CORSGATE_REASON_NOT_CORS = 0,
    CORSGATE_REASON_ALLOWED = 1,
    CORSGATE_REASON_ORIGIN_NOT_ALLOWED = 10,
    CORSGATE_REASON_ORIGIN_MALFORMED = 11,
    CORSGATE_REASON_ORIGIN_TOO_LONG = 12,
    CORSGATE_REASON_ORIGIN_DUPLICATED = 13,
    CORSGATE_REASON_ORIGIN_NULL = 14,
    CORSGATE_REASON_METHOD_NOT_ALLOWED = 20,
    CORSGATE_REASON_METHOD_MALFORMED = 21,
    CORSGATE_REASON_METHOD_DUPLICATED = 22,
    CORSGATE_REASON_HEADER_NOT_ALLOWED = 30,
    CORSGATE_REASON_HEADERS_MALFORMED = 31,
    CORSGATE_REASON_HEADERS_TOO_LONG = 32,
    CORSGATE_REASON_TOO_MANY_HEADERS = 33,
    CORSGATE_REASON_TOO_MANY_HEADER_LINES = 34,
    CORSGATE_REASON_INTERNAL_ERROR = 90,
};
typedef uint32_t corsgate_reason;

enum corsgate_header_op {
    CORSGATE_HEADER_OP_SET = 0,    /* replace any existing value */
    CORSGATE_HEADER_OP_APPEND = 1, /* add another value (Vary) */
};
typedef uint32_t corsgate_header_op;

/* A borrowed byte string; (NULL, 0) is empty. */
typedef struct corsgate_slice {
    const uint8_t *ptr;
    size_t len;
} corsgate_slice;

typedef struct corsgate_header {
    corsgate_slice name;  /* lowercase, static */
    corsgate_slice value; /* borrowed from the policy or the decision */
    corsgate_header_op op;
} corsgate_header;

/* The request, as the caller sees it. Fill with corsgate_request_init and
 * corsgate_request_add_header; slices borrow the caller's header memory and
 * must stay valid until corsgate_evaluate returns. */
typedef struct corsgate_request {
    corsgate_slice method;
    corsgate_slice origin;             /* first Origin line */
    uint32_t origin_lines;             /* how many Origin lines were seen */
    corsgate_slice request_method;     /* first A-C-Request-Method line */
    uint32_t request_method_lines;
    corsgate_slice request_headers[CORSGATE_REQUEST_HEADERS_MAX_LINES];
    uint32_t request_headers_lines;    /* lines seen, may exceed the array */
} corsgate_request;

/* What to do. Self-contained: values that come from the request (the
 * reflected origin, the offending name) are copied into `storage`, so the
 * decision stays valid after the request's headers are gone -- as long as
 * the decision is not moved (evaluate into its final place) and the policy
 * is alive. */
typedef struct corsgate_decision {
    corsgate_verdict verdict;
    corsgate_kind kind;
    corsgate_reason reason;
    corsgate_action action;
    uint32_t status;                   /* for RESPOND: 204/200/403 */
    bool strip_upstream;               /* remove owned headers first */
    bool report_only;                  /* mode report: nothing to write */
    size_t headers_len;
    corsgate_header headers[CORSGATE_DECISION_MAX_HEADERS];
    corsgate_slice detail;             /* e.g. the header that was refused */
    uint8_t storage[640];              /* private */
} corsgate_decision;

typedef struct corsgate_policy corsgate_policy;   /* opaque, immutable */
typedef struct corsgate_builder corsgate_builder; /* opaque */

const char *corsgate_version(void);                 /* "corsgate/0.1.0" */
const char *corsgate_result_str(uint32_t result);   /* static */
const char *corsgate_reason_str(uint32_t reason);   /* static, "origin-not-allowed" */
const char *corsgate_verdict_str(uint32_t verdict); /* static, "allowed" */

/* Compile a policy from its JSON document. On INVALID_JSON/INVALID_POLICY,
 * up to message_cap bytes of the message (every error, one per line) go to
 * message_out (may be NULL) and *message_len_out gets the full length. */
corsgate_result corsgate_policy_from_json(const uint8_t *json, size_t json_len,
                                          corsgate_policy **policy_out,
                                          uint8_t *message_out,
                                          size_t message_cap,
                                          size_t *message_len_out);
void corsgate_policy_free(corsgate_policy *policy); /* NULL ok */
/* true when the policy answers every origin the same (Vary not needed) */
bool corsgate_policy_is_origin_independent(const corsgate_policy *policy);

/* Builder: the NGINX directives map one-to-one onto policy fields. */
corsgate_result corsgate_builder_new(corsgate_builder **builder_out);
void corsgate_builder_free(corsgate_builder *builder);
/* Set every field present in a JSON policy document (later sets win). */
corsgate_result corsgate_builder_merge_json(corsgate_builder *builder,
                                            const uint8_t *json, size_t json_len,
                                            uint8_t *message_out,
                                            size_t message_cap,
                                            size_t *message_len_out);
/* Set one field by its JSON name ("allow_origins", "max_age", ...) from
 * text values as written in a config file: lists take n values, scalars
 * one ("on"/"off"/"true"/"false", "600", "204", "reject", "enforce"...).
 * Values are checked at build. UNKNOWN_FIELD for a name not in the policy. */
corsgate_result corsgate_builder_set(corsgate_builder *builder,
                                     const uint8_t *field, size_t field_len,
                                     const corsgate_slice *values,
                                     size_t values_len);
corsgate_result corsgate_builder_build(const corsgate_builder *builder,
                                       corsgate_policy **policy_out,
                                       uint8_t *message_out,
                                       size_t message_cap,
                                       size_t *message_len_out);

void corsgate_request_init(corsgate_request *request, const uint8_t *method,
                           size_t method_len);
/* Offer one request header line; names are case-insensitive. Returns true
 * when corsgate reads this header, false when it ignores it. */
bool corsgate_request_add_header(corsgate_request *request,
                                 const uint8_t *name, size_t name_len,
                                 const uint8_t *value, size_t value_len);
/* The request header names corsgate reads (lowercase, static). */
const corsgate_slice *corsgate_request_header_names(size_t *len_out);
/* The response header names corsgate owns (strip_upstream removes these). */
const corsgate_slice *corsgate_owned_header_names(size_t *len_out);
bool corsgate_is_owned_header(const uint8_t *name, size_t name_len);

/* Evaluate one request. Never allocates. On OK or PANIC decision_out is
 * written (on PANIC: a safe denial with reason INTERNAL_ERROR). */
corsgate_result corsgate_evaluate(const corsgate_policy *policy,
                                  const corsgate_request *request,
                                  corsgate_decision *decision_out);

#endif
