/* zerobuffer: a view of every buffer on the host, for ls and top.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything is read without attaching and without mapping anything:
 * zb_inspect() and zb_inspect_metadata() read with pread() and open only
 * regular files, read-only, so a hostile or truncated object in /dev/shm
 * is skipped (or shown as what it claims) and never crashes us.
 */
#include "zerobuffer-tool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ health */

const char *
tool_health (uint64_t payload_size, uint64_t free_bytes, double *percent)
{
  uint64_t used;

  if (payload_size == 0 || free_bytes > payload_size) {
    *percent = -1;
    return "Invalid";
  }
  used = payload_size - free_bytes;
  *percent = (double) used * 100.0 / (double) payload_size;
  /* Exact thresholds: used / size < 80 % and <= 95 %, in integers. */
#ifdef __SIZEOF_INT128__
  if ((unsigned __int128) used * 100 < (unsigned __int128) payload_size * 80)
    return "Healthy";
  if ((unsigned __int128) used * 100 <= (unsigned __int128) payload_size * 95)
    return "Degraded";
#else
  if (*percent < 80.0)
    return "Healthy";
  if (*percent <= 95.0)
    return "Degraded";
#endif
  return "Critical";
}

/* ------------------------------------------------------- tiny JSON */

/* The metadata our elements write is {"type": "...", "version": "...",
 * "caps": "...", "element_name": "..."}: only the top-level strings
 * "type" and "caps" are wanted, and anything that is not such an object
 * is "not JSON".  A parser of just that much, bounded by the input. */
typedef struct
{
  const char *p, *end;
} json_in;

static void
json_ws (json_in * in)
{
  while (in->p < in->end && (*in->p == ' ' || *in->p == '\t'
          || *in->p == '\n' || *in->p == '\r'))
    in->p++;
}

/* A string at in->p into out (printable, cut to len); 0 on success. */
static int
json_str (json_in * in, char *out, size_t len)
{
  size_t n = 0;

  if (in->p >= in->end || *in->p != '"')
    return -1;
  in->p++;
  while (in->p < in->end && *in->p != '"') {
    unsigned char c = (unsigned char) *in->p++;

    if (c < 0x20)
      return -1;
    if (c == '\\') {
      if (in->p >= in->end)
        return -1;
      c = (unsigned char) *in->p++;
      switch (c) {
        case 'n':
        case 't':
        case 'r':
        case 'b':
        case 'f':
          c = ' ';
          break;
        case 'u':
          if (in->end - in->p < 4)
            return -1;
          in->p += 4;
          c = '?';
          break;
        case '"':
        case '\\':
        case '/':
          break;
        default:
          return -1;
      }
    }
    if (out && n + 1 < len)
      out[n++] = (char) c;
  }
  if (in->p >= in->end)
    return -1;
  in->p++;
  if (out && len)
    out[n] = '\0';
  return 0;
}

/* Skip any value (nested up to a sane depth). */
static int
json_skip (json_in * in, int depth)
{
  json_ws (in);
  if (in->p >= in->end || depth > 32)
    return -1;
  if (*in->p == '"')
    return json_str (in, NULL, 0);
  if (*in->p == '{' || *in->p == '[') {
    char close = *in->p == '{' ? '}' : ']';

    in->p++;
    json_ws (in);
    if (in->p < in->end && *in->p == close) {
      in->p++;
      return 0;
    }
    for (;;) {
      if (close == '}') {
        json_ws (in);
        if (json_str (in, NULL, 0) < 0)
          return -1;
        json_ws (in);
        if (in->p >= in->end || *in->p++ != ':')
          return -1;
      }
      if (json_skip (in, depth + 1) < 0)
        return -1;
      json_ws (in);
      if (in->p >= in->end)
        return -1;
      if (*in->p == ',') {
        in->p++;
        continue;
      }
      if (*in->p++ != close)
        return -1;
      return 0;
    }
  }
  /* number, true, false, null */
  if (!((*in->p >= '0' && *in->p <= '9') || *in->p == '-' || *in->p == 't'
          || *in->p == 'f' || *in->p == 'n'))
    return -1;
  while (in->p < in->end && *in->p != ',' && *in->p != '}' && *in->p != ']'
      && *in->p != ' ' && *in->p != '\n' && *in->p != '\r' && *in->p != '\t')
    in->p++;
  return 0;
}

static int
parse_gst_json (const char *text, size_t len, tool_buffer * b)
{
  json_in in = { text, text + len };

  json_ws (&in);
  if (in.p >= in.end || *in.p++ != '{')
    return -1;
  json_ws (&in);
  if (in.p < in.end && *in.p == '}')
    in.p++;
  else
    for (;;) {
      char key[16];

      json_ws (&in);
      if (json_str (&in, key, sizeof key) < 0)
        return -1;
      json_ws (&in);
      if (in.p >= in.end || *in.p++ != ':')
        return -1;
      json_ws (&in);
      if (strcmp (key, "type") == 0 && in.p < in.end && *in.p == '"') {
        if (json_str (&in, b->meta_type, sizeof b->meta_type) < 0)
          return -1;
      } else if (strcmp (key, "caps") == 0 && in.p < in.end && *in.p == '"') {
        if (json_str (&in, b->caps, sizeof b->caps) < 0)
          return -1;
      } else if (json_skip (&in, 0) < 0) {
        return -1;
      }
      json_ws (&in);
      if (in.p >= in.end)
        return -1;
      if (*in.p == ',') {
        in.p++;
        continue;
      }
      if (*in.p++ != '}')
        return -1;
      break;
    }
  /* Trailing blanks or a C string's NUL are fine; more is not JSON. */
  while (in.p < in.end && (*in.p == '\0' || *in.p == ' ' || *in.p == '\n'
          || *in.p == '\r' || *in.p == '\t'))
    in.p++;
  return in.p == in.end ? 0 : -1;
}

/* ------------------------------------------------------------- view */

static void
read_metadata (tool_buffer * b)
{
  char text[8192];
  size_t len = 0;

  if (zb_inspect_metadata (b->name, text, sizeof text, &len) != ZB_OK)
    return;
  b->has_metadata = 1;
  b->meta_len = len;
  /* Only a whole document can be parsed; ours are a few hundred bytes. */
  if (len <= sizeof text && parse_gst_json (text, len, b) == 0) {
    b->is_json = 1;
  } else {
    b->meta_type[0] = '\0';
    b->caps[0] = '\0';
  }
}

typedef struct
{
  zb_stale_info *v;
  size_t n, cap;
} stale_list;

static void
note_stale (const zb_stale_info * si, void *user)
{
  stale_list *l = user;

  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 16;
    zb_stale_info *nv = realloc (l->v, ncap * sizeof *nv);

    if (nv == NULL)
      return;
    l->v = nv;
    l->cap = ncap;
  }
  l->v[l->n++] = *si;
}

static int
by_name (const void *a, const void *b)
{
  return strcmp (((const tool_buffer *) a)->name,
      ((const tool_buffer *) b)->name);
}

int
tool_view_take (tool_view * view)
{
  stale_list stale = { NULL, 0, 0 };
  DIR *d;
  struct dirent *e;
  size_t cap = 0, j;

  view->v = NULL;
  view->n = 0;
  d = opendir ("/dev/shm");
  if (d == NULL)
    return -1;
  /* What clean would remove: its own dry run, once for all buffers. */
  zb_clean_stale (ZB_CLEAN_DRY_RUN | ZB_CLEAN_UNMARKED, note_stale, &stale);
  while ((e = readdir (d)) != NULL) {
    tool_buffer *b;
    zb_info info;

    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
      continue;
    if (zb_validate_name (e->d_name) != ZB_OK)
      continue;
    if (zb_inspect (e->d_name, &info) != ZB_OK)
      continue;
    /* A valid v1 header whose blocks fit the object, nothing less. */
    if (info.oieb_size != ZB_OIEB_SIZE || info.version[0] != 1
        || info.payload_size == 0 || info.payload_size > info.mapping_size
        || info.metadata_size > info.mapping_size
        || ZB_OIEB_SIZE + info.metadata_size + info.payload_size >
        info.mapping_size)
      continue;
    if (view->n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      tool_buffer *nv = realloc (view->v, ncap * sizeof *nv);

      if (nv == NULL)
        break;
      view->v = nv;
      cap = ncap;
    }
    b = &view->v[view->n++];
    memset (b, 0, sizeof *b);
    /* zb_validate_name() passed: at most ZB_NAME_MAX bytes */
    memcpy (b->name, e->d_name, strlen (e->d_name) + 1);
    b->info = info;
    b->sample_pos = info.payload_write_pos;
    b->sample_count = info.payload_written_count;
    b->health = tool_health (info.payload_size, info.payload_free_bytes,
        &b->used_percent);
    read_metadata (b);
    for (j = 0; j < stale.n; j++)
      if (strcmp (stale.v[j].name, b->name) == 0) {
        b->stale = stale.v[j].stale;
        snprintf (b->stale_reason, sizeof b->stale_reason, "%s",
            stale.v[j].reason);
        break;
      }
  }
  closedir (d);
  free (stale.v);
  if (view->n > 1)
    qsort (view->v, view->n, sizeof *view->v, by_name);
  return 0;
}

void
tool_view_free (tool_view * view)
{
  free (view->v);
  view->v = NULL;
  view->n = 0;
}

/* ------------------------------------------------------------- output */

void
tool_json_string (FILE * out, const char *s, size_t n)
{
  size_t i;

  fputc ('"', out);
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) s[i];

    if (c == '"' || c == '\\')
      fprintf (out, "\\%c", c);
    else if (c >= 0x20 && c < 0x7f)
      fputc (c, out);
    else
      fprintf (out, "\\u%04x", c);
  }
  fputc ('"', out);
}

static const char *
state_name (zb_peer_state s)
{
  return s == ZB_PEER_ALIVE ? "alive" : s == ZB_PEER_DEAD ? "dead" : "none";
}

void
tool_json_buffer (FILE * out, const tool_buffer * b, int with_rates)
{
  const zb_info *i = &b->info;

  fputs ("{\"name\":", out);
  tool_json_string (out, b->name, strlen (b->name));
  fprintf (out, ",\"payload_size\":%" PRIu64 ",\"metadata_size\":%" PRIu64
      ",\"mapping_size\":%" PRIu64 ",\"payload_free_bytes\":%" PRIu64,
      i->payload_size, i->metadata_size, i->mapping_size,
      i->payload_free_bytes);
  fprintf (out, ",\"writer\":{\"pid\":%" PRIu64 ",\"state\":\"%s\"}"
      ",\"reader\":{\"pid\":%" PRIu64 ",\"state\":\"%s\"}", i->writer_pid,
      state_name (i->writer_state), i->reader_pid,
      state_name (i->reader_state));
  if (b->used_percent < 0)
    fputs (",\"utilization\":null", out);
  else
    fprintf (out, ",\"utilization\":%.2f", b->used_percent);
  fprintf (out, ",\"health\":\"%s\",\"frames_written\":%" PRIu64
      ",\"frames_read\":%" PRIu64, b->health, i->payload_written_count,
      i->payload_read_count);
  if (b->has_metadata)
    fprintf (out, ",\"metadata_bytes\":%zu", b->meta_len);
  else
    fputs (",\"metadata_bytes\":null", out);
  fputs (",\"metadata_type\":", out);
  if (b->is_json && b->meta_type[0])
    tool_json_string (out, b->meta_type, strlen (b->meta_type));
  else
    fputs ("null", out);
  fputs (",\"caps\":", out);
  if (b->is_json && b->caps[0])
    tool_json_string (out, b->caps, strlen (b->caps));
  else
    fputs ("null", out);
  fprintf (out, ",\"stale\":%s,\"stale_reason\":", b->stale ? "true" :
      "false");
  tool_json_string (out, b->stale_reason, strlen (b->stale_reason));
  if (with_rates) {
    if (b->have_rates)
      fprintf (out, ",\"frames_per_s\":%.2f,\"mb_per_s\":%.3f",
          b->frames_per_s, b->mb_per_s);
    else
      fputs (",\"frames_per_s\":null,\"mb_per_s\":null", out);
  }
  fputc ('}', out);
}

void
tool_printable (char *out, size_t len, const char *s)
{
  size_t i;

  if (len == 0)
    return;
  for (i = 0; s[i] && i + 1 < len; i++)
    out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  out[i] = '\0';
}

void
tool_human_size (char *out, size_t len, uint64_t bytes)
{
  static const char units[] = "KMGTPE";
  double v = (double) bytes;
  int u = -1;

  if (bytes < 1024) {
    snprintf (out, len, "%" PRIu64 "B", bytes);
    return;
  }
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    u++;
  }
  snprintf (out, len, "%.1f%c", v, units[u]);
}
