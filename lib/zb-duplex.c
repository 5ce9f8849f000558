/* libzerobuffer: the duplex channel, two buffers facing each other.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A channel CH is CH_request (the server's reader, the client's writer) and
 * CH_response (the client's reader, the server's writer).  The objects here
 * only run the connect sequence, the lifecycle and the liveness checks; the
 * frames go through the ordinary reader and writer, which the callers drive
 * themselves (a GStreamer element with its own pool and allocator, the
 * tool, the tests).
 *
 * The client's order follows what every upstream server accepts
 * (docs/library.md, "Duplex channel"): the request writer first, because
 * the server must exist; then the metadata, because released upstream
 * servers read it once, the moment they attach to CH_response; then
 * CH_response; then a wait for the server's writer, because upstream
 * servers give up about 5 s after they start and a client must not send
 * into a channel nobody will answer.
 */
#include "zb-private.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest slice of a wait that must notice an interrupt flag we own (the
 * library's own waits are woken at once). */
#define DUPLEX_SLICE_MS 50

struct zb_duplex_client
{
  char channel[ZB_NAME_MAX + 1];
  char request_name[ZB_NAME_MAX + 1];
  char response_name[ZB_NAME_MAX + 1];

  /* Guards w and r against interrupt() and check_server() from other
   * threads, and the liveness memory below. */
  pthread_mutex_t lock;
  zb_writer *w;
  zb_reader *r;
  uint64_t server_pid;          /* CH_request's reader when we attached */
  uint64_t responder_pid;       /* CH_response's writer when it attached */
  int request_had_lock, response_had_lock;
  int attached;

  _Atomic int interrupted;
  zb_error_box err;
};

struct zb_duplex_server
{
  char channel[ZB_NAME_MAX + 1];
  char request_name[ZB_NAME_MAX + 1];
  char response_name[ZB_NAME_MAX + 1];
  zb_reader_options request_options;

  pthread_mutex_t lock;         /* guards r and w against interrupt() */
  zb_reader *r;
  zb_writer *w;

  _Atomic int interrupted;
  zb_error_box err;
};

/* Where the _last_error() getters copy the text for their caller. */
static _Thread_local char client_error_copy[ZB_ERROR_MAX];
static _Thread_local char server_error_copy[ZB_ERROR_MAX];

static int
client_note (zb_duplex_client * c, int rc)
{
  return c ? zb_error_box_note (&c->err, rc) : rc;
}

static int
server_note (zb_duplex_server * s, int rc)
{
  return s ? zb_error_box_note (&s->err, rc) : rc;
}

/* ---------------------------------------------------------------- names */

int
zb_validate_channel_name (const char *channel)
{
  char why[ZB_ERROR_MAX];
  size_t len;

  zb_clear_error ();
  len = channel ? strnlen (channel, ZB_NAME_MAX + 1) : 0;
  if (len > ZB_CHANNEL_NAME_MAX)
    return zb_fail (ZB_EBADNAME, "channel name of %s%zu bytes is longer than "
        "%u: the buffer CHANNEL" ZB_DUPLEX_RESPONSE_SUFFIX " needs a valid "
        "name of at most %u bytes", len > ZB_NAME_MAX ? "over " : "",
        len > ZB_NAME_MAX ? (size_t) ZB_NAME_MAX : len, ZB_CHANNEL_NAME_MAX,
        ZB_NAME_MAX);
  if (zb_validate_name (channel) == ZB_OK)
    return ZB_OK;
  /* "buffer name 'x' ...": the same words about the channel. */
  snprintf (why, sizeof why, "%s", zb_last_error ());
  return zb_fail (ZB_EBADNAME, "channel %s", strncmp (why, "buffer ", 7)
      == 0 ? why + 7 : why);
}

static void
channel_names (const char *channel, char *channel_out, char *request,
    char *response)
{
  snprintf (channel_out, ZB_NAME_MAX + 1, "%s", channel);
  snprintf (request, ZB_NAME_MAX + 1, "%s" ZB_DUPLEX_REQUEST_SUFFIX, channel);
  snprintf (response, ZB_NAME_MAX + 1, "%s" ZB_DUPLEX_RESPONSE_SUFFIX,
      channel);
}

/* --------------------------------------------------------------- client */

int
zb_duplex_client_new (zb_duplex_client ** out, const char *channel)
{
  zb_duplex_client *c;
  int rc;

  zb_clear_error ();
  if (out == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_client_new: NULL argument");
  *out = NULL;
  if ((rc = zb_validate_channel_name (channel)) != ZB_OK)
    return rc;
  c = calloc (1, sizeof *c);
  if (c == NULL)
    return zb_fail (ZB_ENOMEM, "%s: out of memory", channel);
  channel_names (channel, c->channel, c->request_name, c->response_name);
  pthread_mutex_init (&c->lock, NULL);
  atomic_init (&c->interrupted, 0);
  zb_error_box_init (&c->err);
  *out = c;
  return ZB_OK;
}

static int
client_open (zb_duplex_client * c, const zb_writer_options * options,
    int timeout_ms)
{
  int64_t deadline = zb_deadline (timeout_ms);
  zb_writer *w = NULL;
  int rc;

  if (c->w != NULL)
    return zb_fail (ZB_EBUSY, "%s: the client is open already", c->channel);
  /* In slices, so that an interrupt is seen while no writer exists yet. */
  for (;;) {
    int64_t left = zb_remaining (deadline);

    if (atomic_load (&c->interrupted))
      return zb_fail (ZB_ECANCELED, "%s: wait for the server interrupted",
          c->channel);
    rc = zb_writer_open_with_options (&w, c->request_name,
        left < 0 || left > DUPLEX_SLICE_MS ? DUPLEX_SLICE_MS : (int) left,
        options);
    if (rc == ZB_OK)
      break;
    if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER)
      return rc;                /* the writer's detail says why */
    if (zb_remaining (deadline) == 0) {
      if (rc == ZB_ENOTFOUND)
        return zb_fail (rc, "%s: no duplex server: %s does not exist (waited "
            "%d ms)", c->channel, c->request_name, timeout_ms);
      return zb_fail (rc, "%s: no live duplex server: the reader of %s is "
          "gone (waited %d ms)", c->channel, c->request_name, timeout_ms);
    }
  }

  pthread_mutex_lock (&c->lock);
  c->w = w;
  c->request_had_lock = 0;
  zb_writer_probe_reader (w, &c->server_pid, &c->request_had_lock);
  if (atomic_load (&c->interrupted))
    zb_writer_interrupt (w, 1);
  pthread_mutex_unlock (&c->lock);
  return ZB_OK;
}

int
zb_duplex_client_open (zb_duplex_client * c,
    const zb_writer_options * request_options, int timeout_ms)
{
  zb_clear_error ();
  if (c == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_client_open: no client");
  return client_note (c, client_open (c, request_options, timeout_ms));
}

static int
client_set_metadata (zb_duplex_client * c, const void *data, size_t size)
{
  const void *have;
  size_t have_size;
  int rc;

  if (c->w == NULL)
    return zb_fail (ZB_EINVAL, "%s: open the client before writing "
        "metadata", c->channel);
  if (c->r != NULL)
    return zb_fail (ZB_EBUSY, "%s: metadata goes into %s before %s exists "
        "(servers read it once, when they attach)", c->channel,
        c->request_name, c->response_name);
  if (!zb_writer_has_metadata (c->w))
    return zb_writer_set_metadata (c->w, data, size);
  if ((rc = zb_writer_get_metadata (c->w, &have, &have_size)) != ZB_OK)
    return rc;
  if (have_size == size && (size == 0 || memcmp (have, data, size) == 0))
    return ZB_OK;
  return zb_fail (ZB_EMETAWRITTEN, "%s: %s already holds %zu bytes of other "
      "metadata (from an earlier client; the server read it then)",
      c->channel, c->request_name, have_size);
}

int
zb_duplex_client_set_metadata (zb_duplex_client * c, const void *data,
    size_t size)
{
  zb_clear_error ();
  if (c == NULL || data == NULL || size == 0)
    return client_note (c, zb_fail (ZB_EINVAL, "zb_duplex_client_set_"
            "metadata: empty metadata"));
  return client_note (c, client_set_metadata (c, data, size));
}

/* The server's state as the client sees it; the caller holds c->lock. */
static int
check_server_locked (zb_duplex_client * c)
{
  uint64_t pid;
  int state;

  if (c->w == NULL)
    return zb_fail (ZB_EINVAL, "%s: the client is not open", c->channel);
  state = zb_writer_probe_reader (c->w, &pid, &c->request_had_lock);
  if (state == ZB_PEER_NONE)
    return zb_fail (ZB_ESERVERGONE, "%s: the server closed %s", c->channel,
        c->request_name);
  if (pid != c->server_pid)
    return zb_fail (ZB_ESERVERGONE, "%s: another server (pid %llu) owns %s "
        "now", c->channel, (unsigned long long) pid, c->request_name);
  if (state == ZB_PEER_DEAD)
    return zb_fail (ZB_ESERVERGONE, "%s: the server (pid %llu) died",
        c->channel, (unsigned long long) pid);
  if (c->r == NULL || !c->attached)
    return ZB_OK;
  state = zb_reader_probe_writer (c->r, &pid, &c->response_had_lock);
  if (state == ZB_PEER_NONE)
    return zb_fail (ZB_ESERVERGONE, "%s: the server closed its side of %s",
        c->channel, c->response_name);
  if (pid != c->responder_pid)
    return zb_fail (ZB_ESERVERGONE, "%s: another writer (pid %llu) took the "
        "server's place on %s", c->channel, (unsigned long long) pid,
        c->response_name);
  if (state == ZB_PEER_DEAD)
    return zb_fail (ZB_ESERVERGONE, "%s: the server (pid %llu) died",
        c->channel, (unsigned long long) pid);
  return ZB_OK;
}

static int
client_connect_response (zb_duplex_client * c,
    const zb_reader_options * options, int timeout_ms)
{
  int64_t deadline = zb_deadline (timeout_ms);
  zb_reader *r;
  int rc;

  if (c->w == NULL)
    return zb_fail (ZB_EINVAL, "%s: open the client before creating %s",
        c->channel, c->response_name);
  if (c->attached)
    return ZB_OK;
  if (c->r == NULL) {
    zb_reader_options o = *options;

    /* Matched by order: the server's numbers are only informational. */
    o.allow_sequence_gaps = 1;
    if ((rc = zb_reader_create (&r, c->response_name, &o)) != ZB_OK)
      return rc;
    pthread_mutex_lock (&c->lock);
    c->r = r;
    if (atomic_load (&c->interrupted))
      zb_reader_interrupt (r, 1);
    pthread_mutex_unlock (&c->lock);
  }
  r = c->r;

  /* The buffer stays when the wait fails: a caller waiting in slices, or
   * one that was interrupted, calls again; close() removes it. */
  for (;;) {
    int64_t left = zb_remaining (deadline);

    rc = zb_reader_wait_writer (r, left < 0 || left > 100 ? 100 : (int) left);
    if (rc == ZB_OK) {
      uint64_t pid;

      pthread_mutex_lock (&c->lock);
      c->response_had_lock = 0;
      zb_reader_probe_writer (r, &pid, &c->response_had_lock);
      c->responder_pid = pid;
      c->attached = 1;
      pthread_mutex_unlock (&c->lock);
      return ZB_OK;
    }
    if (rc != ZB_ETIMEDOUT)
      return rc;
    /* A server that left meanwhile never attaches: say so at once. */
    pthread_mutex_lock (&c->lock);
    rc = check_server_locked (c);
    pthread_mutex_unlock (&c->lock);
    if (rc != ZB_OK)
      return rc;
    if (zb_remaining (deadline) == 0)
      return zb_fail (ZB_ENOATTACH, "%s: the server did not attach to %s "
          "within %d ms (upstream servers give up about 5 s after they "
          "start)", c->channel, c->response_name, timeout_ms);
  }
}

int
zb_duplex_client_connect_response (zb_duplex_client * c,
    const zb_reader_options * response_options, int timeout_ms)
{
  zb_clear_error ();
  if (c == NULL || response_options == NULL)
    return client_note (c, zb_fail (ZB_EINVAL, "zb_duplex_client_connect_"
            "response: NULL argument"));
  return client_note (c, client_connect_response (c, response_options,
          timeout_ms));
}

zb_writer *
zb_duplex_client_request_writer (zb_duplex_client * c)
{
  return c ? c->w : NULL;
}

zb_reader *
zb_duplex_client_response_reader (zb_duplex_client * c)
{
  return c ? c->r : NULL;
}

int
zb_duplex_client_check_server (zb_duplex_client * c)
{
  int rc;

  zb_clear_error ();
  if (c == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_client_check_server: no client");
  pthread_mutex_lock (&c->lock);
  rc = check_server_locked (c);
  pthread_mutex_unlock (&c->lock);
  return client_note (c, rc);
}

void
zb_duplex_client_interrupt (zb_duplex_client * c, int on)
{
  if (c == NULL)
    return;
  atomic_store (&c->interrupted, on ? 1 : 0);
  pthread_mutex_lock (&c->lock);
  if (c->w)
    zb_writer_interrupt (c->w, on);
  if (c->r)
    zb_reader_interrupt (c->r, on);
  pthread_mutex_unlock (&c->lock);
}

static void
client_free (zb_duplex_client * c)
{
  pthread_mutex_destroy (&c->lock);
  zb_error_box_destroy (&c->err);
  free (c);
}

void
zb_duplex_client_close (zb_duplex_client * c)
{
  if (c == NULL)
    return;
  /* Requests first: the server sees end of stream, and our post wakes it
   * at once; then the responses it may still be writing go nowhere. */
  zb_writer_close (c->w);
  zb_reader_close (c->r);
  client_free (c);
}

zb_writer *
zb_duplex_client_close_keep_writer (zb_duplex_client * c)
{
  zb_writer *w;

  if (c == NULL)
    return NULL;
  w = c->w;
  zb_reader_close (c->r);
  client_free (c);
  return w;
}

const char *
zb_duplex_client_channel (const zb_duplex_client * c)
{
  return c ? c->channel : "";
}

const char *
zb_duplex_client_last_error (zb_duplex_client * c)
{
  if (c == NULL)
    return "";
  return zb_error_box_copy (&c->err, client_error_copy);
}

/* --------------------------------------------------------------- server */

int
zb_duplex_server_create (zb_duplex_server ** out, const char *channel,
    const zb_reader_options * request_options)
{
  zb_duplex_server *s;
  int rc;

  zb_clear_error ();
  if (out == NULL || request_options == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_server_create: NULL argument");
  *out = NULL;
  if ((rc = zb_validate_channel_name (channel)) != ZB_OK)
    return rc;
  s = calloc (1, sizeof *s);
  if (s == NULL)
    return zb_fail (ZB_ENOMEM, "%s: out of memory", channel);
  channel_names (channel, s->channel, s->request_name, s->response_name);
  s->request_options = *request_options;
  if ((rc = zb_reader_create (&s->r, s->request_name, request_options))
      != ZB_OK) {
    free (s);
    return rc;
  }
  pthread_mutex_init (&s->lock, NULL);
  atomic_init (&s->interrupted, 0);
  zb_error_box_init (&s->err);
  *out = s;
  return ZB_OK;
}

int
zb_duplex_server_wait_client (zb_duplex_server * s, int timeout_ms)
{
  int rc;

  zb_clear_error ();
  if (s == NULL || s->r == NULL)
    return server_note (s, zb_fail (ZB_EINVAL, "zb_duplex_server_wait_"
            "client: no server"));
  rc = zb_reader_wait_writer (s->r, timeout_ms);
  if (rc == ZB_ETIMEDOUT)
    rc = zb_fail (rc, "%s: no client attached to %s within %d ms",
        s->channel, s->request_name, timeout_ms);
  return server_note (s, rc);
}

static int
server_attach (zb_duplex_server * s, int timeout_ms)
{
  int64_t deadline = zb_deadline (timeout_ms);
  zb_writer_options wopt = {.spin_us = s->request_options.spin_us };
  zb_writer *w = NULL;
  int rc;

  if (s->r == NULL)
    return zb_fail (ZB_EINVAL, "%s: the server is closed", s->channel);
  if (s->w != NULL)
    return zb_fail (ZB_EBUSY, "%s: attached to %s already", s->channel,
        s->response_name);
  for (;;) {
    int64_t left = zb_remaining (deadline);

    if (atomic_load (&s->interrupted))
      return zb_fail (ZB_ECANCELED, "%s: wait for %s interrupted",
          s->channel, s->response_name);
    rc = zb_writer_open_with_options (&w, s->response_name,
        left < 0 || left > DUPLEX_SLICE_MS ? DUPLEX_SLICE_MS : (int) left,
        &wopt);
    if (rc == ZB_OK)
      break;
    if (rc != ZB_ENOTFOUND && rc != ZB_ENOREADER)
      return rc;
    if (zb_remaining (deadline) == 0)
      return zb_fail (rc, "%s: %s within %d ms", s->channel,
          rc == ZB_ENOTFOUND ? "no client created its response buffer" :
          "the reader of the response buffer is gone", timeout_ms);
  }
  pthread_mutex_lock (&s->lock);
  s->w = w;
  if (atomic_load (&s->interrupted))
    zb_writer_interrupt (w, 1);
  pthread_mutex_unlock (&s->lock);
  return ZB_OK;
}

int
zb_duplex_server_attach (zb_duplex_server * s, int timeout_ms)
{
  zb_clear_error ();
  if (s == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_server_attach: no server");
  return server_note (s, server_attach (s, timeout_ms));
}

zb_reader *
zb_duplex_server_request_reader (zb_duplex_server * s)
{
  return s ? s->r : NULL;
}

zb_writer *
zb_duplex_server_response_writer (zb_duplex_server * s)
{
  return s ? s->w : NULL;
}

/* Detach from both buffers; the caller may create the request anew. */
static void
server_detach (zb_duplex_server * s)
{
  zb_writer *w;
  zb_reader *r;

  pthread_mutex_lock (&s->lock);
  w = s->w;
  r = s->r;
  s->w = NULL;
  s->r = NULL;
  pthread_mutex_unlock (&s->lock);
  /* Responses first: the client sees end of stream after the last one,
   * then its next request write finds the reader gone. */
  zb_writer_close (w);
  zb_reader_close (r);
}

int
zb_duplex_server_reset (zb_duplex_server * s)
{
  zb_reader *r;
  int rc;

  zb_clear_error ();
  if (s == NULL)
    return zb_fail (ZB_EINVAL, "zb_duplex_server_reset: no server");
  server_detach (s);
  if ((rc = zb_reader_create (&r, s->request_name, &s->request_options))
      != ZB_OK)
    return server_note (s, rc);
  pthread_mutex_lock (&s->lock);
  s->r = r;
  if (atomic_load (&s->interrupted))
    zb_reader_interrupt (r, 1);
  pthread_mutex_unlock (&s->lock);
  return server_note (s, ZB_OK);
}

void
zb_duplex_server_interrupt (zb_duplex_server * s, int on)
{
  if (s == NULL)
    return;
  atomic_store (&s->interrupted, on ? 1 : 0);
  pthread_mutex_lock (&s->lock);
  if (s->r)
    zb_reader_interrupt (s->r, on);
  if (s->w)
    zb_writer_interrupt (s->w, on);
  pthread_mutex_unlock (&s->lock);
}

void
zb_duplex_server_close (zb_duplex_server * s)
{
  if (s == NULL)
    return;
  server_detach (s);
  pthread_mutex_destroy (&s->lock);
  zb_error_box_destroy (&s->err);
  free (s);
}

const char *
zb_duplex_server_channel (const zb_duplex_server * s)
{
  return s ? s->channel : "";
}

const char *
zb_duplex_server_last_error (zb_duplex_server * s)
{
  if (s == NULL)
    return "";
  return zb_error_box_copy (&s->err, server_error_copy);
}
