/* A writer's connection to one ZeroBuffer, shared by the threads that
 * write into it.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_ZERO_WRITER_CONN_H__
#define __GST_ZERO_WRITER_CONN_H__

#include <gst/gst.h>
#include <zerobuffer/zerobuffer.h>

G_BEGIN_DECLS

/* A zb_writer is single-threaded, but three kinds of thread use one: the
 * streaming thread (render, caps, EOS), an upstream thread taking a buffer
 * from the ring pool (reserve), and whichever thread frees a pool buffer
 * that was never rendered (release).  The connection makes them take
 * turns, carries every reason to stop waiting (unlock, flushing, pool
 * flushing, close) into zb_writer_interrupt(), and keeps the writer (and
 * so the mapping) open while any reservation's memory is alive.
 * Reference counted; every function is thread-safe. */
typedef struct _GstZeroWriterConn GstZeroWriterConn;

/* Takes @writer.  @write_timeout: ms to wait for ring space (-1 = while
 * the reader lives); @drop: never wait for space. */
GstZeroWriterConn *gst_zero_writer_conn_new (zb_writer * writer,
    gint write_timeout, gboolean drop);
GstZeroWriterConn *gst_zero_writer_conn_ref (GstZeroWriterConn * conn);
void gst_zero_writer_conn_unref (GstZeroWriterConn * conn);

/* Detach from the reader as soon as no reservation's memory is left (the
 * reader then sees end of stream), and wake every wait.  Idempotent. */
void gst_zero_writer_conn_close (GstZeroWriterConn * conn);

/* Borrow the writer for short calls that never wait (metadata, sizes,
 * stats).  NULL when interrupted or closed; otherwise end with
 * gst_zero_writer_conn_end_call(). */
zb_writer *gst_zero_writer_conn_begin_call (GstZeroWriterConn * conn);
void gst_zero_writer_conn_end_call (GstZeroWriterConn * conn);

/* The element's unlock()/unlock_stop(); @flushing marks the pad flushing
 * until gst_zero_writer_conn_flush_stop(). */
void gst_zero_writer_conn_set_unlocked (GstZeroWriterConn * conn,
    gboolean unlocked, gboolean flushing);
void gst_zero_writer_conn_flush_stop (GstZeroWriterConn * conn);
/* TRUE while the pad is flushing. */
gboolean gst_zero_writer_conn_is_flushing (GstZeroWriterConn * conn);

/* Zero-copy: reserve a frame of @size bytes for @owner (the memory that
 * will wrap it) without waiting for another thread; waits for ring space
 * only when the wait is unbounded and !@dontwait.  @requester (a pool)
 * can cancel its own reservations with
 * gst_zero_writer_conn_cancel_reserves().  Returns 0 with *data pointing
 * into the ring, ZB_ECANCELED when interrupted or cancelled, or another
 * code meaning "use system memory instead".  On success the connection
 * stays open until gst_zero_writer_conn_release (conn, owner). */
int gst_zero_writer_conn_reserve (GstZeroWriterConn * conn, gsize size,
    gboolean dontwait, gconstpointer owner, gconstpointer requester,
    gpointer * data);
/* While @cancel, reservations for @requester fail with ZB_ECANCELED and a
 * waiting one is woken; other requesters and writes are not affected (a
 * pool being flushed or dropped while upstream already uses a new one on
 * the same connection). */
void gst_zero_writer_conn_cancel_reserves (GstZeroWriterConn * conn,
    gconstpointer requester, gboolean cancel);
/* @owner's memory is gone: its reservation is dropped if it was never
 * committed.  Never waits; any thread. */
void gst_zero_writer_conn_release (GstZeroWriterConn * conn,
    gconstpointer owner);

typedef struct
{
  gboolean in_place;            /* committed the reservation, no copy */
  gdouble utilization;          /* share of the ring in use afterwards */
  /* The ring after the attempt, whatever its outcome, when the writer
   * was reached (payload_size 0 when it was not): a full ring that made
   * the frame wait or drop shows here too. */
  guint64 payload_size;
  guint64 free_bytes;           /* counting a wrap's tail still out as free */
  guint64 compact_stalls;       /* zb_writer_stats.compact_stalls so far */
  guint64 reuses;               /* zb_writer_stats.reuses so far */
} GstZeroWriteResult;

/* Write @buffer (@size bytes) as one frame: commit it in place when
 * @owner (the root memory of its only memory, or NULL) holds the current
 * reservation, else copy it in once, waiting for space as configured.
 * Returns a zb status; on failure *detail (free it) says why.  ZB_EBUSY: a
 * pool buffer not rendered yet holds the ring's next slot, so this one
 * cannot go first; reservations stay off on this connection from then on. */
int gst_zero_writer_conn_write (GstZeroWriterConn * conn, GstBuffer * buffer,
    gsize size, gconstpointer owner, GstZeroWriteResult * result,
    gchar ** detail);

/* Writes @size bytes of the frame into @dest (the payload in the ring). */
typedef void (*GstZeroFillFunc) (guint8 * dest, gsize size,
    gpointer user_data);

/* gst_zero_writer_conn_write(), but a frame that is not committed in place
 * is written by @fill straight into the ring (a repacking copy) instead of
 * being copied from @buffer.  @fill NULL: the same as
 * gst_zero_writer_conn_write(). */
int gst_zero_writer_conn_write_full (GstZeroWriterConn * conn,
    GstBuffer * buffer, gsize size, gconstpointer owner, GstZeroFillFunc fill,
    gpointer fill_data, GstZeroWriteResult * result, gchar ** detail);

G_END_DECLS

#endif /* __GST_ZERO_WRITER_CONN_H__ */
