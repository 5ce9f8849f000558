/* zerobuffer: what the subcommands in their own files share.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef ZEROBUFFER_TOOL_H
#define ZEROBUFFER_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zerobuffer/zerobuffer.h>

/* Exit statuses besides 0 and 128 + signal (as in zerobuffer-cli.c). */
#define TOOL_EXIT_FAIL 1
#define TOOL_EXIT_USAGE 2

/* ------------------------------------------------------------ health */

/* The protocol README's health of a ring: utilization = (payload_size -
 * payload_free_bytes) / payload_size; Healthy below 80 %, Degraded from
 * 80 to 95 %, Critical above 95 %.  "Invalid" (and *percent -1) when the
 * free bytes exceed the ring, which only a broken peer writes. */
const char *tool_health (uint64_t payload_size, uint64_t free_bytes,
    double *percent);

/* ------------------------------------------------- a view of the host */

typedef struct
{
  char name[ZB_NAME_MAX + 1];
  zb_info info;
  double used_percent;          /* -1: invalid */
  const char *health;
  /* metadata: has_metadata 0 none, 1 some (meta_len bytes); when it is
   * GStreamer's JSON, its "type" and "caps" strings */
  int has_metadata;
  size_t meta_len;
  char meta_type[64];
  char caps[1024];
  int is_json;
  /* what `zerobuffer clean` would do */
  int stale;
  char stale_reason[256];
  /* top: rates since the previous refresh (valid once seen twice) */
  int have_rates;
  double frames_per_s, mb_per_s;
  uint64_t bytes_acc;           /* ring bytes counted since that refresh */
  uint64_t sample_pos, sample_count;    /* write position and count at the
                                         * last sample */
} tool_buffer;

typedef struct
{
  tool_buffer *v;
  size_t n;
} tool_view;

/* Every ZeroBuffer v1 buffer in /dev/shm, sorted by name: objects whose
 * header is a valid v1 header whose blocks fit the object.  Anything else
 * is skipped; nothing is created or changed.  0, or -1 when /dev/shm
 * cannot be listed (errno). */
int tool_view_take (tool_view * view);
void tool_view_free (tool_view * view);

/* JSON string (with quotes) of n bytes; anything outside printable ASCII
 * escaped, so the document is valid whatever the bytes. */
void tool_json_string (FILE * out, const char *s, size_t n);
/* One buffer as a JSON object (rates too when with_rates). */
void tool_json_buffer (FILE * out, const tool_buffer * b, int with_rates);

/* Printable copy of s for a terminal: control and non-ASCII bytes as '?'. */
void tool_printable (char *out, size_t len, const char *s);
/* "64.0K", "32.0M", "512B" */
void tool_human_size (char *out, size_t len, uint64_t bytes);

/* The subcommands (argc/argv start at the subcommand's name). */
int cmd_ls (int argc, char **argv);
int cmd_top (int argc, char **argv);
int cmd_clean (int argc, char **argv);

#endif /* ZEROBUFFER_TOOL_H */
