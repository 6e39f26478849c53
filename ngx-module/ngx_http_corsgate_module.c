
/*
 * corsgate: CORS for nginx.
 *
 * The policy engine is libcorsgate (include/corsgate.h).  This module only
 * turns directives into a compiled policy at configuration time, hands the
 * header lines corsgate reads of each main request to corsgate_evaluate()
 * once, answers when the decision says so, and writes the decision's
 * headers on the response.
 *
 * Each cors_* directive is one field of the policy JSON document; fields
 * are inherited one by one (http, server, location).  "cors off" turns the
 * module off at a level, "cors on" / "cors report" set the policy's mode;
 * without "cors", the module is on wherever allow_origins is known, from a
 * directive or from cors_policy_file.  The first location of a request
 * that has a policy decides; the decision survives rewrites and internal
 * redirects and goes on the final response, whatever its status.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <corsgate.h>


#define NGX_HTTP_CORSGATE_OFF          0
#define NGX_HTTP_CORSGATE_ON           1
#define NGX_HTTP_CORSGATE_REPORT       2

/* indexes into ngx_http_corsgate_fields[] */
#define NGX_HTTP_CORSGATE_ORIGINS      0
#define NGX_HTTP_CORSGATE_MAX_AGE      5
#define NGX_HTTP_CORSGATE_NFIELDS      10

#define NGX_HTTP_CORSGATE_MESSAGE_MAX  1024


/* the request path in one function; the rare paths out of it */

#if (defined __GNUC__ || defined __clang__)
#define ngx_http_corsgate_inline    ngx_inline __attribute__((always_inline))
#define ngx_http_corsgate_noinline  __attribute__((noinline))
#else
#define ngx_http_corsgate_inline    ngx_inline
#define ngx_http_corsgate_noinline
#endif


typedef struct {
    ngx_array_t        *fields[NGX_HTTP_CORSGATE_NFIELDS];
    ngx_str_t           json;            /* cors_policy_file contents */
    ngx_uint_t          mode;

    ngx_str_t           file;            /* where this level's directives */
    ngx_uint_t          line;            /* start, for policy errors */

    corsgate_policy    *policy;          /* NULL: module off here */
} ngx_http_corsgate_loc_conf_t;


/*
 * What a request keeps of its decision: corsgate_evaluate() writes the
 * decision (8 KB, more than a pool's small allocations) on the C stack,
 * and this compact copy of it goes into the request pool: the headers as
 * corsgate_decision_header() gives them, names static, values static,
 * borrowed from the policy (which the configuration holds while any
 * request of it runs), or copied into the pool when the decision holds
 * them (the echoed origin).
 */

typedef struct {
    corsgate_reason              reason;
    ngx_uint_t                   strip_upstream;
    uint64_t                     clear;     /* lengths of names to remove */
    ngx_uint_t                   nheaders;
    corsgate_header              headers[];
} ngx_http_corsgate_ctx_t;


/*
 * Header names from the library (static, lowercase): the request headers
 * corsgate reads and the response headers it owns, with a mask of their
 * lengths (bit n % 64: a name of n bytes) so that most headers are passed
 * over with one test; the names sorted by that bit, so that a header is
 * compared with those of its length only, and with the one name of its
 * length at once when there is one (the request headers).
 */

#define NGX_HTTP_CORSGATE_NAMES_MAX    32

typedef struct {
    uint64_t                     lengths;
    uint64_t                     several;   /* bit n: not 1 name of n bytes */
    const u_char                *only[64];  /* the one name of n bytes */
    u_char                       first[64];
    u_char                       count[64];
    corsgate_slice               names[NGX_HTTP_CORSGATE_NAMES_MAX];
} ngx_http_corsgate_names_t;


static ngx_int_t ngx_http_corsgate_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_corsgate_decide(ngx_http_request_t *r,
    corsgate_policy *policy);
static ngx_int_t ngx_http_corsgate_header_filter(ngx_http_request_t *r);
static ngx_http_corsgate_ctx_t *ngx_http_corsgate_decision(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_corsgate_late(ngx_http_request_t *r,
    corsgate_policy *policy);
static ngx_int_t ngx_http_corsgate_write(ngx_http_request_t *r,
    ngx_http_corsgate_ctx_t *ctx);
static ngx_http_corsgate_inline ngx_http_corsgate_ctx_t *
    ngx_http_corsgate_evaluate(ngx_http_request_t *r, corsgate_policy *policy,
    corsgate_decision *d);
static void ngx_http_corsgate_log_denial(ngx_http_request_t *r,
    corsgate_result rc, corsgate_decision *d);
static ngx_http_corsgate_inline ngx_http_corsgate_ctx_t *
    ngx_http_corsgate_keep(ngx_http_request_t *r, corsgate_decision *d,
    size_t room);
static void ngx_http_corsgate_clear(ngx_http_request_t *r,
    ngx_http_corsgate_ctx_t *ctx);
static ngx_inline void ngx_http_corsgate_set_header(ngx_table_elt_t *h,
    corsgate_header *ch);
static ngx_http_corsgate_inline ngx_uint_t ngx_http_corsgate_named(
    ngx_http_corsgate_names_t *names, u_char *name, size_t len,
    ngx_uint_t lowcase);
static ngx_http_corsgate_inline ngx_uint_t ngx_http_corsgate_equal(
    const u_char *a, const u_char *b, size_t len);
static ngx_int_t ngx_http_corsgate_names_init(ngx_conf_t *cf,
    ngx_http_corsgate_names_t *names, const corsgate_slice *s, size_t n);
static void ngx_http_corsgate_decision_marker(void *data);
static ngx_int_t ngx_http_corsgate_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static char *ngx_http_corsgate_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_corsgate_field(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_corsgate_policy_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_corsgate_file_problems(u_char *json, size_t json_len,
    u_char *msg, size_t cap, size_t *len);
static void ngx_http_corsgate_where(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf);
static void *ngx_http_corsgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_corsgate_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_corsgate_compile(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf, corsgate_policy *base);
static ngx_str_t ngx_http_corsgate_message(ngx_conf_t *cf,
    corsgate_result rc, u_char *msg, size_t len);
static void ngx_http_corsgate_policy_warnings(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf);
static void ngx_http_corsgate_policy_error(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf, corsgate_result rc, u_char *msg,
    size_t len);
static void ngx_http_corsgate_free_policy(void *data);
static ngx_int_t ngx_http_corsgate_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_corsgate_init(ngx_conf_t *cf);


/* the policy's JSON field names, in the order of the directives below */
static ngx_str_t  ngx_http_corsgate_fields[NGX_HTTP_CORSGATE_NFIELDS] = {
    ngx_string("allow_origins"),
    ngx_string("allow_methods"),
    ngx_string("allow_headers"),
    ngx_string("expose_headers"),
    ngx_string("allow_credentials"),
    ngx_string("max_age"),
    ngx_string("preflight_status"),
    ngx_string("on_preflight_deny"),
    ngx_string("on_actual_deny"),
    ngx_string("debug")
};


static ngx_conf_enum_t  ngx_http_corsgate_modes[] = {
    { ngx_string("off"), NGX_HTTP_CORSGATE_OFF },
    { ngx_string("on"), NGX_HTTP_CORSGATE_ON },
    { ngx_string("report"), NGX_HTTP_CORSGATE_REPORT },
    { ngx_null_string, 0 }
};


#define NGX_HTTP_CORSGATE_CONF                                                \
    NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF

#define ngx_http_corsgate_field_command(name, type, field)                    \
    { ngx_string(name), NGX_HTTP_CORSGATE_CONF|type,                          \
      ngx_http_corsgate_field, NGX_HTTP_LOC_CONF_OFFSET, field, NULL }


static ngx_command_t  ngx_http_corsgate_commands[] = {

    { ngx_string("cors"),
      NGX_HTTP_CORSGATE_CONF|NGX_CONF_TAKE1,
      ngx_http_corsgate_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_corsgate_loc_conf_t, mode),
      &ngx_http_corsgate_modes },

    ngx_http_corsgate_field_command("cors_allow_origins", NGX_CONF_1MORE, 0),
    ngx_http_corsgate_field_command("cors_allow_methods", NGX_CONF_1MORE, 1),
    ngx_http_corsgate_field_command("cors_allow_headers", NGX_CONF_1MORE, 2),
    ngx_http_corsgate_field_command("cors_expose_headers", NGX_CONF_1MORE, 3),
    ngx_http_corsgate_field_command("cors_allow_credentials", NGX_CONF_FLAG,
                                    4),
    ngx_http_corsgate_field_command("cors_max_age", NGX_CONF_TAKE1, 5),
    ngx_http_corsgate_field_command("cors_preflight_status", NGX_CONF_TAKE1,
                                    6),
    ngx_http_corsgate_field_command("cors_preflight_deny", NGX_CONF_TAKE1, 7),
    ngx_http_corsgate_field_command("cors_actual_deny", NGX_CONF_TAKE1, 8),
    ngx_http_corsgate_field_command("cors_debug", NGX_CONF_FLAG, 9),

    { ngx_string("cors_policy_file"),
      NGX_HTTP_CORSGATE_CONF|NGX_CONF_TAKE1,
      ngx_http_corsgate_policy_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_corsgate_module_ctx = {
    ngx_http_corsgate_add_variables,       /* preconfiguration */
    ngx_http_corsgate_init,                /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_corsgate_create_loc_conf,     /* create location configuration */
    ngx_http_corsgate_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_corsgate_module = {
    NGX_MODULE_V1,
    &ngx_http_corsgate_module_ctx,         /* module context */
    ngx_http_corsgate_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_http_corsgate_names_t  ngx_http_corsgate_request_names;
static ngx_http_corsgate_names_t  ngx_http_corsgate_owned_names;


/*
 * REWRITE phase: runs after the location is chosen, before the location's
 * "return" and before every access check, so preflights (which carry no
 * credentials) are answered here.
 */

static ngx_int_t
ngx_http_corsgate_handler(ngx_http_request_t *r)
{
    ngx_http_corsgate_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_corsgate_module);

    if (r != r->main || clcf->policy == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_corsgate_decide(r, clcf->policy);
}


/* apart from the handler: where CORS is off, nothing more is run */

static ngx_http_corsgate_noinline ngx_int_t
ngx_http_corsgate_decide(ngx_http_request_t *r, corsgate_policy *policy)
{
    ngx_int_t          rc;
    corsgate_decision  d;

    if (ngx_http_corsgate_decision(r) != NULL) {
        /* decided in a location this request went through before */
        return NGX_DECLINED;
    }

    if (ngx_http_corsgate_evaluate(r, policy, &d) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (d.action != CORSGATE_ACTION_RESPOND) {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the headers are written by the header filter, like for any response */

    r->headers_out.status = d.status;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_corsgate_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                     j, n;
    ngx_list_t                    *list;
    ngx_list_part_t               *last;
    ngx_table_elt_t               *h;
    ngx_http_corsgate_ctx_t       *ctx;
    ngx_http_corsgate_loc_conf_t  *clcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_corsgate_decision(r);

    if (ctx == NULL) {
        /* a response before the REWRITE phase, e.g. a server level "return" */

        clcf = ngx_http_get_module_loc_conf(r, ngx_http_corsgate_module);
        if (clcf->policy == NULL) {
            return ngx_http_next_header_filter(r);
        }

        return ngx_http_corsgate_late(r, clcf->policy);
    }

    list = &r->headers_out.headers;
    last = list->last;
    n = ctx->nheaders;

    if ((ctx->clear && (list->part.nelts || list->part.next))
        || last->nelts + n > list->nalloc)
    {
        return ngx_http_corsgate_write(r, ctx);
    }

    /*
     * the usual case, nothing to remove, room in the list's last part:
     * no call but the next filter's
     */

    h = (ngx_table_elt_t *) last->elts + last->nelts;
    last->nelts += n;

    for (j = 0; j < n; j++) {
        ngx_http_corsgate_set_header(&h[j], &ctx->headers[j]);
    }

    return ngx_http_next_header_filter(r);
}


/* the header filter of a request whose handler did not run */

static ngx_http_corsgate_noinline ngx_int_t
ngx_http_corsgate_late(ngx_http_request_t *r, corsgate_policy *policy)
{
    corsgate_decision         d;
    ngx_http_corsgate_ctx_t  *ctx;

    ctx = ngx_http_corsgate_evaluate(r, policy, &d);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_corsgate_write(r, ctx);
}


/*
 * Writes the decision's headers, with what they replace removed first,
 * and calls the next filter.
 */

static ngx_http_corsgate_noinline ngx_int_t
ngx_http_corsgate_write(ngx_http_request_t *r, ngx_http_corsgate_ctx_t *ctx)
{
    ngx_uint_t        j, n;
    ngx_list_t       *list;
    ngx_list_part_t  *last;
    ngx_table_elt_t  *h;

    list = &r->headers_out.headers;

    if (ctx->clear && (list->part.nelts || list->part.next)) {
        ngx_http_corsgate_clear(r, ctx);
    }

    /* in the list's last part when they all fit, as ngx_list_push() would */

    last = list->last;
    n = ctx->nheaders;

    if (last->nelts + n <= list->nalloc) {
        h = (ngx_table_elt_t *) last->elts + last->nelts;
        last->nelts += n;

        for (j = 0; j < n; j++) {
            ngx_http_corsgate_set_header(&h[j], &ctx->headers[j]);
        }

    } else {
        for (j = 0; j < n; j++) {
            h = ngx_list_push(list);
            if (h == NULL) {
                return NGX_ERROR;
            }

            ngx_http_corsgate_set_header(h, &ctx->headers[j]);
        }
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Removes from the response what the decision's headers replace: those
 * corsgate owns when the decision strips the upstream's, and those of the
 * names it sets.
 */

static ngx_http_corsgate_noinline void
ngx_http_corsgate_clear(ngx_http_request_t *r, ngx_http_corsgate_ctx_t *ctx)
{
    size_t             len;
    ngx_uint_t         i, j;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;
    corsgate_header   *ch;

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        len = h[i].key.len;

        /* most headers are passed over on their name's length */

        if (h[i].hash == 0 || !(ctx->clear & ((uint64_t) 1 << (len & 63)))) {
            continue;
        }

        if (ctx->strip_upstream
            && (ngx_http_corsgate_owned_names.lengths
                & ((uint64_t) 1 << (len & 63)))
            && ngx_http_corsgate_named(&ngx_http_corsgate_owned_names,
                                       h[i].key.data, len, 0))
        {
            h[i].hash = 0;
            continue;
        }

        for (j = 0; j < ctx->nheaders; j++) {
            ch = &ctx->headers[j];

            if (ch->op == CORSGATE_HEADER_OP_SET
                && ch->name.len == len
                && ngx_strncasecmp(h[i].key.data, (u_char *) ch->name.ptr,
                                   len) == 0)
            {
                h[i].hash = 0;
            }
        }
    }
}


static ngx_inline void
ngx_http_corsgate_set_header(ngx_table_elt_t *h, corsgate_header *ch)
{
    h->hash = 1;
    h->key.len = ch->name.len;
    h->key.data = (u_char *) ch->name.ptr;
    h->value.len = ch->value.len;
    h->value.data = (u_char *) ch->value.ptr;
    h->lowcase_key = h->key.data;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
}


/*
 * The decision lives in a request pool cleanup: the module context is
 * cleared by internal redirects (error_page, try_files), the pool is not.
 */

static ngx_http_corsgate_ctx_t *
ngx_http_corsgate_decision(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t       *cln;
    ngx_http_corsgate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_corsgate_module);
    if (ctx != NULL) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_corsgate_decision_marker) {
            ngx_http_set_ctx(r, cln->data, ngx_http_corsgate_module);
            return cln->data;
        }
    }

    return NULL;
}


/*
 * Decides the request into *d (the caller's stack) and keeps what its
 * response needs in the request pool; logs denials.
 */

static ngx_http_corsgate_inline ngx_http_corsgate_ctx_t *
ngx_http_corsgate_evaluate(ngx_http_request_t *r, corsgate_policy *policy,
    corsgate_decision *d)
{
    uint64_t                  lengths;
    corsgate_result           rc;
    corsgate_request          req;
    ngx_list_part_t          *part;
    ngx_table_elt_t          *h, *last;
    ngx_http_corsgate_ctx_t  *ctx;

    corsgate_request_init(&req, r->method_name.data, r->method_name.len);

    /*
     * only the lines corsgate reads, in order: the others it would ignore;
     * most are passed over on their name's length
     */

    lengths = ngx_http_corsgate_request_names.lengths;

    for (part = &r->headers_in.headers.part; part; part = part->next) {

        h = part->elts;

        for (last = h + part->nelts; h < last; h++) {

            if ((lengths & ((uint64_t) 1 << (h->key.len & 63)))
                && ngx_http_corsgate_named(&ngx_http_corsgate_request_names,
                                           h->lowcase_key ? h->lowcase_key
                                                          : h->key.data,
                                           h->key.len, h->lowcase_key != NULL))
            {
                (void) corsgate_request_add_header(&req, h->key.data,
                                                   h->key.len, h->value.data,
                                                   h->value.len);
            }
        }
    }

    /* on any failure corsgate writes its safe denial: applied as any other */

    rc = corsgate_evaluate(policy, &req, d);

    if (rc != CORSGATE_RESULT_OK || d->verdict == CORSGATE_VERDICT_DENIED) {
        ngx_http_corsgate_log_denial(r, rc, d);
    }

    /* the origin is what a decision usually echoes */

    ctx = ngx_http_corsgate_keep(r, d, req.origin.len);
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_corsgate_module);

    return ctx;
}


static ngx_http_corsgate_noinline void
ngx_http_corsgate_log_denial(ngx_http_request_t *r, corsgate_result rc,
    corsgate_decision *d)
{
    corsgate_slice  detail;

    if (rc != CORSGATE_RESULT_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "cors: evaluation failed: %s, denied: %s",
                      corsgate_result_str(rc), corsgate_reason_str(d->reason));
        return;
    }

    /* the detail is a token or a well-formed origin, never raw bytes */

    detail = corsgate_decision_detail(d);
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "cors: %s: %s \"%*s\"",
                  d->report_only ? "would deny" : "denied",
                  corsgate_reason_str(d->reason),
                  detail.len, detail.len ? detail.ptr : (const uint8_t *) "");
}


/*
 * the compact copy of *d, in a pool cleanup that marks it as ours, with
 * room for that many bytes of the values to copy (more are allocated)
 */

static ngx_http_corsgate_inline ngx_http_corsgate_ctx_t *
ngx_http_corsgate_keep(ngx_http_request_t *r, corsgate_decision *d,
    size_t room)
{
    u_char                   *p, *q, *start, *end;
    uint64_t                  clear;
    ngx_uint_t                j, n;
    ngx_pool_t               *pool;
    corsgate_header          *ch;
    ngx_pool_cleanup_t       *cln;
    ngx_http_corsgate_ctx_t  *ctx;

    pool = r->pool;
    n = ngx_min(d->headers_len, CORSGATE_DECISION_MAX_HEADERS);

    /* the cleanup, the copy and the room in one allocation */

    cln = ngx_palloc(pool, sizeof(ngx_pool_cleanup_t)
                           + sizeof(ngx_http_corsgate_ctx_t)
                           + n * sizeof(corsgate_header) + room);
    if (cln == NULL) {
        return NULL;
    }

    ctx = (ngx_http_corsgate_ctx_t *) (cln + 1);
    p = (u_char *) &ctx->headers[n];

    start = (u_char *) d;
    end = (u_char *) (d + 1);
    clear = d->strip_upstream ? ngx_http_corsgate_owned_names.lengths : 0;

    for (j = 0; j < n; j++) {
        ch = &ctx->headers[j];

        if (corsgate_decision_header(d, j, ch) != CORSGATE_RESULT_OK) {
            n = j;
            break;
        }

        if (ch->op == CORSGATE_HEADER_OP_SET) {
            clear |= (uint64_t) 1 << (ch->name.len & 63);
        }

        if ((u_char *) ch->value.ptr < start
            || (u_char *) ch->value.ptr >= end)
        {
            continue;
        }

        if (ch->value.len <= room) {
            q = p;
            p += ch->value.len;
            room -= ch->value.len;

        } else {
            q = ngx_pnalloc(pool, ch->value.len);
            if (q == NULL) {
                return NULL;
            }
        }

        ngx_memcpy(q, ch->value.ptr, ch->value.len);
        ch->value.ptr = q;
    }

    ctx->reason = d->reason;
    ctx->strip_upstream = d->strip_upstream;
    ctx->clear = clear;
    ctx->nheaders = n;

    cln->handler = ngx_http_corsgate_decision_marker;
    cln->data = ctx;
    cln->next = pool->cleanup;
    pool->cleanup = cln;

    return ctx;
}


/*
 * whether a header name whose length is in names->lengths is one of names
 * (lowcase: name is lowercase)
 */

static ngx_http_corsgate_inline ngx_uint_t
ngx_http_corsgate_named(ngx_http_corsgate_names_t *names, u_char *name,
    size_t len, ngx_uint_t lowcase)
{
    size_t           i, k, last;
    corsgate_slice  *s;

    if (lowcase && len < 64 && !(names->several & ((uint64_t) 1 << len))) {
        /* the usual case: a request header, one name of its length */
        return ngx_http_corsgate_equal(name, names->only[len], len);
    }

    k = names->first[len & 63];
    last = k + names->count[len & 63];

    for ( /* void */ ; k < last; k++) {
        s = &names->names[k];

        if (s->len != len) {
            continue;
        }

        if (lowcase) {
            if (ngx_http_corsgate_equal(name, s->ptr, len)) {
                return 1;
            }

            continue;
        }

        for (i = 0; i < len && ngx_tolower(name[i]) == s->ptr[i]; i++) {
            /* void */
        }

        if (i == len) {
            return 1;
        }
    }

    return 0;
}


/*
 * a == b, len bytes: a word at a time, the last word overlapping the one
 * before (the names are up to 38 bytes)
 */

static ngx_http_corsgate_inline ngx_uint_t
ngx_http_corsgate_equal(const u_char *a, const u_char *b, size_t len)
{
    size_t    i;
    uint32_t  a4, b4, c4, d4;
    uint64_t  a8, b8;

    if (len >= 8) {
        for (i = 0; i + 8 < len; i += 8) {
            ngx_memcpy(&a8, a + i, 8);
            ngx_memcpy(&b8, b + i, 8);

            if (a8 != b8) {
                return 0;
            }
        }

        ngx_memcpy(&a8, a + len - 8, 8);
        ngx_memcpy(&b8, b + len - 8, 8);

        return a8 == b8;
    }

    if (len >= 4) {
        ngx_memcpy(&a4, a, 4);
        ngx_memcpy(&b4, b, 4);
        ngx_memcpy(&c4, a + len - 4, 4);
        ngx_memcpy(&d4, b + len - 4, 4);

        return ((a4 ^ b4) | (c4 ^ d4)) == 0;
    }

    for (i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_corsgate_names_init(ngx_conf_t *cf, ngx_http_corsgate_names_t *names,
    const corsgate_slice *s, size_t n)
{
    size_t  b, k, m;

    if (n > NGX_HTTP_CORSGATE_NAMES_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "libcorsgate gives %uz header names, this module "
                           "takes at most %d: rebuild the module with the "
                           "library it runs with", n,
                           NGX_HTTP_CORSGATE_NAMES_MAX);
        return NGX_ERROR;
    }

    ngx_memzero(names, sizeof(ngx_http_corsgate_names_t));

    m = 0;

    for (b = 0; b < 64; b++) {
        names->first[b] = (u_char) m;

        for (k = 0; k < n; k++) {
            if ((s[k].len & 63) == b) {
                names->names[m++] = s[k];
            }
        }

        names->count[b] = (u_char) (m - names->first[b]);

        if (names->count[b]) {
            names->lengths |= (uint64_t) 1 << b;
            names->only[b] = names->names[names->first[b]].ptr;
        }

        /* "only" is for a single name of exactly b bytes */

        if (names->count[b] > 1
            || (names->count[b] == 1
                && names->names[names->first[b]].len != b))
        {
            names->several |= (uint64_t) 1 << b;
        }
    }

    return NGX_OK;
}


static void
ngx_http_corsgate_decision_marker(void *data)
{
    /* nothing to free: the decision is in the pool */
}


static ngx_int_t
ngx_http_corsgate_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char               *reason;
    ngx_http_corsgate_ctx_t  *ctx;

    ctx = ngx_http_corsgate_decision(r->main);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    reason = corsgate_reason_str(ctx->reason);

    v->len = ngx_strlen(reason);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) reason;

    return NGX_OK;
}


static char *
ngx_http_corsgate_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_corsgate_where(cf, conf);

    return ngx_conf_set_enum_slot(cf, cmd, conf);
}


/* a policy field, kept as the text slices the builder takes */

static char *
ngx_http_corsgate_field(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_corsgate_loc_conf_t *clcf = conf;

    u_char            msg[NGX_HTTP_CORSGATE_MESSAGE_MAX];
    size_t            len;
    time_t            sec;
    ngx_str_t        *value, text;
    ngx_uint_t        i, n;
    ngx_array_t     **field;
    corsgate_slice   *s;
    corsgate_result   rc;

    value = cf->args->elts;
    field = &clcf->fields[cmd->offset];

    if (*field != NULL && !(cmd->type & NGX_CONF_1MORE)) {
        return "is duplicate";
    }

    if (cmd->type & NGX_CONF_FLAG) {

        /* case-insensitive, as nginx's own flags (ngx_conf_set_flag_slot) */

        if (ngx_strcasecmp(value[1].data, (u_char *) "on") == 0) {
            ngx_str_set(&value[1], "on");

        } else if (ngx_strcasecmp(value[1].data, (u_char *) "off") == 0) {
            ngx_str_set(&value[1], "off");

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be \"on\" or \"off\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    if (cmd->offset == NGX_HTTP_CORSGATE_MAX_AGE) {
        sec = ngx_parse_time(&value[1], 1);
        if (sec == (time_t) NGX_ERROR) {
            return "invalid value";
        }

        value[1].data = ngx_pnalloc(cf->pool, NGX_TIME_T_LEN);
        if (value[1].data == NULL) {
            return NGX_CONF_ERROR;
        }

        value[1].len = ngx_sprintf(value[1].data, "%T", sec) - value[1].data;
    }

    if (*field == NULL) {
        *field = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                  sizeof(corsgate_slice));
        if (*field == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    for (i = 1; i < cf->args->nelts; i++) {
        s = ngx_array_push(*field);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->ptr = value[i].data;
        s->len = value[i].len;
    }

    /* problems of this field alone are reported at this line */

    n = cf->args->nelts - 1;
    rc = corsgate_field_check(ngx_http_corsgate_fields[cmd->offset].data,
                              ngx_http_corsgate_fields[cmd->offset].len,
                              (corsgate_slice *) (*field)->elts
                              + (*field)->nelts - n,
                              n, msg, sizeof(msg), &len);

    if (rc != CORSGATE_RESULT_OK) {
        text = ngx_http_corsgate_message(cf, rc, msg, len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid CORS policy: %V",
                           &text);
        return NGX_CONF_ERROR;
    }

    ngx_http_corsgate_where(cf, clcf);

    return NGX_CONF_OK;
}


static char *
ngx_http_corsgate_policy_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_corsgate_loc_conf_t *clcf = conf;

    u_char             msg[NGX_HTTP_CORSGATE_MESSAGE_MAX];
    size_t             len;
    ssize_t            n;
    ngx_err_t          err;
    ngx_str_t         *value, text;
    ngx_file_t         file;
    ngx_file_info_t    fi;
    corsgate_result    rc;
    corsgate_builder  *b;

    if (clcf->json.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = value[1];
    file.log = cf->log;

    if (ngx_conf_full_name(cf->cycle, &file.name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    file.fd = ngx_open_file(file.name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &file.name);
        return NGX_CONF_ERROR;
    }

    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) != NGX_FILE_ERROR) {
        clcf->json.len = ngx_file_size(&fi);
        clcf->json.data = ngx_pnalloc(cf->pool, clcf->json.len + 1);

        if (clcf->json.data != NULL) {
            n = ngx_read_file(&file, clcf->json.data, clcf->json.len, 0);
        }
    }

    err = (n == NGX_ERROR) ? ngx_errno : 0;

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &file.name);
    }

    if (n != (ssize_t) clcf->json.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, err,
                           "cannot read \"%V\"", &file.name);
        return NGX_CONF_ERROR;
    }

    /* syntax and field names are checked now, values at merge */

    len = 0;

    rc = corsgate_builder_new(&b);
    if (rc == CORSGATE_RESULT_OK) {
        rc = corsgate_builder_merge_json(b, clcf->json.data, clcf->json.len,
                                         msg, sizeof(msg), &len);
        corsgate_builder_free(b);
    }

    if (rc == CORSGATE_RESULT_INVALID_POLICY) {

        /*
         * unknown fields: the file is wrong whatever the directives around
         * it say, so report all its problems at once, its values' too, as
         * "corsgate lint" does
         */

        ngx_http_corsgate_file_problems(clcf->json.data, clcf->json.len,
                                        msg, sizeof(msg), &len);
    }

    if (rc != CORSGATE_RESULT_OK) {
        text = ngx_http_corsgate_message(cf, rc, msg, len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid CORS policy file \"%V\": %V",
                           &file.name, &text);
        return NGX_CONF_ERROR;
    }

    ngx_http_corsgate_where(cf, clcf);

    return NGX_CONF_OK;
}


/* every problem of a policy document on its own; len unchanged if none */

static void
ngx_http_corsgate_file_problems(u_char *json, size_t json_len, u_char *msg,
    size_t cap, size_t *len)
{
    size_t            n;
    corsgate_result   rc;
    corsgate_policy  *policy;

    policy = NULL;
    n = 0;

    rc = corsgate_policy_from_json(json, json_len, &policy, msg, cap, &n);

    if (rc == CORSGATE_RESULT_OK) {
        corsgate_policy_free(policy);
        return;
    }

    if (n) {
        *len = n;
    }
}


static void
ngx_http_corsgate_where(ngx_conf_t *cf, ngx_http_corsgate_loc_conf_t *clcf)
{
    if (clcf->line == 0) {
        clcf->file = cf->conf_file->file.name;
        clcf->line = cf->conf_file->line;
    }
}


static void *
ngx_http_corsgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_corsgate_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_corsgate_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->fields[] = NULL;
     *     conf->json = { 0, NULL };
     *     conf->file = { 0, NULL };
     *     conf->line = 0;
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->policy = NGX_CONF_UNSET_PTR;

    return conf;
}


/*
 * Fields are inherited one by one; a level that sets cors_policy_file starts
 * from that file instead.  A level that sets nothing shares its parent's
 * compiled policy.
 */

static char *
ngx_http_corsgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_corsgate_loc_conf_t *prev = parent;
    ngx_http_corsgate_loc_conf_t *conf = child;

    ngx_uint_t  i, own;

    own = (conf->json.data != NULL);

    for (i = 0; i < NGX_HTTP_CORSGATE_NFIELDS; i++) {
        if (conf->fields[i] != NULL) {
            own = 1;

        } else if (conf->json.data == NULL) {
            conf->fields[i] = prev->fields[i];
        }
    }

    if (conf->json.data == NULL) {
        conf->json = prev->json;
    }

    if (conf->mode != NGX_CONF_UNSET_UINT && conf->mode != prev->mode) {
        own = 1;
    }

    if (conf->mode == NGX_CONF_UNSET_UINT
        && prev->mode == NGX_HTTP_CORSGATE_OFF
        && own)
    {
        /*
         * nginx's convention: an explicit "off" is inherited, and fields
         * set below it do not turn the module back on; say so
         */

        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "cors_* directives under an inherited \"cors off\" "
                      "are ignored (CORS stays off here; add \"cors on\" "
                      "to enable it) in %V:%ui", &conf->file, conf->line);
    }

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_CONF_UNSET_UINT);

    if (conf->mode == NGX_HTTP_CORSGATE_OFF
        || (conf->mode == NGX_CONF_UNSET_UINT
            && conf->fields[NGX_HTTP_CORSGATE_ORIGINS] == NULL
            && conf->json.data == NULL))
    {
        conf->policy = NULL;
        return NGX_CONF_OK;
    }

    if (own) {
        /* what did not change (the origins) is shared with the parent's */
        return ngx_http_corsgate_compile(cf, conf,
                                         prev->policy == NGX_CONF_UNSET_PTR
                                         ? NULL : prev->policy)
               == NGX_OK ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    /* the http level is never merged itself: compile it when first used */

    if (prev->policy == NGX_CONF_UNSET_PTR
        && ngx_http_corsgate_compile(cf, prev, NULL) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    conf->policy = prev->policy;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_corsgate_compile(ngx_conf_t *cf, ngx_http_corsgate_loc_conf_t *clcf,
    corsgate_policy *base)
{
    u_char               msg[NGX_HTTP_CORSGATE_MESSAGE_MAX];
    size_t               len;
    ngx_uint_t           i;
    ngx_array_t         *a;
    corsgate_slice       mode;
    corsgate_result      rc;
    corsgate_builder    *b;
    ngx_pool_cleanup_t  *cln;

    clcf->policy = NULL;
    len = 0;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    rc = corsgate_builder_new(&b);
    if (rc != CORSGATE_RESULT_OK) {
        ngx_http_corsgate_policy_error(cf, clcf, rc, msg, 0);
        return NGX_ERROR;
    }

    if (clcf->json.data != NULL) {
        rc = corsgate_builder_merge_json(b, clcf->json.data, clcf->json.len,
                                         msg, sizeof(msg), &len);
    }

    for (i = 0; rc == CORSGATE_RESULT_OK && i < NGX_HTTP_CORSGATE_NFIELDS; i++)
    {
        a = clcf->fields[i];

        if (a == NULL) {
            continue;
        }

        rc = corsgate_builder_set(b, ngx_http_corsgate_fields[i].data,
                                  ngx_http_corsgate_fields[i].len,
                                  a->elts, a->nelts);

        if (rc != CORSGATE_RESULT_OK) {
            len = ngx_snprintf(msg, sizeof(msg), "%V: %s",
                               &ngx_http_corsgate_fields[i],
                               corsgate_result_str(rc))
                  - msg;
        }
    }

    if (rc == CORSGATE_RESULT_OK && clcf->mode != NGX_CONF_UNSET_UINT) {
        mode.ptr = (const uint8_t *) (clcf->mode == NGX_HTTP_CORSGATE_REPORT
                                      ? "report" : "enforce");
        mode.len = ngx_strlen(mode.ptr);

        rc = corsgate_builder_set(b, (const uint8_t *) "mode", 4, &mode, 1);
    }

    if (rc == CORSGATE_RESULT_OK) {
        rc = corsgate_builder_build_sharing(b, base, &clcf->policy, msg,
                                            sizeof(msg), &len);
    }

    corsgate_builder_free(b);

    if (rc != CORSGATE_RESULT_OK) {
        clcf->policy = NULL;
        ngx_http_corsgate_policy_error(cf, clcf, rc, msg, len);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_corsgate_free_policy;
    cln->data = clcf->policy;

    ngx_http_corsgate_policy_warnings(cf, clcf);

    return NGX_OK;
}


/* What an accepted policy does that its author should know (nginx -t
 * prints them as [warn]), at the first CORS directive of the level */

static void
ngx_http_corsgate_policy_warnings(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf)
{
    u_char  msg[NGX_HTTP_CORSGATE_MESSAGE_MAX];
    size_t  i, n, len;

    n = corsgate_policy_warning_count(clcf->policy);

    for (i = 0; i < n; i++) {
        if (!corsgate_policy_warning(clcf->policy, i, msg, sizeof(msg), &len))
        {
            break;
        }

        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "CORS policy: %*s in %V:%ui",
                      ngx_min(len, sizeof(msg)), msg, &clcf->file,
                      clcf->line);
    }
}


/* the library's message, one error per line, made one log line */

static ngx_str_t
ngx_http_corsgate_message(ngx_conf_t *cf, corsgate_result rc, u_char *msg,
    size_t len)
{
    u_char     *p, *last;
    ngx_str_t   text;

    len = ngx_min(len, NGX_HTTP_CORSGATE_MESSAGE_MAX);

    while (len && (msg[len - 1] == LF || msg[len - 1] == CR)) {
        len--;
    }

    text.data = len ? ngx_pnalloc(cf->temp_pool, 2 * len) : NULL;

    if (text.data == NULL) {
        text.data = (u_char *) corsgate_result_str(rc);
        text.len = ngx_strlen(text.data);
        return text;
    }

    p = text.data;

    for (last = msg + len; msg < last; msg++) {
        if (*msg == LF) {
            *p++ = ';';
            *p++ = ' ';

        } else if (*msg != CR) {
            *p++ = *msg;
        }
    }

    text.len = p - text.data;

    return text;
}


/*
 * Merging happens after the whole http block is read: the error names the
 * first CORS directive of the level being compiled, as ngx_conf_log_error
 * would have, rather than the end of the http block.
 */

static void
ngx_http_corsgate_policy_error(ngx_conf_t *cf,
    ngx_http_corsgate_loc_conf_t *clcf, corsgate_result rc, u_char *msg,
    size_t len)
{
    ngx_str_t  text;

    text = ngx_http_corsgate_message(cf, rc, msg, len);

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "invalid CORS policy: %V in %V:%ui",
                  &text, &clcf->file, clcf->line);
}


static void
ngx_http_corsgate_free_policy(void *data)
{
    corsgate_policy_free(data);
}


static ngx_int_t
ngx_http_corsgate_add_variables(ngx_conf_t *cf)
{
    ngx_str_t              name = ngx_string("cors_result");
    ngx_http_variable_t   *var;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_corsgate_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_corsgate_init(ngx_conf_t *cf)
{
    size_t                      n;
    ngx_http_handler_pt        *h;
    const corsgate_slice       *names;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_corsgate_handler;

    names = corsgate_request_header_names(&n);
    if (ngx_http_corsgate_names_init(cf, &ngx_http_corsgate_request_names,
                                     names, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    names = corsgate_owned_header_names(&n);
    if (ngx_http_corsgate_names_init(cf, &ngx_http_corsgate_owned_names,
                                     names, n)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_corsgate_header_filter;

    return NGX_OK;
}
