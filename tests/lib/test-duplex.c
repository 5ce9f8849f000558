/* The duplex channel: names, the connect sequence and its errors, and the
 * ten scenarios of upstream's Harmony feature 13 against our own client
 * and server (servers in a thread, or a child process where one must die).
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <pthread.h>

static const char *self_exe;

/* ------------------------------------------------------------ helpers */

typedef struct channel
{
  char name[ZB_NAME_MAX + 1];
  char request[ZB_NAME_MAX + 16];
  char response[ZB_NAME_MAX + 16];
} channel;

/* A fresh channel name; both buffers are removed at exit whatever
 * happens. */
static void
channel_make (channel * ch, const char *test)
{
  snprintf (ch->name, sizeof ch->name, "zbt-dx-%s-%d-%d", test,
      (int) getpid (), atomic_fetch_add (&zbt_counter, 1));
  snprintf (ch->request, sizeof ch->request, "%s_request", ch->name);
  snprintf (ch->response, sizeof ch->response, "%s_response", ch->name);
  zbt_register_name (ch->request);
  zbt_register_name (ch->response);
}

static int
channel_gone (const channel * ch)
{
  int a = zbt_all_gone (ch->request), b = zbt_all_gone (ch->response);

  return a && b;
}

enum
{
  H_ECHO, H_XOR, H_INVERT, H_DOUBLE
};

/* A server in a thread: serves sessions with a handler until told to
 * stop, resetting the channel between sessions. */
typedef struct server_ctx
{
  zb_duplex_server *s;
  int handler;
  uint8_t key;
  int delay_ms;
  int gate_after;               /* from this many requests on, wait for
                                 * stop before answering; -1: never */
  int sessions;                 /* sessions to serve */
  atomic_int stop;

  _Atomic uint64_t requests, responses, failed;
  atomic_int end_rc;            /* what ended the last session */
  atomic_int resets;            /* sessions ended and channel made anew */
  atomic_int write_rc;          /* the response write that failed */
  char write_detail[512];
  char metadata[256];           /* as read when attaching; meta_lock */
  pthread_t thread;
} server_ctx;

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;

/* x->metadata equals want (it is written by the server's thread). */
static int
metadata_is (server_ctx * x, const char *want)
{
  int same;

  pthread_mutex_lock (&meta_lock);
  same = strcmp (x->metadata, want) == 0;
  pthread_mutex_unlock (&meta_lock);
  return same;
}

static uint64_t
handler_size (int handler, uint64_t size)
{
  return handler == H_DOUBLE ? 2 * size : size;
}

static void
handler_apply (int handler, uint8_t key, const uint8_t * in, size_t n,
    uint8_t * out)
{
  size_t i;

  for (i = 0; i < n; i++)
    out[i] = handler == H_XOR ? in[i] ^ key : handler == H_INVERT ?
        (uint8_t) (255 - in[i]) : in[i];
  if (handler == H_DOUBLE)
    memcpy (out + n, in, n);
}

/* One session: returns the status that ended it. */
static int
serve_session (server_ctx * x)
{
  zb_reader *r;
  zb_writer *w;
  const void *meta;
  size_t meta_size;
  int rc;

  rc = zb_duplex_server_wait_client (x->s, ZBT_LONG_MS);
  if (rc != ZB_OK)
    return rc;
  rc = zb_duplex_server_attach (x->s, ZBT_MS (5000));
  if (rc != ZB_OK)
    return rc;
  r = zb_duplex_server_request_reader (x->s);
  w = zb_duplex_server_response_writer (x->s);
  pthread_mutex_lock (&meta_lock);
  if (zb_reader_get_metadata (r, &meta, &meta_size) == ZB_OK)
    snprintf (x->metadata, sizeof x->metadata, "%.*s", (int) meta_size,
        (const char *) meta);
  else
    x->metadata[0] = '\0';
  pthread_mutex_unlock (&meta_lock);
  for (;;) {
    zb_frame f;
    void *p;
    uint64_t size;

    rc = zb_reader_acquire (r, &f, ZBT_LONG_MS);
    if (rc != ZB_OK)
      return rc;
    atomic_fetch_add (&x->requests, 1);
    if (x->gate_after >= 0
        && atomic_load (&x->requests) > (uint64_t) x->gate_after) {
      /* Disposed with this request pending: it is never answered. */
      (void) WAIT_UNTIL (atomic_load (&x->stop), 15000);
      zb_reader_release (r, &f);
      return ZB_ECANCELED;
    }
    if (x->delay_ms)
      zbt_sleep_ms (x->delay_ms);
    size = handler_size (x->handler, f.size);
    rc = zb_writer_reserve (w, (size_t) size, &p, ZBT_LONG_MS);
    if (rc == ZB_OK) {
      handler_apply (x->handler, x->key, f.data, f.size, p);
      rc = zb_writer_commit (w, (size_t) size);
    }
    zb_reader_release (r, &f);
    if (rc == ZB_OK) {
      atomic_fetch_add (&x->responses, 1);
      continue;
    }
    snprintf (x->write_detail, sizeof x->write_detail, "%s",
        zb_writer_last_error (w));
    atomic_store (&x->write_rc, rc);
    if (rc != ZB_ETOOLARGE)
      return rc;
    atomic_fetch_add (&x->failed, 1);     /* no response, as upstream */
  }
}

static void *
server_run (void *arg)
{
  server_ctx *x = arg;
  int i;

  for (i = 0; i < x->sessions; i++) {
    atomic_store (&x->end_rc, serve_session (x));
    if (i + 1 < x->sessions) {
      if (zb_duplex_server_reset (x->s) != ZB_OK)
        break;
      atomic_fetch_add (&x->resets, 1);
    }
  }
  return NULL;
}

/* Create the channel here (so it exists when this returns) and serve it
 * in a thread. */
static void
server_start (server_ctx * x, const channel * ch, uint64_t M, uint64_t P,
    int handler)
{
  zb_reader_options o = zbt_reader_options (M, P);

  if (x->sessions == 0)
    x->sessions = 1;
  x->handler = handler;
  if (x->key == 0)
    x->key = 0xff;
  if (x->gate_after == 0)
    x->gate_after = -1;
  REQUIRE_RC (zb_duplex_server_create (&x->s, ch->name, &o), 0);
  REQUIRE (pthread_create (&x->thread, NULL, server_run, x) == 0);
}

static void
server_join (server_ctx * x)
{
  pthread_join (x->thread, NULL);
  zb_duplex_server_close (x->s);
  x->s = NULL;
}

typedef struct client
{
  zb_duplex_client *c;
  zb_writer *w;
  zb_reader *r;
} client;

static void
client_connect_meta (client * cl, const channel * ch, uint64_t response_P,
    const char *meta)
{
  zb_reader_options o = zbt_reader_options (4096, response_P);
  zb_writer_options wo = {.spin_us = zbt_spin_us };

  REQUIRE_RC (zb_duplex_client_new (&cl->c, ch->name), 0);
  REQUIRE_RC (zb_duplex_client_open (cl->c, &wo, ZBT_LONG_MS), 0);
  if (meta)
    REQUIRE_RC (zb_duplex_client_set_metadata (cl->c, meta, strlen (meta)),
        0);
  REQUIRE_RC (zb_duplex_client_connect_response (cl->c, &o, ZBT_LONG_MS), 0);
  cl->w = zb_duplex_client_request_writer (cl->c);
  cl->r = zb_duplex_client_response_reader (cl->c);
  REQUIRE (cl->w != NULL && cl->r != NULL);
}

static void
client_connect (client * cl, const channel * ch, uint64_t response_P)
{
  client_connect_meta (cl, ch, response_P, NULL);
}

/* Send request seq (zbt_fill pattern) of len bytes. */
static int
send_request (client * cl, size_t len, uint64_t seq)
{
  uint8_t *buf = malloc (len);
  int rc;

  zbt_fill (buf, len, seq);
  rc = zb_writer_write (cl->w, buf, len, ZBT_LONG_MS);
  free (buf);
  return rc;
}

/* Read one response and check it is handler(request seq of len bytes). */
static void
expect_response (client * cl, int handler, uint8_t key, size_t len,
    uint64_t seq)
{
  uint64_t size = handler_size (handler, len);
  uint8_t *req = malloc (len), *want = malloc (size);
  zb_frame f;

  zbt_fill (req, len, seq);
  handler_apply (handler, key, req, len, want);
  CHECK_RC (zb_reader_acquire (cl->r, &f, ZBT_LONG_MS), 0);
  CHECK_EQ (f.size, size);
  if (f.size == size)
    CHECK (memcmp (f.data, want, size) == 0);
  zb_reader_release (cl->r, &f);
  free (req);
  free (want);
}

/* --------------------------------------------------------------- names */

static void
test_names (void)
{
  char name[ZB_NAME_MAX + 8];
  zb_duplex_client *c = NULL;
  zb_duplex_server *s = NULL;
  zb_reader_options o = zbt_reader_options (0, 4096);

  CHECK_EQ (ZB_CHANNEL_NAME_MAX, 191);
  CHECK_RC (zb_validate_channel_name ("cam1"), 0);
  CHECK_RC (zb_validate_channel_name (NULL), ZB_EBADNAME);
  CHECK_RC (zb_validate_channel_name (""), ZB_EBADNAME);
  CHECK_RC (zb_validate_channel_name ("../x"), ZB_EBADNAME);
  CHECK (strstr (zb_last_error (), "channel") != NULL);
  CHECK_RC (zb_validate_channel_name (".x"), ZB_EBADNAME);
  memset (name, 'c', ZB_CHANNEL_NAME_MAX);
  name[ZB_CHANNEL_NAME_MAX] = '\0';
  CHECK_RC (zb_validate_channel_name (name), 0);
  name[ZB_CHANNEL_NAME_MAX] = 'c';
  name[ZB_CHANNEL_NAME_MAX + 1] = '\0';
  CHECK_RC (zb_validate_channel_name (name), ZB_EBADNAME);
  CHECK (strstr (zb_last_error (), "191") != NULL);
  memset (name, 'c', ZB_NAME_MAX + 4);
  name[ZB_NAME_MAX + 4] = '\0';
  CHECK_RC (zb_validate_channel_name (name), ZB_EBADNAME);

  /* Refused by both sides, with nothing created anywhere. */
  CHECK_RC (zb_duplex_client_new (&c, "bad/x"), ZB_EBADNAME);
  CHECK (c == NULL);
  CHECK_RC (zb_duplex_server_create (&s, "bad/x", &o), ZB_EBADNAME);
  CHECK (s == NULL);
  name[ZB_CHANNEL_NAME_MAX + 1] = '\0';
  CHECK_RC (zb_duplex_server_create (&s, name, &o), ZB_EBADNAME);
  CHECK (s == NULL);
  CHECK_RC (zb_duplex_client_new (&c, name), ZB_EBADNAME);

  /* The longest channel works end to end. */
  {
    channel ch;
    server_ctx x = { 0 };
    client cl;
    size_t n;

    channel_make (&ch, "long");
    n = strlen (ch.name);
    memset (ch.name + n, 'l', ZB_CHANNEL_NAME_MAX - n);
    ch.name[ZB_CHANNEL_NAME_MAX] = '\0';
    snprintf (ch.request, sizeof ch.request, "%s_request", ch.name);
    snprintf (ch.response, sizeof ch.response, "%s_response", ch.name);
    zbt_register_name (ch.request);
    zbt_register_name (ch.response);
    CHECK_EQ (strlen (ch.response), ZB_NAME_MAX);
    server_start (&x, &ch, 0, 4096, H_ECHO);
    client_connect (&cl, &ch, 4096);
    CHECK_RC (send_request (&cl, 100, 1), 0);
    expect_response (&cl, H_ECHO, 0, 100, 1);
    zb_duplex_client_close (cl.c);
    server_join (&x);
    CHECK_EQ (atomic_load (&x.end_rc), ZB_EOS);
    CHECK (channel_gone (&ch));
  }
}

static void
test_ring_size_for_frames (void)
{
  static const uint64_t sizes[] = { 1, 7, 100, 1000, 4096, 8192 };
  size_t k;

  CHECK_EQ (zb_ring_size_for_frames (100, 1), zb_ring_size_for_frame (100));
  CHECK_EQ (zb_ring_size_for_frames (100, 0), zb_ring_size_for_frame (100));
  CHECK_EQ (zb_ring_size_for_frames (8192, 2), 3 * 8208 + 15);
  CHECK_EQ (zb_ring_size_for_frames (UINT64_MAX - 8, 2), UINT64_MAX);
  CHECK_EQ (zb_ring_size_for_frames (1, UINT64_MAX), UINT64_MAX);

  /* From every write position a filler stream leaves, count frames go in
   * unread, without waiting. */
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    uint64_t count;

    for (count = 1; count <= 4; count++) {
      char name[64];
      zb_reader_options o = zbt_reader_options (0,
          zb_ring_size_for_frames (sizes[k], count));
      zb_reader *r;
      zb_writer *w;
      uint8_t *buf = calloc (1, sizes[k] + 64);
      uint64_t start, i;

      zbt_name (name, sizeof name, "ringsize");
      REQUIRE_RC (zb_reader_create (&r, name, &o), 0);
      REQUIRE_RC (zbt_writer_open (&w, name, 1000), 0);
      for (start = 0; start < 40; start++) {
        zb_frame f;

        /* Move the write position by a frame of a changing size. */
        CHECK_RC (zb_writer_write (w, buf, 1 + (start * 37) % sizes[k], 0),
            0);
        CHECK_RC (zb_reader_acquire (r, &f, 0), 0);
        zb_reader_release (r, &f);
        for (i = 0; i < count; i++)
          CHECK_RC (zb_writer_write (w, buf, sizes[k], 0), 0);
        for (i = 0; i < count; i++) {
          CHECK_RC (zb_reader_acquire (r, &f, 0), 0);
          zb_reader_release (r, &f);
        }
      }
      zb_writer_close (w);
      zb_reader_close (r);
      free (buf);
      CHECK (zbt_all_gone (name));
    }
  }
}

/* ------------------------------------------------------ connect errors */

static void
test_no_server (void)
{
  channel ch;
  zb_duplex_client *c;
  double t0, ms;

  channel_make (&ch, "noserver");
  REQUIRE_RC (zb_duplex_client_new (&c, ch.name), 0);
  CHECK (zb_duplex_client_request_writer (c) == NULL);
  CHECK (zb_duplex_client_response_reader (c) == NULL);
  CHECK_RC (zb_duplex_client_connect_response (c,
          &(zb_reader_options) {.payload_size = 4096}, 0), ZB_EINVAL);
  CHECK_RC (zb_duplex_client_check_server (c), ZB_EINVAL);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_client_open (c, NULL, 300), ZB_ENOTFOUND);
  ms = zbt_now_ms () - t0;
  CHECK (ms >= 290);
  CHECK (ms < ZBT_PROMPT_MS);
  CHECK (strstr (zb_duplex_client_last_error (c), "no duplex server") != NULL);
  CHECK (strstr (zb_duplex_client_last_error (c), ch.request) != NULL);
  zbt_note ("no server: ZB_ENOTFOUND after %.0f ms (%s)", ms,
      zb_duplex_client_last_error (c));
  zb_duplex_client_close (c);
  CHECK (channel_gone (&ch));
}

/* A "server" that creates CHANNEL_request but never attaches (an upstream
 * server past its window, or one that never starts its thread). */
static void
test_server_never_attaches (void)
{
  channel ch;
  zb_reader_options o = zbt_reader_options (4096, 65536);
  zb_reader_options ro = zbt_reader_options (4096, 8192);
  zb_reader *fake;
  zb_duplex_client *c;
  const void *meta;
  size_t meta_size;
  double t0, ms;

  channel_make (&ch, "noattach");
  REQUIRE_RC (zb_reader_create (&fake, ch.request, &o), 0);
  REQUIRE_RC (zb_duplex_client_new (&c, ch.name), 0);
  REQUIRE_RC (zb_duplex_client_open (c, NULL, ZBT_LONG_MS), 0);
  CHECK_RC (zb_duplex_client_open (c, NULL, 0), ZB_EBUSY);
  CHECK_RC (zb_duplex_client_check_server (c), 0);
  CHECK_RC (zb_duplex_client_set_metadata (c, "caps", 4), 0);
  /* The same bytes again are fine (a second client of a server that kept
   * them), other bytes are not. */
  CHECK_RC (zb_duplex_client_set_metadata (c, "caps", 4), 0);
  CHECK_RC (zb_duplex_client_set_metadata (c, "other", 5), ZB_EMETAWRITTEN);
  CHECK_RC (zb_reader_get_metadata (fake, &meta, &meta_size), 0);
  CHECK (meta_size == 4 && memcmp (meta, "caps", 4) == 0);

  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_client_connect_response (c, &ro, 300), ZB_ENOATTACH);
  ms = zbt_now_ms () - t0;
  CHECK (ms >= 290 && ms < ZBT_PROMPT_MS);
  CHECK (strstr (zb_duplex_client_last_error (c), "did not attach") != NULL);
  CHECK (strstr (zb_duplex_client_last_error (c), ch.response) != NULL);
  zbt_note ("server never attaches: %s after %.0f ms (%s)",
      zb_status_name (ZB_ENOATTACH), ms, zb_duplex_client_last_error (c));
  /* The buffer stays for another wait; metadata may no longer change. */
  CHECK (zbt_all_exist (ch.response));
  CHECK_RC (zb_duplex_client_set_metadata (c, "caps", 4), ZB_EBUSY);
  CHECK_RC (zb_duplex_client_connect_response (c, &ro, 50), ZB_ENOATTACH);

  /* The server leaves: the wait ends at once, saying so. */
  zb_reader_close (fake);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_client_connect_response (c, &ro, ZBT_LONG_MS),
      ZB_ESERVERGONE);
  ms = zbt_now_ms () - t0;
  CHECK (ms < ZBT_PROMPT_MS);
  CHECK (strstr (zb_duplex_client_last_error (c), "closed") != NULL);
  CHECK_RC (zb_duplex_client_check_server (c), ZB_ESERVERGONE);
  zb_duplex_client_close (c);
  CHECK (channel_gone (&ch));
}

/* A second client on a channel in use is refused; a server on a channel
 * in use too. */
static void
test_busy (void)
{
  channel ch;
  server_ctx x = { 0 };
  zb_duplex_server *s2;
  zb_duplex_client *c2;
  zb_reader_options o = zbt_reader_options (0, 4096);
  client cl;

  channel_make (&ch, "busy");
  server_start (&x, &ch, 0, 65536, H_ECHO);
  client_connect (&cl, &ch, 8192);
  CHECK_RC (zb_duplex_server_create (&s2, ch.name, &o), ZB_EEXIST);
  REQUIRE_RC (zb_duplex_client_new (&c2, ch.name), 0);
  CHECK_RC (zb_duplex_client_open (c2, NULL, 0), ZB_EWRITERBUSY);
  zb_duplex_client_close (c2);
  CHECK_RC (send_request (&cl, 10, 1), 0);
  expect_response (&cl, H_ECHO, 0, 10, 1);
  CHECK_RC (zb_duplex_client_connect_response (cl.c, &o, 0), 0);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

/* ---------------------------------------------------- Harmony feature 13 */

/* 13.1: 1 B, 1 KiB and 100 KiB through an echo server with 4 KiB / 1 MiB
 * buffers; the client's metadata reaches the server before it attaches. */
static void
test_13_1_basic (void)
{
  static const size_t sizes[] = { 1, 1024, 102400 };
  channel ch;
  server_ctx x = { 0 };
  client cl;
  size_t i;

  channel_make (&ch, "13-1");
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect_meta (&cl, &ch, 1 << 20, "{\"type\":\"gstreamer-filter\"}");
  for (i = 0; i < 3; i++) {
    CHECK_RC (send_request (&cl, sizes[i], i + 1), 0);
    expect_response (&cl, H_ECHO, 0, sizes[i], i + 1);
  }
  CHECK_RC (zb_duplex_client_check_server (cl.c), 0);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK_EQ (atomic_load (&x.end_rc), ZB_EOS);
  CHECK_EQ (atomic_load (&x.responses), 3);
  CHECK (metadata_is (&x, "{\"type\":\"gstreamer-filter\"}"));
  CHECK (channel_gone (&ch));
}

/* 13.2 and 13.3: requests back to back, then every response, in order,
 * none lost or duplicated. */
static void
test_13_2_order (int n)
{
  channel ch;
  server_ctx x = { 0 };
  client cl;
  zb_frame f;
  int i;

  channel_make (&ch, n == 10 ? "13-2" : "13-3");
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect (&cl, &ch, 1 << 20);
  for (i = 0; i < n; i++)
    CHECK_RC (send_request (&cl, 100 + i, 100 + i), 0);
  for (i = 0; i < n; i++) {
    CHECK_RC (zb_reader_acquire (cl.r, &f, ZBT_LONG_MS), 0);
    CHECK_EQ (f.size, 100 + i);
    CHECK_EQ (f.sequence, i + 1);       /* the server's own counter */
    if (f.size == (size_t) (100 + i))
      CHECK (zbt_verify (f.data, f.size, 100 + i) < 0);
    zb_reader_release (cl.r, &f);
  }
  CHECK_RC (zb_reader_acquire (cl.r, &f, 100), ZB_ETIMEDOUT);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK_EQ (atomic_load (&x.requests), n);
  CHECK_EQ (atomic_load (&x.responses), n);
  CHECK (channel_gone (&ch));
}

/* 13.4: one request at a time through a 100 ms handler: three take at
 * least 300 ms, in order. */
static void
test_13_4_single_thread (void)
{
  channel ch;
  server_ctx x = {.delay_ms = 100 };
  client cl;
  double t0, ms;
  int i;

  channel_make (&ch, "13-4");
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect (&cl, &ch, 1 << 20);
  t0 = zbt_now_ms ();
  for (i = 0; i < 3; i++) {
    CHECK_RC (send_request (&cl, 64, i + 1), 0);
    expect_response (&cl, H_ECHO, 0, 64, i + 1);
  }
  ms = zbt_now_ms () - t0;
  CHECK (ms >= 300);
  zbt_note ("13.4: three requests through a 100 ms handler: %.0f ms", ms);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

/* The server of 13.5 in its own process: takes one request, works on it
 * for delay ms and dies without a word. */
static int
child_crash_server (const char *name, int delay_ms)
{
  zb_reader_options o = zbt_reader_options (4096, 1 << 20);
  zb_duplex_server *s;
  zb_frame f;

  if (zb_duplex_server_create (&s, name, &o) != ZB_OK
      || zb_duplex_server_wait_client (s, ZBT_LONG_MS) != ZB_OK
      || zb_duplex_server_attach (s, ZBT_MS (5000)) != ZB_OK
      || zb_reader_acquire (zb_duplex_server_request_reader (s), &f,
          ZBT_LONG_MS) != ZB_OK)
    _exit (1);
  zbt_sleep_ms (delay_ms);
  _exit (3);
}

static pid_t
spawn (const char *role, const char *name, const char *arg)
{
  pid_t pid = fork ();

  REQUIRE (pid >= 0);
  if (pid == 0) {
    execl (self_exe, self_exe, role, name, arg, (char *) NULL);
    _exit (127);
  }
  return pid;
}

/* 13.5: the server dies with a 1 KiB request in flight; a client waiting
 * up to 15 s (scaled) for its response learns that within 5 s (scaled),
 * with an error that says so; nothing of the channel is left after the
 * client closes. */
static void
test_13_5_server_death (void)
{
  channel ch;
  client cl;
  zb_frame f;
  pid_t pid;
  int status = 0;
  double t0, ms;

  channel_make (&ch, "13-5");
  pid = spawn ("child-crash-server", ch.name, "100");
  client_connect (&cl, &ch, 1 << 20);
  CHECK_RC (send_request (&cl, 1024, 1), 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (cl.r, &f, ZBT_LONG_MS), ZB_EWRITERGONE);
  ms = zbt_now_ms () - t0;
  CHECK (ms < ZBT_PROMPT_MS);
  CHECK_RC (zb_duplex_client_check_server (cl.c), ZB_ESERVERGONE);
  CHECK (strstr (zb_duplex_client_last_error (cl.c), "died") != NULL);
  zbt_note ("13.5: server death noticed after %.0f ms: %s", ms,
      zb_duplex_client_last_error (cl.c));
  /* Every later call says it too. */
  CHECK_RC (zb_writer_write (cl.w, "x", 1, ZBT_LONG_MS), ZB_EREADERGONE);
  REQUIRE (waitpid (pid, &status, 0) == pid);
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 3);
  zb_duplex_client_close (cl.c);
  CHECK (channel_gone (&ch));
}

/* 13.6: a doubling handler and a client that reads nothing: the server
 * blocks on its response write while the response ring is full and
 * completes once the client reads one.  Upstream's 1 KiB / 10 KiB request
 * buffer; a response ring that holds two 8192-byte responses, so the third
 * blocks (a ring of 10 KiB holds none: our writer says so at once, quirk
 * 9). */
static void
test_13_6_response_full (void)
{
  channel ch;
  server_ctx x = { 0 };
  client cl;
  uint64_t P = zb_ring_size_for_frame (8192);     /* two from offset 0 */
  zbt_shm m;
  int i;

  channel_make (&ch, "13-6");
  server_start (&x, &ch, 1024, 10240, H_DOUBLE);
  client_connect (&cl, &ch, P);
  for (i = 0; i < 3; i++)
    CHECK_RC (send_request (&cl, 4096, i + 1), 0);
  /* Two answered, the third taken and blocked on its write. */
  CHECK (WAIT_UNTIL (atomic_load (&x.requests) == 3, 15000));
  CHECK (WAIT_UNTIL (atomic_load (&x.responses) == 2, 15000));
  REQUIRE (zbt_shm_map (ch.response, &m) == 0);
  zbt_sleep_ms (300);
  CHECK_EQ (atomic_load (&x.responses), 2);
  CHECK_EQ (zbt_get (&m, OFF_WRITTEN_COUNT), 2);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), (P + 63) / 64 * 64 - 2 * 8208);
  /* One read unblocks it. */
  expect_response (&cl, H_DOUBLE, 0, 4096, 1);
  CHECK (WAIT_UNTIL (atomic_load (&x.responses) == 3, 5000));
  expect_response (&cl, H_DOUBLE, 0, 4096, 2);
  expect_response (&cl, H_DOUBLE, 0, 4096, 3);
  zbt_shm_unmap (&m);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK_EQ (atomic_load (&x.failed), 0);
  CHECK (channel_gone (&ch));

  /* The literal 10 KiB response ring: an 8192-byte response can never be
   * placed, so the handler fails at once and answers nothing. */
  channel_make (&ch, "13-6-small");
  memset (&x, 0, sizeof x);
  server_start (&x, &ch, 1024, 10240, H_DOUBLE);
  client_connect (&cl, &ch, 10240);
  CHECK_RC (send_request (&cl, 4096, 1), 0);
  CHECK_RC (send_request (&cl, 2000, 2), 0);
  expect_response (&cl, H_DOUBLE, 0, 2000, 2);
  CHECK_EQ (atomic_load (&x.failed), 1);
  CHECK_EQ (atomic_load (&x.write_rc), ZB_ETOOLARGE);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  zbt_note ("13.6 with a 10 KiB response ring: %s", x.write_detail);
  CHECK (channel_gone (&ch));
}

/* 13.7: the request is made in place: reserve, fill, commit; the bytes
 * are in CHANNEL_request's ring before any copy could happen, and the
 * response holds them. */
static void
test_13_7_zero_copy (void)
{
  channel ch;
  server_ctx x = { 0 };
  client cl;
  zbt_shm m;
  void *p;
  uint8_t *ring;

  channel_make (&ch, "13-7");
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect (&cl, &ch, 1 << 20);
  REQUIRE (zbt_shm_map (ch.request, &m) == 0);
  ring = m.base + 128 + 4096;
  CHECK_RC (zb_writer_reserve (cl.w, 4096, &p, ZBT_LONG_MS), 0);
  CHECK ((uint8_t *) p != NULL);
  zbt_fill (p, 4096, 7);
  /* Written straight into the shared ring (our own mapping of it). */
  CHECK (zbt_verify (ring + 16, 4096, 7) < 0);
  CHECK_RC (zb_writer_commit (cl.w, 4096), 0);
  expect_response (&cl, H_ECHO, 0, 4096, 7);
  zbt_shm_unmap (&m);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

/* 13.8: XOR 0xFF of a 10240-byte pattern; the request the handler saw is
 * unchanged in the ring: the response is new data. */
static void
test_13_8_xor (void)
{
  channel ch;
  server_ctx x = {.key = 0xff };
  client cl;
  zbt_shm m;

  channel_make (&ch, "13-8");
  server_start (&x, &ch, 4096, 1 << 20, H_XOR);
  client_connect (&cl, &ch, 1 << 20);
  CHECK_RC (send_request (&cl, 10240, 9), 0);
  expect_response (&cl, H_XOR, 0xff, 10240, 9);
  REQUIRE (zbt_shm_map (ch.request, &m) == 0);
  CHECK (zbt_verify (m.base + 128 + 4096 + 16, 10240, 9) < 0);
  zbt_shm_unmap (&m);
  /* And another key, by the other handlers. */
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));

  channel_make (&ch, "13-8-invert");
  memset (&x, 0, sizeof x);
  server_start (&x, &ch, 4096, 1 << 20, H_INVERT);
  client_connect (&cl, &ch, 1 << 20);
  CHECK_RC (send_request (&cl, 10240, 10), 0);
  expect_response (&cl, H_INVERT, 0, 10240, 10);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

/* The client of 13.9 in its own process: sends one request and dies after
 * delay ms without closing anything. */
static int
child_crash_client (const char *name, int delay_ms)
{
  zb_reader_options o = zbt_reader_options (4096, 1 << 20);
  zb_duplex_client *c;
  uint8_t req[1024];

  zbt_fill (req, sizeof req, 13);
  if (zb_duplex_client_new (&c, name) != ZB_OK
      || zb_duplex_client_open (c, NULL, ZBT_LONG_MS) != ZB_OK
      || zb_duplex_client_connect_response (c, &o, ZBT_LONG_MS) != ZB_OK
      || zb_writer_write (zb_duplex_client_request_writer (c), req,
          sizeof req, ZBT_LONG_MS) != ZB_OK)
    _exit (1);
  zbt_sleep_ms (delay_ms);
  _exit (0);
}

/* 13.9: the client dies (after 1 s) while the server works on its
 * request (2 s): the server finishes, its response write says the client
 * died, the request side says so too, the dead client's response buffer
 * is removed, and the server goes on with the next client. */
static void
test_13_9_client_death (void)
{
  channel ch;
  zb_reader_options o = zbt_reader_options (4096, 1 << 20);
  server_ctx x = { 0 };
  zb_duplex_server *s;
  zb_reader *r;
  zb_writer *w;
  zb_frame f;
  client cl;
  pid_t pid;
  int status = 0, rc;
  double t0;

  channel_make (&ch, "13-9");
  pid = spawn ("child-crash-client", ch.name, "1000");
  REQUIRE_RC (zb_duplex_server_create (&s, ch.name, &o), 0);
  REQUIRE_RC (zb_duplex_server_wait_client (s, ZBT_LONG_MS), 0);
  REQUIRE_RC (zb_duplex_server_attach (s, ZBT_MS (5000)), 0);
  r = zb_duplex_server_request_reader (s);
  w = zb_duplex_server_response_writer (s);
  REQUIRE_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), 0);
  CHECK_EQ (f.size, 1024);
  t0 = zbt_now_ms ();
  zbt_sleep_ms (2000);          /* the handler */
  REQUIRE (waitpid (pid, &status, 0) == pid);   /* died meanwhile */
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  CHECK (zbt_now_ms () - t0 >= 2000);
  rc = zb_writer_write (w, f.data, f.size, ZBT_LONG_MS);
  CHECK_RC (rc, ZB_EREADERGONE);
  CHECK (strstr (zb_writer_last_error (w), "died") != NULL);
  zbt_note ("13.9: response write after the client died: %s",
      zb_writer_last_error (w));
  CHECK (zbt_all_gone (ch.response));
  zb_reader_release (r, &f);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), ZB_EWRITERGONE);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);

  /* Goes on: the next client is served. */
  CHECK_RC (zb_duplex_server_reset (s), 0);
  x.s = s;
  x.handler = H_ECHO;
  x.gate_after = -1;
  x.sessions = 1;
  REQUIRE (pthread_create (&x.thread, NULL, server_run, &x) == 0);
  client_connect (&cl, &ch, 8192);
  CHECK_RC (send_request (&cl, 100, 5), 0);
  expect_response (&cl, H_ECHO, 0, 100, 5);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK_EQ (atomic_load (&x.end_rc), ZB_EOS);
  CHECK (channel_gone (&ch));
}

/* 13.10: five requests, three responses read, the server disposed with
 * two pending: the client's next read says the server is gone, so does its
 * next write; the server's buffer is removed, the client's when it
 * closes; a new server takes the name and serves a new client. */
static void
test_13_10_dispose (void)
{
  channel ch;
  server_ctx x = {.gate_after = 3 };
  client cl;
  zb_frame f;
  double t0;
  int i;

  channel_make (&ch, "13-10");
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect (&cl, &ch, 1 << 20);
  for (i = 0; i < 5; i++)
    CHECK_RC (send_request (&cl, 200, i + 1), 0);
  for (i = 0; i < 3; i++)
    expect_response (&cl, H_ECHO, 0, 200, i + 1);
  CHECK (WAIT_UNTIL (atomic_load (&x.requests) == 4, 15000));
  atomic_store (&x.stop, 1);
  server_join (&x);             /* disposed, requests 4 and 5 pending */
  CHECK_EQ (atomic_load (&x.end_rc), ZB_ECANCELED);
  CHECK (zbt_all_gone (ch.request));

  t0 = zbt_now_ms ();
  CHECK_RC (zb_reader_acquire (cl.r, &f, ZBT_LONG_MS), ZB_EOS);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  CHECK_RC (zb_duplex_client_check_server (cl.c), ZB_ESERVERGONE);
  CHECK (strstr (zb_duplex_client_last_error (cl.c), "closed") != NULL);
  CHECK_RC (zb_writer_write (cl.w, "x", 1, 0), ZB_EREADERGONE);
  zb_duplex_client_close (cl.c);
  CHECK (channel_gone (&ch));

  /* The name again, by a new server and a new client. */
  memset (&x, 0, sizeof x);
  server_start (&x, &ch, 4096, 1 << 20, H_ECHO);
  client_connect (&cl, &ch, 1 << 20);
  CHECK_RC (send_request (&cl, 300, 1), 0);
  expect_response (&cl, H_ECHO, 0, 300, 1);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

/* An upstream server whose handler gave up an acquired frame skips a
 * sequence number (C# and C++ writers number at acquire): the client's
 * response reader takes the next frame and counts the gap; a plain reader
 * calls it corruption, as before. */
static void
test_upstream_gaps (void)
{
  channel ch;
  zb_reader_options o = zbt_reader_options (4096, 65536);
  zb_reader_options ro = zbt_reader_options (4096, 8192);
  zb_reader *fake, *r;
  zb_reader_stats rs;
  zb_duplex_client *c;
  zbt_emu e;
  zb_frame f;
  char name[64];
  uint64_t want[] = { 1, 2, 4, 9 };
  int i;

  channel_make (&ch, "gaps");
  REQUIRE_RC (zb_reader_create (&fake, ch.request, &o), 0);
  REQUIRE_RC (zb_duplex_client_new (&c, ch.name), 0);
  REQUIRE_RC (zb_duplex_client_open (c, NULL, ZBT_LONG_MS), 0);
  /* Created, not attached yet: the buffer stays for the next call. */
  CHECK_RC (zb_duplex_client_connect_response (c, &ro, 0), ZB_ENOATTACH);
  REQUIRE (zbt_emu_attach (&e, ch.response, (uint64_t) getpid ()) == 0);
  REQUIRE_RC (zb_duplex_client_connect_response (c, &ro, ZBT_LONG_MS), 0);
  CHECK_RC (zb_duplex_client_check_server (c), 0);
  r = zb_duplex_client_response_reader (c);
  for (i = 0; i < 4; i++)
    zbt_emu_frame_raw (&e, 100, want[i], 1);
  for (i = 0; i < 4; i++) {
    CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), 0);
    CHECK_EQ (f.sequence, want[i]);
    CHECK (f.size == 100 && zbt_verify (f.data, 100, want[i]) < 0);
    zb_reader_release (r, &f);
  }
  zb_reader_get_stats (r, &rs);
  CHECK_EQ (rs.sequence_gaps, 2);
  /* Backwards is still corrupt. */
  zbt_emu_frame_raw (&e, 100, 5, 1);
  CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), ZB_ECORRUPT);
  zbt_emu_detach (&e);
  zb_duplex_client_close (c);
  zb_reader_close (fake);
  CHECK (channel_gone (&ch));

  /* A plain reader (allow_sequence_gaps 0) refuses the jump. */
  zbt_name (name, sizeof name, "gaps-plain");
  REQUIRE_RC (zb_reader_create (&r, name, &o), 0);
  REQUIRE (zbt_emu_attach (&e, name, (uint64_t) getpid ()) == 0);
  zbt_emu_frame_raw (&e, 100, 1, 1);
  zbt_emu_frame_raw (&e, 100, 3, 1);
  CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), 0);
  zb_reader_release (r, &f);
  CHECK_RC (zb_reader_acquire (r, &f, ZBT_LONG_MS), ZB_ECORRUPT);
  CHECK (strstr (zb_reader_last_error (r), "sequence jump") != NULL);
  zb_reader_get_stats (r, &rs);
  CHECK_EQ (rs.sequence_gaps, 0);
  zbt_emu_detach (&e);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
}

/* ------------------------------------------------------- lifecycle etc. */

/* A server that keeps serving: the channel is made anew for each client,
 * so the second one writes its own metadata and starts at sequence 1. */
static void
test_keep_serving (void)
{
  channel ch;
  server_ctx x = {.sessions = 2 };
  client cl;
  int k;

  channel_make (&ch, "keep");
  server_start (&x, &ch, 4096, 65536, H_INVERT);
  for (k = 0; k < 2; k++) {
    char meta[32];

    snprintf (meta, sizeof meta, "client %d", k);
    client_connect_meta (&cl, &ch, 65536, meta);
    CHECK_RC (send_request (&cl, 1000, k), 0);
    expect_response (&cl, H_INVERT, 0, 1000, k);
    CHECK (metadata_is (&x, meta));
    zb_duplex_client_close (cl.c);
    /* The next client comes once the server made the channel anew (one
     * that comes earlier may attach to the old CHANNEL_request and then
     * find it removed: ZB_ESERVERGONE). */
    if (k == 0)
      CHECK (WAIT_UNTIL (atomic_load (&x.resets) == 1, 15000));
  }
  server_join (&x);
  CHECK_EQ (atomic_load (&x.requests), 2);
  CHECK (channel_gone (&ch));
}

/* The server's side of a client that closes cleanly with requests not
 * yet answered: end of stream after them, its responses go nowhere. */
static void
test_client_closes_early (void)
{
  channel ch;
  server_ctx x = {.delay_ms = 200 };
  client cl;
  int i, rc;

  channel_make (&ch, "early");
  server_start (&x, &ch, 4096, 65536, H_ECHO);
  client_connect (&cl, &ch, 65536);
  for (i = 0; i < 3; i++)
    CHECK_RC (send_request (&cl, 100, i), 0);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  /* Unless the server was quicker than our close (EOS then). */
  rc = atomic_load (&x.end_rc);
  CHECK (rc == ZB_EREADERGONE || rc == ZB_EOS);
  if (rc == ZB_EREADERGONE)
    CHECK (strstr (x.write_detail, "closed") != NULL);
  CHECK (channel_gone (&ch));
}

/* close_keep_writer: CH_response goes at once, the request writer stays
 * attached and usable until the caller closes it. */
static void
test_close_keep_writer (void)
{
  channel ch;
  server_ctx x = { 0 };
  client cl;
  zb_writer *w;
  int i;

  channel_make (&ch, "keepw");
  server_start (&x, &ch, 4096, 65536, H_ECHO);
  client_connect (&cl, &ch, 65536);
  for (i = 0; i < 2; i++) {
    CHECK_RC (send_request (&cl, 100, i), 0);
    expect_response (&cl, H_ECHO, 0, 100, i);
  }
  w = zb_duplex_client_close_keep_writer (cl.c);
  CHECK (w == cl.w);
  CHECK (zbt_all_gone (ch.response));
  /* Still attached: the server takes this request, then cannot answer. */
  CHECK_RC (zb_writer_write (w, "x", 1, ZBT_LONG_MS), 0);
  zb_writer_close (w);
  server_join (&x);
  CHECK_RC (atomic_load (&x.end_rc), ZB_EREADERGONE);
  CHECK (channel_gone (&ch));
  CHECK (zb_duplex_client_close_keep_writer (NULL) == NULL);
}

typedef struct interrupter
{
  zb_duplex_client *c;
  zb_duplex_server *s;
  int delay_ms;
} interrupter;

static void *
interrupt_run (void *arg)
{
  interrupter *it = arg;

  zbt_sleep_ms (it->delay_ms);
  if (it->c)
    zb_duplex_client_interrupt (it->c, 1);
  if (it->s)
    zb_duplex_server_interrupt (it->s, 1);
  return NULL;
}

/* Every wait can be cut short from another thread, and re-armed. */
static void
test_interrupt (void)
{
  channel ch;
  zb_reader_options o = zbt_reader_options (0, 8192);
  zb_duplex_client *c;
  zb_duplex_server *s;
  zb_reader *fake;
  interrupter it = {.delay_ms = 100 };
  pthread_t t;
  double t0;

  /* The client waiting for a server. */
  channel_make (&ch, "intr");
  REQUIRE_RC (zb_duplex_client_new (&c, ch.name), 0);
  it.c = c;
  REQUIRE (pthread_create (&t, NULL, interrupt_run, &it) == 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_client_open (c, NULL, ZBT_LONG_MS), ZB_ECANCELED);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  pthread_join (t, NULL);
  CHECK_RC (zb_duplex_client_open (c, NULL, 0), ZB_ECANCELED);
  zb_duplex_client_interrupt (c, 0);

  /* ... and waiting for the server to attach. */
  REQUIRE_RC (zb_reader_create (&fake, ch.request, &o), 0);
  CHECK_RC (zb_duplex_client_open (c, NULL, ZBT_LONG_MS), 0);
  REQUIRE (pthread_create (&t, NULL, interrupt_run, &it) == 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_client_connect_response (c, &o, ZBT_LONG_MS),
      ZB_ECANCELED);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  pthread_join (t, NULL);
  zb_duplex_client_interrupt (c, 0);
  CHECK_RC (zb_duplex_client_connect_response (c, &o, 50), ZB_ENOATTACH);
  zb_duplex_client_close (c);
  zb_reader_close (fake);
  CHECK (channel_gone (&ch));

  /* The server waiting for a client, and for its response buffer. */
  channel_make (&ch, "intr-server");
  REQUIRE_RC (zb_duplex_server_create (&s, ch.name, &o), 0);
  it.c = NULL;
  it.s = s;
  REQUIRE (pthread_create (&t, NULL, interrupt_run, &it) == 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_server_wait_client (s, ZBT_LONG_MS), ZB_ECANCELED);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  pthread_join (t, NULL);
  zb_duplex_server_interrupt (s, 0);
  CHECK_RC (zb_duplex_server_wait_client (s, 50), ZB_ETIMEDOUT);
  REQUIRE (pthread_create (&t, NULL, interrupt_run, &it) == 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_server_attach (s, ZBT_LONG_MS), ZB_ECANCELED);
  CHECK (zbt_now_ms () - t0 < ZBT_PROMPT_MS);
  pthread_join (t, NULL);
  zb_duplex_server_interrupt (s, 0);
  t0 = zbt_now_ms ();
  CHECK_RC (zb_duplex_server_attach (s, 200), ZB_ENOTFOUND);
  CHECK (zbt_now_ms () - t0 >= 190);
  CHECK (strstr (zb_duplex_server_last_error (s), "no client") != NULL);
  zb_duplex_server_close (s);
  CHECK (channel_gone (&ch));
}

typedef struct checker
{
  zb_duplex_client *c;
  atomic_int stop;
  _Atomic uint64_t checks, gone;
} checker;

static void *
checker_run (void *arg)
{
  checker *k = arg;

  while (!atomic_load (&k->stop)) {
    if (zb_duplex_client_check_server (k->c) != ZB_OK)
      atomic_fetch_add (&k->gone, 1);
    (void) zb_duplex_client_last_error (k->c);
    atomic_fetch_add (&k->checks, 1);
    zbt_sleep_ms (1);
  }
  return NULL;
}

/* check_server() from another thread while the client streams. */
static void
test_check_from_thread (void)
{
  channel ch;
  server_ctx x = { 0 };
  checker k = { 0 };
  client cl;
  pthread_t t;
  int i;

  channel_make (&ch, "check");
  server_start (&x, &ch, 0, 65536, H_XOR);
  client_connect (&cl, &ch, 65536);
  k.c = cl.c;
  REQUIRE (pthread_create (&t, NULL, checker_run, &k) == 0);
  for (i = 0; i < 2000; i++) {
    CHECK_RC (send_request (&cl, 1 + i % 700, i), 0);
    expect_response (&cl, H_XOR, 0xff, 1 + i % 700, i);
  }
  atomic_store (&k.stop, 1);
  pthread_join (t, NULL);
  CHECK_EQ (atomic_load (&k.gone), 0);
  CHECK (atomic_load (&k.checks) > 0);
  zb_duplex_client_close (cl.c);
  server_join (&x);
  CHECK (channel_gone (&ch));
}

int
main (int argc, char **argv)
{
  if (argc >= 4 && strcmp (argv[1], "child-crash-server") == 0)
    return child_crash_server (argv[2], atoi (argv[3]));
  if (argc >= 4 && strcmp (argv[1], "child-crash-client") == 0)
    return child_crash_client (argv[2], atoi (argv[3]));
  zbt_parse_args (argc, argv);

  self_exe = "/proc/self/exe";
  {
    static char path[4096];
    ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 1);

    if (n > 0) {
      path[n] = '\0';
      self_exe = path;
    }
  }
  /* Children first, while this process has no other thread. */
  test_13_5_server_death ();
  test_13_9_client_death ();
  test_names ();
  test_ring_size_for_frames ();
  test_no_server ();
  test_server_never_attaches ();
  test_busy ();
  test_13_1_basic ();
  test_13_2_order (10);
  test_13_2_order (20);
  test_13_4_single_thread ();
  test_13_6_response_full ();
  test_13_7_zero_copy ();
  test_13_8_xor ();
  test_13_10_dispose ();
  test_upstream_gaps ();
  test_keep_serving ();
  test_client_closes_early ();
  test_close_keep_writer ();
  test_interrupt ();
  test_check_from_thread ();
  return zbt_result ();
}
