/* A writer's connection to one ZeroBuffer, shared by the threads that
 * write into it.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzerowriterconn.h"
#include "gstzerohealth.h"

#ifndef GST_DISABLE_GST_DEBUG
#define GST_CAT_DEFAULT gst_zero_writer_conn_ensure_debug_category ()
static GstDebugCategory *
gst_zero_writer_conn_ensure_debug_category (void)
{
  static gsize cat = 0;

  if (g_once_init_enter (&cat)) {
    gsize c = (gsize) _gst_debug_category_new ("zerowriterconn", 0,
        "ZeroBuffer writer connection");

    g_once_init_leave (&cat, c);
  }
  return (GstDebugCategory *) cat;
}
#endif

/* The mutex guards the flags only and is never held across a zb_writer_*
 * call that can wait (zb_writer_interrupt() and zb_writer_abandon() are
 * meant for any thread and never wait). */
struct _GstZeroWriterConn
{
  gint refcount;                /* atomic */
  gint write_timeout;           /* ms, -1 = while the reader lives */
  gboolean drop;                /* on-full=drop: never wait for space */

  GMutex lock;
  GCond cond;
  /* guarded by lock */
  zb_writer *writer;            /* NULL once closed */
  gboolean busy;                /* a thread is inside zb_writer_* */
  guint waiters;                /* threads in g_cond_wait on cond: GLib's
                                 * broadcast enters the kernel even with
                                 * none, so per-frame wakes check first */
  gconstpointer reserved;       /* owner of the reservation, or NULL */
  guint8 *res_data;
  gsize res_size;
  guint live;                   /* reservations whose memory is alive */
  gboolean closing;             /* close as soon as idle */
  gboolean unlocked;            /* sink unlock() until unlock_stop() */
  gboolean flushing;            /* sink pad flushing, until FLUSH_STOP */
  gconstpointer reserving;      /* requester of the reserve under way */
  gconstpointer cancelled;      /* requester whose reserves are cancelled */
  gboolean no_reserve;          /* upstream broke the ring order once */
};

GstZeroWriterConn *
gst_zero_writer_conn_new (zb_writer * writer, gint write_timeout,
    gboolean drop)
{
  GstZeroWriterConn *c = g_new0 (GstZeroWriterConn, 1);

  c->refcount = 1;
  c->writer = writer;
  c->write_timeout = write_timeout;
  c->drop = drop;
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  return c;
}

GstZeroWriterConn *
gst_zero_writer_conn_ref (GstZeroWriterConn * c)
{
  g_atomic_int_inc (&c->refcount);
  return c;
}

void
gst_zero_writer_conn_unref (GstZeroWriterConn * c)
{
  if (!g_atomic_int_dec_and_test (&c->refcount))
    return;
  /* Normally closed by gst_zero_writer_conn_close(); the safety net. */
  zb_writer_close (c->writer);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
  g_free (c);
}

/* Called with lock.  Every reason to stop waiting interrupts the writer. */
static void
gst_zero_writer_conn_update_interrupt (GstZeroWriterConn * c)
{
  if (c->writer)
    zb_writer_interrupt (c->writer, c->unlocked || c->flushing
        || c->closing || (c->reserving && c->reserving == c->cancelled));
  g_cond_broadcast (&c->cond);
}

/* Called with lock.  Returns the writer to close (outside the lock) once
 * nothing uses or points into it any more. */
static zb_writer *
gst_zero_writer_conn_take_idle_writer (GstZeroWriterConn * c)
{
  zb_writer *w = NULL;

  if (c->closing && !c->busy && c->live == 0) {
    w = c->writer;
    c->writer = NULL;
  }
  return w;
}

/* Called with lock: wake the threads waiting for their turn, if any. */
static void
gst_zero_writer_conn_wake_locked (GstZeroWriterConn * c)
{
  if (c->waiters)
    g_cond_broadcast (&c->cond);
}

void
gst_zero_writer_conn_close (GstZeroWriterConn * c)
{
  zb_writer *w;

  g_mutex_lock (&c->lock);
  c->closing = TRUE;
  gst_zero_writer_conn_update_interrupt (c);
  w = gst_zero_writer_conn_take_idle_writer (c);
  g_mutex_unlock (&c->lock);
  if (w)
    GST_DEBUG ("detaching from buffer \"%s\"", zb_writer_name (w));
  zb_writer_close (w);
}

void
gst_zero_writer_conn_end_call (GstZeroWriterConn * c)
{
  zb_writer *w;

  g_mutex_lock (&c->lock);
  c->busy = FALSE;
  w = gst_zero_writer_conn_take_idle_writer (c);
  gst_zero_writer_conn_wake_locked (c);
  g_mutex_unlock (&c->lock);
  zb_writer_close (w);
}

zb_writer *
gst_zero_writer_conn_begin_call (GstZeroWriterConn * c)
{
  zb_writer *w = NULL;

  g_mutex_lock (&c->lock);
  while (c->busy && !c->unlocked && !c->flushing && !c->closing) {
    c->waiters++;
    g_cond_wait (&c->cond, &c->lock);
    c->waiters--;
  }
  if (!c->busy && !c->unlocked && !c->flushing && c->writer) {
    c->busy = TRUE;
    w = c->writer;
  }
  g_mutex_unlock (&c->lock);
  return w;
}

void
gst_zero_writer_conn_set_unlocked (GstZeroWriterConn * c, gboolean unlocked,
    gboolean flushing)
{
  g_mutex_lock (&c->lock);
  c->unlocked = unlocked;
  if (flushing)
    c->flushing = TRUE;
  gst_zero_writer_conn_update_interrupt (c);
  g_mutex_unlock (&c->lock);
}

void
gst_zero_writer_conn_flush_stop (GstZeroWriterConn * c)
{
  g_mutex_lock (&c->lock);
  c->flushing = FALSE;
  gst_zero_writer_conn_update_interrupt (c);
  g_mutex_unlock (&c->lock);
}

void
gst_zero_writer_conn_cancel_reserves (GstZeroWriterConn * c,
    gconstpointer requester, gboolean cancel)
{
  g_mutex_lock (&c->lock);
  if (cancel)
    c->cancelled = requester;
  else if (c->cancelled == requester)
    c->cancelled = NULL;
  gst_zero_writer_conn_update_interrupt (c);
  g_mutex_unlock (&c->lock);
}

gboolean
gst_zero_writer_conn_is_flushing (GstZeroWriterConn * c)
{
  gboolean flushing;

  g_mutex_lock (&c->lock);
  flushing = c->flushing;
  g_mutex_unlock (&c->lock);
  return flushing;
}

int
gst_zero_writer_conn_reserve (GstZeroWriterConn * c, gsize size,
    gboolean dontwait, gconstpointer owner, gconstpointer requester,
    gpointer * data)
{
  gboolean cancelled;
  zb_writer *w;
  void *p = NULL;
  int timeout, rc;

  g_mutex_lock (&c->lock);
  if (c->writer == NULL || c->busy || c->reserved || c->closing
      || c->no_reserve) {
    g_mutex_unlock (&c->lock);
    return ZB_EBUSY;
  }
  if (c->unlocked || c->flushing || (requester && requester == c->cancelled)) {
    g_mutex_unlock (&c->lock);
    return ZB_ECANCELED;
  }
  c->busy = TRUE;
  c->reserving = requester;
  w = c->writer;
  g_mutex_unlock (&c->lock);

  /* A bounded wait is left to render, which knows the exact deadline and
   * what to post when it passes; here we only wait when it is unbounded. */
  timeout = (dontwait || c->drop || c->write_timeout >= 0) ? 0 : -1;
  rc = zb_writer_reserve (w, size, &p, timeout);
  if (rc != ZB_OK)
    GST_LOG ("no reservation of %" G_GSIZE_FORMAT " bytes: %s", size,
        zb_writer_last_error (w));

  g_mutex_lock (&c->lock);
  /* A cancelled reserve interrupted the writer: lift that now it is over. */
  cancelled = c->reserving && c->reserving == c->cancelled;
  c->reserving = NULL;
  if (cancelled)
    gst_zero_writer_conn_update_interrupt (c);
  if (rc == ZB_OK) {
    c->reserved = owner;
    c->res_data = p;
    c->res_size = size;
    c->live++;
    *data = p;
  }
  g_mutex_unlock (&c->lock);
  gst_zero_writer_conn_end_call (c);
  return rc;
}

void
gst_zero_writer_conn_release (GstZeroWriterConn * c, gconstpointer owner)
{
  zb_writer *w;

  g_mutex_lock (&c->lock);
  if (c->reserved == owner) {
    /* Freed without being rendered: give the space back.  The writer
     * lives while this reservation's memory does (live > 0), and
     * abandoning never waits, whoever is inside the writer meanwhile. */
    zb_writer_abandon (c->writer);
    GST_DEBUG ("abandoned an unrendered reservation of %" G_GSIZE_FORMAT
        " bytes", c->res_size);
    c->reserved = NULL;
    c->res_data = NULL;
  }
  g_assert (c->live > 0);
  c->live--;
  w = gst_zero_writer_conn_take_idle_writer (c);
  gst_zero_writer_conn_wake_locked (c);
  g_mutex_unlock (&c->lock);
  zb_writer_close (w);
}

/* Takes the writer for @owner's write.  Returns NULL with *rc and *detail
 * set when the write cannot start. */
static zb_writer *
gst_zero_writer_conn_begin_write (GstZeroWriterConn * c, gconstpointer owner,
    gint64 deadline, gboolean * mine, int *rc, gchar ** detail)
{
  gboolean in_time = TRUE;
  zb_writer *w;

  g_mutex_lock (&c->lock);
  for (;;) {
    if (c->unlocked || c->flushing) {
      g_mutex_unlock (&c->lock);
      *detail = g_strdup ("interrupted");
      *rc = ZB_ECANCELED;
      return NULL;
    }
    if (c->writer == NULL) {
      g_mutex_unlock (&c->lock);
      *detail = g_strdup ("the writer is closed");
      *rc = ZB_EINVAL;
      return NULL;
    }
    if (!c->busy) {
      *mine = owner != NULL && owner == c->reserved;
      if (c->reserved == NULL || *mine)
        break;
      /* Upstream pushed this ahead of a buffer it took from the pool later
       * (a reordering decoder, or a non-pool buffer overtaking).  That one
       * sits in the ring's next slot and comes after us in the stream:
       * waiting would never end.  Stop reserving on this connection. */
      c->no_reserve = TRUE;
      g_mutex_unlock (&c->lock);
      *detail = g_strdup ("a pool buffer not rendered yet holds the ring's "
          "next slot; zero-copy is now off for this reader");
      *rc = ZB_EBUSY;
      return NULL;
    }
    /* Another thread is inside the writer: briefly, or waiting for ring
     * space exactly as we would. */
    c->waiters++;
    if (deadline < 0)
      g_cond_wait (&c->cond, &c->lock);
    else
      in_time = g_cond_wait_until (&c->cond, &c->lock, deadline);
    c->waiters--;
    if (!in_time) {
      g_mutex_unlock (&c->lock);
      *detail = g_strdup_printf ("the writer stayed busy for %d ms",
          c->write_timeout);
      *rc = ZB_ETIMEDOUT;
      return NULL;
    }
  }
  c->busy = TRUE;
  w = c->writer;
  g_mutex_unlock (&c->lock);
  return w;
}

/* Publishes the reservation @buffer was drawn into. */
static int
gst_zero_writer_conn_commit (GstZeroWriterConn * c, zb_writer * w,
    GstBuffer * buffer, gsize size)
{
  guint8 *res = c->res_data;    /* stable: only this thread changes it now */
  GstMapInfo info;
  int rc;

  /* The buffer may have been trimmed: move it to the reservation's start,
   * where the frame header expects it. */
  if (gst_buffer_map (buffer, &info, GST_MAP_READ)) {
    if (info.data != res && info.data >= res
        && info.data + size <= res + c->res_size)
      memmove (res, info.data, size);
    gst_buffer_unmap (buffer, &info);
  }
  rc = zb_writer_commit (w, size);
  if (rc != ZB_OK)
    zb_writer_abandon (w);

  g_mutex_lock (&c->lock);
  c->reserved = NULL;
  c->res_data = NULL;
  g_mutex_unlock (&c->lock);
  return rc;
}

/* Copies @buffer in (or lets @fill write the frame), within @timeout ms. */
static int
gst_zero_writer_conn_copy (zb_writer * w, GstBuffer * buffer, gsize size,
    GstZeroFillFunc fill, gpointer fill_data, gint timeout, gchar ** detail)
{
  GstMapInfo info;
  void *p;
  int rc;

  if (fill != NULL) {
    rc = zb_writer_reserve (w, size, &p, timeout);
    if (rc == ZB_OK) {
      fill (p, size, fill_data);
      rc = zb_writer_commit (w, size);
    }
    return rc;
  }
  if (gst_buffer_n_memory (buffer) == 1) {
    if (!gst_buffer_map (buffer, &info, GST_MAP_READ)) {
      *detail = g_strdup ("cannot map the buffer");
      return ZB_EINVAL;
    }
    rc = zb_writer_write (w, info.data, size, timeout);
    gst_buffer_unmap (buffer, &info);
    return rc;
  }
  /* Gather the pieces straight into the ring: still one copy. */
  rc = zb_writer_reserve (w, size, &p, timeout);
  if (rc == ZB_OK) {
    gst_buffer_extract (buffer, 0, p, size);
    rc = zb_writer_commit (w, size);
  }
  return rc;
}

int
gst_zero_writer_conn_write (GstZeroWriterConn * c, GstBuffer * buffer,
    gsize size, gconstpointer owner, GstZeroWriteResult * result,
    gchar ** detail)
{
  return gst_zero_writer_conn_write_full (c, buffer, size, owner, NULL, NULL,
      result, detail);
}

int
gst_zero_writer_conn_write_full (GstZeroWriterConn * c, GstBuffer * buffer,
    gsize size, gconstpointer owner, GstZeroFillFunc fill, gpointer fill_data,
    GstZeroWriteResult * result, gchar ** detail)
{
  gint64 deadline = -1;
  gboolean mine = FALSE;
  zb_writer *w;
  int rc = ZB_OK;

  *detail = NULL;
  result->in_place = FALSE;
  result->utilization = 0.0;
  result->payload_size = 0;
  result->free_bytes = 0;
  result->compact_stalls = 0;
  result->reuses = 0;
  if (!c->drop && c->write_timeout > 0)
    deadline = g_get_monotonic_time () +
        (gint64) c->write_timeout * G_TIME_SPAN_MILLISECOND;

  w = gst_zero_writer_conn_begin_write (c, owner, deadline, &mine, &rc,
      detail);
  if (w == NULL)
    return rc;

  if (mine) {
    rc = gst_zero_writer_conn_commit (c, w, buffer, size);
    result->in_place = TRUE;
  } else {
    gint timeout = c->drop ? 0 : c->write_timeout;

    if (deadline >= 0)
      timeout = MAX (0, (deadline - g_get_monotonic_time ()) /
          G_TIME_SPAN_MILLISECOND);
    rc = gst_zero_writer_conn_copy (w, buffer, size, fill, fill_data,
        timeout, detail);
  }

  if (rc != ZB_OK && *detail == NULL)
    *detail = g_strdup (zb_writer_last_error (w));
  if (rc != ZB_EREADERGONE) {
    zb_writer_stats st;

    zb_writer_get_stats (w, &st);
    result->payload_size = st.payload_size;
    /* A wrap's tail is no backlog: with compact placement it would show a
     * reader that keeps up as a ring 80-95 % full every other frame. */
    result->free_bytes = MIN (st.free_bytes + st.unread_tail, st.payload_size);
    result->compact_stalls = st.compact_stalls;
    result->reuses = st.reuses;
    if (rc == ZB_OK)
      result->utilization = gst_zero_health_utilization (st.payload_size,
          result->free_bytes);
  }
  gst_zero_writer_conn_end_call (c);
  return rc;
}
