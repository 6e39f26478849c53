/* corsgate-service: a small HTTP service in C (libmicrohttpd) whose CORS is
 * decided by corsgate.
 *
 *   corsgate-service POLICY.json PORT
 *
 * Compiles the policy once at start (a bad policy: the validation message
 * on stderr, exit status 2), listens on 127.0.0.1:PORT (0 picks a free
 * port; the first line on stdout says which) with a pool of threads that
 * share the compiled policy, and for every request:
 *   1. offers every request header line to a corsgate_request,
 *   2. calls corsgate_evaluate once,
 *   3. RESPOND (a preflight, or a request the policy rejects): answers
 *      with the decision's status, its headers and an empty body;
 *      CONTINUE: the application answers ({"ok":true} under /api/, 404
 *      elsewhere), then the CORS headers the application may have set are
 *      removed (strip_upstream) and the decision's headers are written.
 * SIGHUP reloads the policy file without stopping (a bad file: its
 * message on stderr, the old policy stays). The hot swap (ABI.md "Swapping
 * a policy"): each request takes its own reference to the current policy
 * under a mutex held only for that, evaluates and writes its response
 * with it, then releases it; the reload swaps the pointer under the same
 * mutex and releases the old one, which is freed when its last request
 * is done.
 * SIGINT or SIGTERM stops it: the daemon first, then the policy.
 *
 * No CORS rule is written here; everything comes from the decision. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include <corsgate.h>

#define THREADS 4

/* Room for the policy compiler's message; longer ones are asked again. */
#define MESSAGE_CAP 1024

/* Most response headers of one name removed at once (the application
 * sets a handful at most). */
#define REMOVE_MAX 16

static const char OK_BODY[] = "{\"ok\":true}\n";
static const char NOT_FOUND_BODY[] = "{\"error\":\"not found\"}\n";

/* What every connection thread shares. */
typedef struct service {
    pthread_mutex_t lock;    /* guards `policy` (the pointer) only */
    corsgate_policy *policy; /* the current policy: one reference held */
} service;

/* A reference to the current policy, for one request. */
static corsgate_policy *
current_policy(service *svc)
{
    corsgate_policy *policy;

    pthread_mutex_lock(&svc->lock);
    policy = corsgate_policy_retain(svc->policy);
    pthread_mutex_unlock(&svc->lock);
    return policy;
}

/* Makes `fresh` current; the old policy goes when its last request does. */
static void
swap_policy(service *svc, corsgate_policy *fresh)
{
    corsgate_policy *old;

    pthread_mutex_lock(&svc->lock);
    old = svc->policy;
    svc->policy = fresh;
    pthread_mutex_unlock(&svc->lock);
    corsgate_policy_release(old);
}


/* ---- policy -------------------------------------------------------- */

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

/* Compiles the policy file; on failure prints why and returns NULL. */
static corsgate_policy *
load_policy(const char *path)
{
    corsgate_policy *policy = NULL;
    uint8_t *message = NULL, *bigger;
    size_t json_len = 0, cap = MESSAGE_CAP, message_len = 0;
    char *json = NULL;
    corsgate_result rc;

    json = read_file(path, &json_len);
    if (json == NULL) {
        fprintf(stderr, "corsgate-service: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    message = malloc(cap);
    if (message == NULL) {
        fprintf(stderr, "corsgate-service: out of memory\n");
        goto cleanup;
    }
    rc = corsgate_policy_from_json((const uint8_t *)json, json_len, &policy,
                                   message, cap, &message_len);
    if (rc != CORSGATE_RESULT_OK && message_len > cap) {
        /* Cut at `cap`; message_len is the full length: ask again. */
        bigger = realloc(message, message_len);
        if (bigger != NULL) {
            message = bigger;
            cap = message_len;
            rc = corsgate_policy_from_json((const uint8_t *)json, json_len,
                                           &policy, message, cap, &message_len);
        }
    }
    if (rc != CORSGATE_RESULT_OK) {
        fprintf(stderr, "corsgate-service: %s: %s:\n%.*s\n", path,
                corsgate_result_str(rc),
                (int)(message_len < cap ? message_len : cap),
                (const char *)message);
        policy = NULL;
    }

cleanup:
    free(message);
    free(json);
    return policy;
}


/* ---- response headers ---------------------------------------------- */

/* A NUL-terminated copy of a slice (MHD takes C strings). */
static char *
slice_str(corsgate_slice s)
{
    char *str = malloc(s.len + 1);

    if (str != NULL) {
        if (s.len > 0) {
            memcpy(str, s.ptr, s.len);
        }
        str[s.len] = '\0';
    }
    return str;
}

typedef struct removal {
    const char *name; /* NULL: every header corsgate owns */
    size_t count;
    char *names[REMOVE_MAX];
    char *values[REMOVE_MAX];
} removal;

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
               const char *value)
{
    removal *r = cls;
    size_t key_len = strlen(key);
    bool match;

    (void)kind;
    if (r->name == NULL) {
        match = corsgate_is_owned_header((const uint8_t *)key, key_len);
    } else {
        match = strlen(r->name) == key_len;
        for (size_t i = 0; match && i < key_len; i++) {
            char a = key[i], b = r->name[i];

            a = (a >= 'A' && a <= 'Z') ? (char)(a - 'A' + 'a') : a;
            b = (b >= 'A' && b <= 'Z') ? (char)(b - 'A' + 'a') : b;
            match = a == b;
        }
    }
    if (!match || r->count == REMOVE_MAX) {
        return MHD_YES;
    }
    r->names[r->count] = malloc(key_len + 1);
    r->values[r->count] = malloc(strlen(value ? value : "") + 1);
    if (r->names[r->count] == NULL || r->values[r->count] == NULL) {
        free(r->names[r->count]);
        free(r->values[r->count]);
        return MHD_NO;
    }
    strcpy(r->names[r->count], key);
    strcpy(r->values[r->count], value ? value : "");
    r->count++;
    return MHD_YES;
}

/* Removes from `response` every header named `name` (any case), or with
 * `name` NULL every header corsgate owns (Access-Control-Allow-*, ...). */
static void
remove_headers(struct MHD_Response *response, const char *name)
{
    removal r;

    memset(&r, 0, sizeof(r));
    r.name = name;
    /* Collect first: deleting while MHD iterates is not allowed. */
    MHD_get_response_headers(response, collect_header, &r);
    for (size_t i = 0; i < r.count; i++) {
        MHD_del_response_header(response, r.names[i], r.values[i]);
        free(r.names[i]);
        free(r.values[i]);
    }
}

/* Applies a decision to a response: strip, then SET or APPEND each
 * header. Returns false when a header could not be written. */
static bool
apply_decision(struct MHD_Response *response, const corsgate_decision *d)
{
    bool ok = true;
    corsgate_header h;

    if (d->report_only) {
        return true; /* report mode: record only, change nothing */
    }
    if (d->strip_upstream) {
        remove_headers(response, NULL);
    }
    /* Each header is resolved at d's address: request bytes it echoes are
     * inside *d, the rest static or in the policy (still held). */
    for (size_t i = 0; corsgate_decision_header(d, i, &h) == CORSGATE_RESULT_OK;
         i++) {
        char *name = slice_str(h.name);
        char *value = slice_str(h.value);

        if (name == NULL || value == NULL) {
            ok = false;
        } else {
            if (h.op == CORSGATE_HEADER_OP_SET) {
                remove_headers(response, name);
            }
            /* APPEND (Vary) adds one more line; HTTP joins repeated
             * lines of a list header with commas. */
            ok =
                MHD_add_response_header(response, name, value) == MHD_YES && ok;
        }
        free(name);
        free(value);
    }
    return ok;
}


/* ---- the application ----------------------------------------------- */

static struct MHD_Response *
body_response(const char *body, size_t len, const char *type)
{
    struct MHD_Response *response;

    response = MHD_create_response_from_buffer(len, (void *)body,
                                               MHD_RESPMEM_PERSISTENT);
    if (response != NULL && type != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    return response;
}

/* What the service answers when CORS lets the request go on: {"ok":true}
 * to any method under /api/ (a plain OPTIONS, or a preflight the policy
 * forwards, included), 404 elsewhere. */
static struct MHD_Response *
app_response(const char *url, unsigned *status)
{
    struct MHD_Response *response;
    bool api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0;

    if (!api) {
        *status = MHD_HTTP_NOT_FOUND;
        return body_response(NOT_FOUND_BODY, sizeof(NOT_FOUND_BODY) - 1,
                             "application/json");
    }
    *status = MHD_HTTP_OK;
    response = body_response(OK_BODY, sizeof(OK_BODY) - 1, "application/json");
    if (response != NULL && strncmp(url, "/api/legacy", 11) == 0) {
        /* An old handler that hard-codes its own CORS header: corsgate
         * owns these headers and removes it (strip_upstream). */
        MHD_add_response_header(response, "Access-Control-Allow-Origin", "*");
    }
    return response;
}


/* ---- requests ------------------------------------------------------ */

static enum MHD_Result
offer_header(void *cls, enum MHD_ValueKind kind, const char *key,
             size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    /* Every line, in order; duplicates arrive one by one, and corsgate
     * counts them (two Origin lines are denied). The bytes stay in the
     * connection's memory until the request is done. */
    corsgate_request_add_header(cls, (const uint8_t *)key, key_size,
                                (const uint8_t *)value,
                                value != NULL ? value_size : 0);
    return MHD_YES;
}

/* Prints at most `max` bytes of untrusted text, non-printable as '?'. */
static void
log_text(FILE *out, const char *s, size_t max)
{
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        fputc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', out);
    }
}

static enum MHD_Result
handle_request(void *cls, struct MHD_Connection *connection, const char *url,
               const char *method, const char *version, const char *upload_data,
               size_t *upload_data_size, void **request_state)
{
    static int headers_seen;
    service *svc = cls;
    corsgate_policy *policy;
    struct MHD_Response *response = NULL;
    corsgate_request request;
    corsgate_decision decision;
    corsgate_result rc;
    enum MHD_Result ret = MHD_NO;
    unsigned status;

    (void)version;
    (void)upload_data;
    /* First call: headers only. Then the body, in pieces (discarded). */
    if (*request_state == NULL) {
        *request_state = &headers_seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    corsgate_request_init(&request, (const uint8_t *)method, strlen(method));
    MHD_get_connection_values_n(connection, MHD_HEADER_KIND, offer_header,
                                &request);
    /* This request's own reference: a SIGHUP reload may swap the policy
     * meanwhile; this one stays alive until released below. MHD copies
     * the header values, so nothing outlives this call. */
    policy = current_policy(svc);
    rc = corsgate_evaluate(policy, &request, &decision);
    if (rc != CORSGATE_RESULT_OK) {
        /* Any failure: the decision is the safe denial; apply it. */
        fprintf(stderr, "corsgate-service: evaluate: %s\n",
                corsgate_result_str(rc));
    }

    if (decision.action == CORSGATE_ACTION_RESPOND && !decision.report_only) {
        status = decision.status;
        response = body_response("", 0, NULL);
    } else {
        response = app_response(url, &status);
    }
    if (response != NULL && !apply_decision(response, &decision)) {
        fprintf(stderr, "corsgate-service: a CORS header was not written\n");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    corsgate_policy_release(policy);
    if (response == NULL) {
        return MHD_NO;
    }

    log_text(stderr, method, 16);
    fputc(' ', stderr);
    log_text(stderr, url, 200);
    fprintf(stderr, " -> %u %s %s %s%s\n", status,
            corsgate_kind_str(decision.kind),
            corsgate_verdict_str(decision.verdict),
            corsgate_reason_str(decision.reason),
            decision.report_only ? " (report)" : "");

    ret = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return ret;
}


/* ---- main ---------------------------------------------------------- */

int
main(int argc, char **argv)
{
    corsgate_policy *policy = NULL, *fresh;
    struct MHD_Daemon *daemon = NULL;
    const union MHD_DaemonInfo *info;
    struct sockaddr_in addr;
    service svc = {.policy = NULL};
    sigset_t stop;
    unsigned long port;
    char *end;
    int sig = 0, status = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s POLICY.json PORT\n",
                argc > 0 ? argv[0] : "corsgate-service");
        return 2;
    }
    errno = 0;
    port = strtoul(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || port > 65535) {
        fprintf(stderr, "corsgate-service: bad port '%s'\n", argv[2]);
        return 2;
    }
    if (corsgate_abi_version() != CORSGATE_ABI_VERSION) {
        fprintf(stderr, "corsgate-service: %s has ABI %u, built for %u\n",
                corsgate_version(), (unsigned)corsgate_abi_version(),
                (unsigned)CORSGATE_ABI_VERSION);
        return 2;
    }

    /* Compile once; every connection thread then shares it. */
    policy = load_policy(argv[1]);
    if (policy == NULL) {
        status = 2;
        goto cleanup;
    }
    pthread_mutex_init(&svc.lock, NULL);
    svc.policy = policy;
    policy = NULL; /* svc holds the reference */

    /* Block the signals before MHD starts its threads, so that they
     * inherit the mask and only sigwait() below receives them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
        fprintf(stderr, "corsgate-service: cannot block signals\n");
        goto cleanup;
    }

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, handle_request, &svc, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)THREADS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "corsgate-service: cannot listen on 127.0.0.1:%lu\n",
                port);
        goto cleanup;
    }
    info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("corsgate-service: %s, listening on http://127.0.0.1:%u/\n",
           corsgate_version(),
           info != NULL ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    for (;;) {
        if (sigwait(&stop, &sig) != 0) {
            goto cleanup;
        }
        if (sig != SIGHUP) {
            break;
        }
        /* Reload: compile the file again while requests go on. */
        fresh = load_policy(argv[1]);
        if (fresh == NULL) {
            fprintf(stderr, "corsgate-service: reload failed, policy kept\n");
            continue;
        }
        swap_policy(&svc, fresh);
        fprintf(stderr, "corsgate-service: policy reloaded\n");
    }
    fprintf(stderr, "corsgate-service: signal %d, stopping\n", sig);
    status = 0;

cleanup:
    /* Stop the threads that use the policy before releasing it. */
    if (daemon != NULL) {
        MHD_stop_daemon(daemon);
    }
    if (svc.policy != NULL) {
        corsgate_policy_release(svc.policy);
        pthread_mutex_destroy(&svc.lock);
    }
    return status;
}
