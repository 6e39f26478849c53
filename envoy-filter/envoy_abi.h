/* The subset of Envoy's dynamic-module ABI that corsgate_envoy.c uses,
 * declared here from the documented shapes: what Envoy 1.38, 1.39 (ABI
 * "v0.1.0") and 1.40 (ABI "v0.2.0") share. What differs between them is in
 * envoy_abi_version.h, included at the end.
 *
 * Hooks (envoy_dynamic_module_on_*) are what the module exports and Envoy
 * calls; callbacks (envoy_dynamic_module_callback_*) are what Envoy exports
 * and the module calls. Envoy dlopens the module with RTLD_NOW, so every
 * callback declared (and used) here must exist in the Envoy binary.
 *
 * Ownership follows Envoy's naming: an "envoy" buffer is Envoy's memory,
 * valid only during the current hook; a "module" buffer is ours, and Envoy
 * copies what it keeps. Envoy's handles (*_envoy) and ours (*_module) are
 * opaque pointers. */
#ifndef CORSGATE_ENVOY_ABI_H
#define CORSGATE_ENVOY_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte string; {NULL, 0} is empty (and, for set_header, "remove"). */
typedef struct envoy_dm_buffer {
    const char *ptr;
    size_t length;
} envoy_dm_buffer;

/* One header line handed to send_response; the module owns the bytes. */
typedef struct envoy_dm_header {
    const char *key_ptr;
    size_t key_length;
    const char *value_ptr;
    size_t value_length;
} envoy_dm_header;

/* One header line as Envoy stores it (from get_headers); Envoy's bytes,
 * valid during the current hook until a header is changed. */
typedef envoy_dm_header envoy_dm_envoy_header;

typedef void *envoy_dm_config_envoy;          /* DynamicModuleHttpFilterConfig */
typedef const void *envoy_dm_config_module;   /* ours, from config_new */
typedef const void *envoy_dm_route_module;    /* ours, from per_route_config_new */
typedef void *envoy_dm_filter_envoy;          /* DynamicModuleHttpFilter */
typedef const void *envoy_dm_filter_module;   /* ours, from http_filter_new */

/* Which header map a header callback works on. */
typedef enum envoy_dm_header_kind {
    ENVOY_DM_REQUEST_HEADERS = 0,
    ENVOY_DM_REQUEST_TRAILERS = 1,
    ENVOY_DM_RESPONSE_HEADERS = 2,
    ENVOY_DM_RESPONSE_TRAILERS = 3,
} envoy_dm_header_kind;

/* Return values of the header, body and trailer hooks (the first two are
 * common to all of them: Continue and StopIteration). */
typedef enum envoy_dm_status {
    ENVOY_DM_CONTINUE = 0,
    ENVOY_DM_STOP_ITERATION = 1,
} envoy_dm_status;

/* Return value of the local_reply hook. */
typedef enum envoy_dm_local_reply_status {
    ENVOY_DM_LOCAL_REPLY_CONTINUE = 0,
    ENVOY_DM_LOCAL_REPLY_CONTINUE_AND_RESET = 1,
} envoy_dm_local_reply_status;

typedef enum envoy_dm_metrics_result {
    ENVOY_DM_METRICS_SUCCESS = 0,
    ENVOY_DM_METRICS_NOT_FOUND = 1,
    ENVOY_DM_METRICS_INVALID_LABELS = 2,
    ENVOY_DM_METRICS_FROZEN = 3, /* define only inside config_new */
} envoy_dm_metrics_result;

typedef enum envoy_dm_log_level {
    ENVOY_DM_LOG_TRACE = 0,
    ENVOY_DM_LOG_DEBUG = 1,
    ENVOY_DM_LOG_INFO = 2,
    ENVOY_DM_LOG_WARN = 3,
    ENVOY_DM_LOG_ERROR = 4,
    ENVOY_DM_LOG_CRITICAL = 5,
    ENVOY_DM_LOG_OFF = 6,
} envoy_dm_log_level;

/* ---- Hooks the module exports ------------------------------------------ */

/* Returns the ABI version string the module was built for; NULL fails. */
const char *envoy_dynamic_module_on_program_init(void);

/* name: the filter_name; config: the raw filter_config bytes (a
 * StringValue's value, or a Struct as compact JSON). NULL rejects. */
envoy_dm_config_module envoy_dynamic_module_on_http_filter_config_new(
    envoy_dm_config_envoy config_envoy, envoy_dm_buffer name,
    envoy_dm_buffer config);
void envoy_dynamic_module_on_http_filter_config_destroy(
    envoy_dm_config_module config);

/* The DynamicModuleFilterPerRoute of a route or virtual host. NULL rejects. */
envoy_dm_route_module envoy_dynamic_module_on_http_filter_per_route_config_new(
    envoy_dm_buffer name, envoy_dm_buffer config);
void envoy_dynamic_module_on_http_filter_per_route_config_destroy(
    envoy_dm_route_module route);

envoy_dm_filter_module envoy_dynamic_module_on_http_filter_new(
    envoy_dm_config_module config, envoy_dm_filter_envoy filter_envoy);
/* Runs after the stream is gone: no callbacks here. */
void envoy_dynamic_module_on_http_filter_destroy(envoy_dm_filter_module filter);
void envoy_dynamic_module_on_http_filter_stream_complete(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter);

envoy_dm_status envoy_dynamic_module_on_http_filter_request_headers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    bool end_of_stream);
envoy_dm_status envoy_dynamic_module_on_http_filter_request_body(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    bool end_of_stream);
envoy_dm_status envoy_dynamic_module_on_http_filter_request_trailers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter);
envoy_dm_status envoy_dynamic_module_on_http_filter_response_headers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    bool end_of_stream);
envoy_dm_status envoy_dynamic_module_on_http_filter_response_body(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    bool end_of_stream);
envoy_dm_status envoy_dynamic_module_on_http_filter_response_trailers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter);

/* Optional: told that a local reply is about to be sent. No header map
 * exists yet, so nothing can be written from here. */
envoy_dm_local_reply_status envoy_dynamic_module_on_http_filter_local_reply(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint32_t response_code, envoy_dm_buffer details, bool reset_imminent);

/* Required by 1.38-1.40 even when unused (callouts, streams, scheduler,
 * watermarks). Header and body arrays are Envoy's. */
void envoy_dynamic_module_on_http_filter_http_callout_done(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t callout_id, uint32_t result, envoy_dm_header *headers,
    size_t headers_size, envoy_dm_buffer *body_chunks,
    size_t body_chunks_size);
void envoy_dynamic_module_on_http_filter_http_stream_headers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t stream_id, envoy_dm_header *headers, size_t headers_size,
    bool end_stream);
void envoy_dynamic_module_on_http_filter_http_stream_data(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t stream_id, const envoy_dm_buffer *data, size_t data_count,
    bool end_stream);
void envoy_dynamic_module_on_http_filter_http_stream_trailers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t stream_id, envoy_dm_header *trailers, size_t trailers_size);
void envoy_dynamic_module_on_http_filter_http_stream_complete(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t stream_id);
void envoy_dynamic_module_on_http_filter_http_stream_reset(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t stream_id, uint32_t reason);
void envoy_dynamic_module_on_http_filter_scheduled(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter,
    uint64_t event_id);
void envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter);
void envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_filter_module filter);

/* ---- Callbacks Envoy exports ------------------------------------------- */

/* Value number `index` of `key` into *value_out ({NULL, 0} when absent;
 * Envoy's bytes, valid during the current hook); *count_out (may be NULL)
 * gets how many values the key has. */
bool envoy_dynamic_module_callback_http_get_header(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header_kind kind,
    envoy_dm_buffer key, envoy_dm_buffer *value_out, size_t index,
    size_t *count_out);

/* How many lines the header map has (0 when it does not exist). */
size_t envoy_dynamic_module_callback_http_get_headers_size(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header_kind kind);

/* Every line, in order, into `out` (room for get_headers_size entries);
 * pseudo-headers (":method", ...) come first. */
bool envoy_dynamic_module_callback_http_get_headers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header_kind kind,
    envoy_dm_envoy_header *out);

/* Replace every value of `key`; value {NULL, 0} removes the header. */
bool envoy_dynamic_module_callback_http_set_header(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header_kind kind,
    envoy_dm_buffer key, envoy_dm_buffer value);

/* Add one more value of `key`. */
bool envoy_dynamic_module_callback_http_add_header(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header_kind kind,
    envoy_dm_buffer key, envoy_dm_buffer value);

/* Local reply; return StopIteration from request_headers afterwards. The
 * module's own response_headers hook does not run for it. */
void envoy_dynamic_module_callback_http_send_response(
    envoy_dm_filter_envoy filter_envoy, uint32_t status,
    envoy_dm_header *headers, size_t headers_size, envoy_dm_buffer body,
    envoy_dm_buffer details);

/* Send response headers now, from a request hook, as an upstream would:
 * the pseudo-header ":status" must be among them; end_stream true = no
 * body. Unlike send_response this is not a local reply, so Envoy's
 * local_reply_config does not rewrite it; the response passes through the
 * encoder filters (this module's response_headers hook included). Return
 * StopIteration from request_headers afterwards. */
void envoy_dynamic_module_callback_http_send_response_headers(
    envoy_dm_filter_envoy filter_envoy, envoy_dm_header *headers,
    size_t headers_size, bool end_stream);

/* The route's DynamicModuleFilterPerRoute object, or NULL. */
envoy_dm_route_module envoy_dynamic_module_callback_get_most_specific_route_config(
    envoy_dm_filter_envoy filter_envoy);

/* Only inside config_new (FROZEN afterwards). */
envoy_dm_metrics_result envoy_dynamic_module_callback_http_filter_config_define_counter(
    envoy_dm_config_envoy config_envoy, envoy_dm_buffer name,
    envoy_dm_buffer *label_names, size_t label_names_length, size_t *id_out);
envoy_dm_metrics_result envoy_dynamic_module_callback_http_filter_increment_counter(
    envoy_dm_filter_envoy filter_envoy, size_t id, envoy_dm_buffer *label_values,
    size_t label_values_length, uint64_t value);

/* Logger "dynamic_modules": whether `level` is logged. Logging itself is
 * ENVOY_DM_LOG, from envoy_abi_version.h. */
bool envoy_dynamic_module_callback_log_enabled(envoy_dm_log_level level);

/* ENVOY_DM_ABI_VERSION, ENVOY_DM_LOG: per Envoy release. */
#include "envoy_abi_version.h"

#endif
