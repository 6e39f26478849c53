/* policy_check: decide one request with a corsgate policy, from C.
 *
 *   policy_check POLICY.json ORIGIN METHOD [REQUEST-METHOD [REQUEST-HEADERS]]
 *
 * ORIGIN "-" sends no Origin; REQUEST-METHOD and REQUEST-HEADERS become
 * Access-Control-Request-Method / -Headers (with METHOD OPTIONS, that is a
 * preflight). Prints the verdict, the reason and the headers to write.
 * Exit status: 0 allowed or not CORS, 1 denied, 2 bad policy or arguments.
 *
 * Build (from the repository, after `cargo build --release --lib`):
 *   cc -std=c11 -Iinclude examples/c/policy_check.c \
 *      target/release/libcorsgate.a -lpthread -ldl -lm -o policy_check
 * or against an installed corsgate:
 *   cc examples/c/policy_check.c $(pkg-config --cflags --libs corsgate)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corsgate.h"

/* Reads a whole file into a new buffer; NULL on error (errno set). */
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
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            bigger = realloc(data, cap);
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
    *len_out = len;
    return data;

fail:
    if (f != NULL) {
        fclose(f);
    }
    free(data);
    return NULL;
}

/* Compiles the policy in `path`. On a bad policy, prints corsgate's
 * message (every problem, one per line, each naming the field and the
 * fix) and returns NULL. The caller owns the policy it returns. */
static corsgate_policy *
load_policy(const char *path)
{
    corsgate_policy *policy = NULL;
    uint8_t *message = NULL;
    size_t json_len = 0, message_cap = 256, message_len = 0;
    char *json = NULL;
    corsgate_result rc;

    json = read_file(path, &json_len);
    if (json == NULL) {
        perror(path);
        goto cleanup;
    }
    message = malloc(message_cap);
    if (message == NULL) {
        goto cleanup;
    }
    rc = corsgate_policy_from_json((const uint8_t *)json, json_len, &policy,
                                   message, message_cap, &message_len);
    if (rc == CORSGATE_RESULT_INVALID_POLICY
        || rc == CORSGATE_RESULT_INVALID_JSON) {
        /* The message was cut at message_cap, but message_len is its
         * full length: make room and ask again to print all of it. */
        if (message_len > message_cap) {
            uint8_t *bigger = realloc(message, message_len);

            if (bigger != NULL) {
                message = bigger;
                message_cap = message_len;
                rc = corsgate_policy_from_json((const uint8_t *)json, json_len,
                                               &policy, message, message_cap,
                                               &message_len);
            }
        }
        fprintf(stderr, "policy_check: %s: %s:\n%.*s\n", path,
                corsgate_result_str(rc),
                (int)(message_len < message_cap ? message_len : message_cap),
                (const char *)message);
        goto cleanup;
    }
    if (rc != CORSGATE_RESULT_OK) {
        fprintf(stderr, "policy_check: %s: %s\n", path,
                corsgate_result_str(rc));
    }

cleanup:
    /* The policy keeps nothing of the document or the message. */
    free(message);
    free(json);
    return policy;
}

/* Decides one request and prints the decision. Takes the policy as
 * const: a compiled policy is immutable, so any number of threads may
 * run this at once with the same policy, with no locking. Returns the
 * exit status. */
static int
check_request(const corsgate_policy *policy, const char *origin,
              const char *method, const char *request_method,
              const char *request_headers)
{
    /* The request borrows the caller's bytes until corsgate_evaluate
     * returns; nothing is copied, nothing is allocated. */
    corsgate_request request;
    /* The decision holds what it needs of the request; it may be copied
     * like any struct. Its headers and detail are read through accessors. */
    corsgate_decision decision;
    corsgate_header header;
    corsgate_slice detail;
    corsgate_result rc;

    corsgate_request_init(&request, (const uint8_t *)method, strlen(method));
    /* A host offers every header line it received, by name; corsgate keeps
     * the ones it reads (and counts duplicates, which it denies). */
    if (origin != NULL) {
        corsgate_request_add_header(&request, (const uint8_t *)"Origin", 6,
                                    (const uint8_t *)origin, strlen(origin));
    }
    if (request_method != NULL) {
        corsgate_request_add_header(
            &request, (const uint8_t *)"Access-Control-Request-Method", 29,
            (const uint8_t *)request_method, strlen(request_method));
    }
    if (request_headers != NULL) {
        corsgate_request_add_header(
            &request, (const uint8_t *)"Access-Control-Request-Headers", 30,
            (const uint8_t *)request_headers, strlen(request_headers));
    }

    rc = corsgate_evaluate(policy, &request, &decision);
    if (rc != CORSGATE_RESULT_OK) {
        /* On any failure the decision is the safe denial, which a proxy
         * would apply like any other; this tool reports the error. */
        fprintf(stderr, "policy_check: evaluate: %s\n",
                corsgate_result_str(rc));
        return 2;
    }

    printf("verdict: %s\n", corsgate_verdict_str(decision.verdict));
    printf("kind:    %s\n", corsgate_kind_str(decision.kind));
    printf("reason:  %s", corsgate_reason_str(decision.reason));
    detail = corsgate_decision_detail(&decision);
    if (detail.len > 0) {
        printf(" (%.*s)", (int)detail.len, (const char *)detail.ptr);
    }
    printf("\n");
    if (decision.report_only) {
        printf("action:  none (report mode: record the outcome only)\n");
    } else if (decision.action == CORSGATE_ACTION_RESPOND) {
        printf("action:  respond now with %u and an empty body\n",
               (unsigned)decision.status);
    } else {
        printf("action:  continue to the upstream%s\n",
               decision.strip_upstream ? "; remove its Access-Control-* headers"
                                       : "");
    }
    /* Slices are not NUL-terminated: print them with their length. */
    for (size_t i = 0;
         corsgate_decision_header(&decision, i, &header) == CORSGATE_RESULT_OK;
         i++) {
        printf("  %.*s: %.*s%s\n", (int)header.name.len,
               (const char *)header.name.ptr, (int)header.value.len,
               (const char *)header.value.ptr,
               header.op == CORSGATE_HEADER_OP_APPEND ? "  (append)" : "");
    }
    return decision.verdict == CORSGATE_VERDICT_DENIED ? 1 : 0;
}

int
main(int argc, char **argv)
{
    corsgate_policy *policy = NULL;
    int status = 2;

    if (argc < 4 || argc > 6) {
        fprintf(stderr,
                "usage: %s POLICY.json ORIGIN|- METHOD "
                "[REQUEST-METHOD [REQUEST-HEADERS]]\n",
                argc > 0 ? argv[0] : "policy_check");
        return 2;
    }
    /* A program built against one ABI must not run on another. */
    if (corsgate_abi_version() != CORSGATE_ABI_VERSION) {
        fprintf(stderr, "policy_check: %s has ABI %u, built for %u\n",
                corsgate_version(), (unsigned)corsgate_abi_version(),
                (unsigned)CORSGATE_ABI_VERSION);
        return 2;
    }

    /* 1. Load: compile once, at start (or at configuration reload). */
    policy = load_policy(argv[1]);
    if (policy == NULL) {
        goto cleanup;
    }

    /* 2. Share: hand the same const policy to every request (and thread). */
    status = check_request(policy, strcmp(argv[2], "-") == 0 ? NULL : argv[2],
                           argv[3], argc > 4 ? argv[4] : NULL,
                           argc > 5 ? argv[5] : NULL);

cleanup:
    /* 3. Free: once, after the last request that uses it has finished.
     * Decisions borrow header values from the policy, so none may be used
     * after this. corsgate_policy_free(NULL) is a no-op. */
    corsgate_policy_free(policy);
    return status;
}
