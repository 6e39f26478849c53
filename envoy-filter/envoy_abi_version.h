/* The one place where the Envoy releases the filter is built for differ.
 * scripts/build-envoy-filter passes -DCORSGATE_ENVOY_ABI=<n> from
 * envoy-filter/envoy-versions:
 *
 *   2  ABI "v0.2.0" (Envoy 1.40): log_v2 (message, source file, line).
 *   1  ABI "v0.1.0" (Envoy 1.38, 1.39): log (message only); log_v2 does
 *      not exist there, and Envoy dlopens with RTLD_NOW, so referencing it
 *      fails the load with "undefined symbol".
 *
 * Every other hook and callback the filter uses has the same name and
 * shape in both (read from Envoy's source/extensions/dynamic_modules/
 * abi/abi.h of the v0.1.0 release line and checked against what each
 * binary exports: tests/envoy/test_envoy_module.py). */
#ifndef CORSGATE_ENVOY_ABI_VERSION_H
#define CORSGATE_ENVOY_ABI_VERSION_H

#ifndef CORSGATE_ENVOY_ABI
#define CORSGATE_ENVOY_ABI 2
#endif

#if CORSGATE_ENVOY_ABI == 2

#define ENVOY_DM_ABI_VERSION "v0.2.0"

void envoy_dynamic_module_callback_log_v2(envoy_dm_log_level level,
                                          envoy_dm_buffer message,
                                          envoy_dm_buffer source_file,
                                          uint32_t source_line);

/* Log one message under Envoy's "dynamic_modules" logger. */
#define ENVOY_DM_LOG(level, message, file, line) \
    envoy_dynamic_module_callback_log_v2((level), (message), (file), (line))

#elif CORSGATE_ENVOY_ABI == 1

#define ENVOY_DM_ABI_VERSION "v0.1.0"

void envoy_dynamic_module_callback_log(envoy_dm_log_level level,
                                       envoy_dm_buffer message);

/* No source location in this ABI. */
#define ENVOY_DM_LOG(level, message, file, line) \
    ((void)(file), (void)(line), \
     envoy_dynamic_module_callback_log((level), (message)))

#else
#error "CORSGATE_ENVOY_ABI must be 1 (Envoy 1.38, 1.39) or 2 (Envoy 1.40)"
#endif

#endif
