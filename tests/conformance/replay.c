/* The outside suites of tests/conformance, replayed through the C ABI.
 *
 * Reads the lines tests/conformance/conformance.py c-input writes (every
 * byte string hex-encoded, "-" when empty):
 *     P <policy>             a config case: is the policy accepted?
 *     Q <policy>             the policy of the request that follows
 *     C <method>             a request ...
 *     H <name> <value>       ... one header line
 *     .                      ... ends: evaluate it
 * and prints, in the same order, what corsgate decided:
 *     A <0|1> <message>      config case: refused / accepted
 *     X <message>            the request's policy is refused
 *     D <respond 0|1> <status>, then R <name> <value> per header, then E
 * conformance.py c-judge compares that with the suites' expectations.
 *
 * Usage: replay INPUT.txt > RESULTS.txt   (scripts/c-tests runs it) */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corsgate.h"

#define LINE_CAP    (1 << 16)
#define MESSAGE_CAP 4096
#define MAX_LINES   64

typedef struct bytes {
    uint8_t *ptr;
    size_t len;
} bytes;

static void
die(const char *what)
{
    fprintf(stderr, "replay: %s\n", what);
    exit(2);
}

/* Decodes one hex field ("-" = empty) into freshly allocated bytes. */
static bytes
unhex(const char *field)
{
    bytes b = { NULL, 0 };
    size_t n = strlen(field);

    b.ptr = malloc(n / 2 + 1);
    if (b.ptr == NULL) {
        die("out of memory");
    }
    if (strcmp(field, "-") == 0) {
        return b;
    }
    if (n % 2 != 0) {
        die("odd hex field");
    }
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;

        if (sscanf(field + i, "%2x", &v) != 1) {
            die("bad hex field");
        }
        b.ptr[b.len++] = (uint8_t)v;
    }
    return b;
}

static void
put_hex(const uint8_t *p, size_t n)
{
    if (n == 0) {
        fputc('-', stdout);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

/* Compiles POLICY; on refusal prints nothing and returns NULL with the
 * message in MESSAGE. */
static corsgate_policy *
compile(bytes policy, uint8_t *message, size_t *message_len)
{
    corsgate_policy *p = NULL;

    *message_len = 0;
    if (corsgate_policy_from_json(policy.ptr, policy.len, &p, message,
                                  MESSAGE_CAP, message_len) != 0) {
        if (*message_len > MESSAGE_CAP) {
            *message_len = MESSAGE_CAP;
        }
        return NULL;
    }
    return p;
}

int
main(int argc, char **argv)
{
    static char line[LINE_CAP];
    static uint8_t message[MESSAGE_CAP];
    bytes names[MAX_LINES], values[MAX_LINES], method = { NULL, 0 };
    bytes policy = { NULL, 0 };
    size_t nlines = 0, message_len;
    FILE *in;

    if (argc != 2 || (in = fopen(argv[1], "r")) == NULL) {
        die("usage: replay INPUT.txt");
    }
    while (fgets(line, sizeof line, in) != NULL) {
        char *f1, *f2;

        line[strcspn(line, "\n")] = '\0';
        strtok(line, " ");
        f1 = strtok(NULL, " ");
        f2 = strtok(NULL, " ");
        switch (line[0]) {
        case 'P': {
            bytes b = unhex(f1);
            corsgate_policy *p = compile(b, message, &message_len);

            printf("A %d ", p != NULL);
            put_hex(message, message_len);
            fputc('\n', stdout);
            corsgate_policy_free(p);
            free(b.ptr);
            break;
        }
        case 'Q':
            free(policy.ptr);
            policy = unhex(f1);
            break;
        case 'C':
            free(method.ptr);
            method = unhex(f1);
            nlines = 0;
            break;
        case 'H':
            if (nlines == MAX_LINES) {
                die("too many header lines");
            }
            names[nlines] = unhex(f1);
            values[nlines] = unhex(f2);
            nlines++;
            break;
        case '.': {
            corsgate_policy *p = compile(policy, message, &message_len);
            corsgate_request request;
            corsgate_decision d;

            if (p == NULL) {
                printf("X ");
                put_hex(message, message_len);
                fputc('\n', stdout);
            } else {
                corsgate_request_init(&request, method.ptr, method.len);
                for (size_t i = 0; i < nlines; i++) {
                    corsgate_request_add_header(&request, names[i].ptr,
                                                names[i].len, values[i].ptr,
                                                values[i].len);
                }
                if (corsgate_evaluate(p, &request, &d) != 0) {
                    die("corsgate_evaluate failed");
                }
                printf("D %d %u\n", d.action == CORSGATE_ACTION_RESPOND,
                       (unsigned)d.status);
                for (size_t i = 0; i < d.headers_len; i++) {
                    corsgate_header h;

                    if (corsgate_decision_header(&d, i, &h) != 0) {
                        die("corsgate_decision_header failed");
                    }
                    printf("R ");
                    put_hex(h.name.ptr, h.name.len);
                    fputc(' ', stdout);
                    put_hex(h.value.ptr, h.value.len);
                    fputc('\n', stdout);
                }
                printf("E\n");
                corsgate_policy_free(p);
            }
            for (size_t i = 0; i < nlines; i++) {
                free(names[i].ptr);
                free(values[i].ptr);
            }
            nlines = 0;
            break;
        }
        default:
            die("unknown line");
        }
    }
    free(policy.ptr);
    free(method.ptr);
    fclose(in);
    return 0;
}
