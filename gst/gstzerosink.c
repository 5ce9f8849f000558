/* GStreamer zerosink: write frames into a ZeroBuffer v1 shared-memory ring.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-zerosink
 * @title: zerosink
 * @see_also: zerosrc
 *
 * Writes every buffer as one frame into a ZeroBuffer v1 shared-memory ring
 * that a reader (zerosrc, or any ZeroBuffer reader such as the rocket-welder
 * SDK) created under #GstZeroSink:buffer-name.  zerosink is the writer: it
 * creates nothing and waits up to #GstZeroSink:connect-timeout for the reader
 * to appear.  When no buffer name is set the element's own name is used.
 *
 * The negotiated caps are written once into the buffer's metadata block as
 * JSON: `{"type":"gstreamer-sink","version":"GStreamer 1.22.0",
 * "caps":"<caps>","element_name":"<name>"}`.  Because metadata is written
 * once per buffer, a change to different caps mid-stream is an error.
 *
 * Upstream elements that use the buffer pool zerosink proposes write their
 * frames straight into the ring (no copy); anything else is copied in once.
 * When the ring is full zerosink waits for the reader (see
 * #GstZeroSink:on-full and #GstZeroSink:write-timeout).  At end of stream the
 * writer detaches and the reader sees end of stream after the last frame.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 zerosrc buffer-name=cam1 ! videoconvert ! autovideosink
 * ]| The reader: creates the buffer "cam1" and shows what is written into it.
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=RGB,width=640,height=480 ! zerosink buffer-name=cam1 sync=false
 * ]| The writer: fills "cam1" with test frames as fast as the reader takes
 * them.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/video/video.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzerosink.h"
#include "gstzerometa.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_sink_debug);
#define GST_CAT_DEFAULT gst_zero_sink_debug

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_CONNECT_TIMEOUT 5000
#define DEFAULT_WRITE_TIMEOUT -1
#define DEFAULT_ON_FULL GST_ZERO_SINK_ON_FULL_BLOCK
#define DEFAULT_ON_READER_LOST GST_ZERO_SINK_ON_READER_LOST_ERROR

/* Longest one zb_writer_open() attempt blocks: bounds how late a connect
 * loop notices unlock(). */
#define CONNECT_SLICE_MS 50

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_CONNECT_TIMEOUT,
  PROP_WRITE_TIMEOUT,
  PROP_ON_FULL,
  PROP_ON_READER_LOST,
  PROP_FRAMES_WRITTEN,
  PROP_FRAMES_DROPPED,
  PROP_FRAMES_COPIED,
  PROP_BYTES_WRITTEN,
  PROP_RING_UTILIZATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

/* ------------------------------------------------------------------ */
/* One connection to a reader.                                         */
/*                                                                     */
/* A zb_writer is single-threaded, but three kinds of thread use it: the */
/* streaming thread (render, caps, EOS), the upstream thread acquiring a */
/* buffer from our pool (reserve), and whichever thread frees a pool     */
/* buffer that was never rendered (abandon).  They take turns through    */
/* the busy flag; the mutex only guards the flags and is never held      */
/* across a zb_writer_* call (zb_writer_interrupt() excepted: it is      */
/* meant for any thread and never waits).  Ring memories keep the        */
/* mapping alive, so the writer is closed only once the last is gone.    */

typedef struct _GstZeroConn
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
  GstMemory *reserved;          /* memory holding the reservation */
  guint8 *res_data;
  gsize res_size;
  guint live;                   /* ring memories alive */
  gboolean closing;             /* close as soon as idle */
  gboolean unlocked;            /* sink unlock() until unlock_stop() */
  gboolean flushing;            /* sink pad flushing, until FLUSH_STOP */
  gboolean pool_flushing;       /* pool flush_start() until flush_stop() */
  gboolean no_reserve;          /* upstream broke the ring order once */
  gchar gone[160];              /* how the reader left, as first seen */
  gpointer spare_mem;           /* a freed GstZeroRingMemory, for reuse */
} GstZeroConn;

static GstZeroConn *
gst_zero_conn_new (zb_writer * writer, gint write_timeout, gboolean drop)
{
  GstZeroConn *c = g_new0 (GstZeroConn, 1);

  c->refcount = 1;
  c->writer = writer;
  c->write_timeout = write_timeout;
  c->drop = drop;
  g_mutex_init (&c->lock);
  g_cond_init (&c->cond);
  return c;
}

static GstZeroConn *
gst_zero_conn_ref (GstZeroConn * c)
{
  g_atomic_int_inc (&c->refcount);
  return c;
}

static void
gst_zero_conn_unref (GstZeroConn * c)
{
  if (!g_atomic_int_dec_and_test (&c->refcount))
    return;
  /* Normally closed by gst_zero_conn_close(); this is the safety net. */
  zb_writer_close (c->writer);
  g_mutex_clear (&c->lock);
  g_cond_clear (&c->cond);
  g_free (c->spare_mem);
  g_free (c);
}

/* Called with lock.  Every reason to stop waiting interrupts the writer. */
static void
gst_zero_conn_update_interrupt (GstZeroConn * c)
{
  if (c->writer)
    zb_writer_interrupt (c->writer, c->unlocked || c->flushing
        || c->pool_flushing || c->closing);
  g_cond_broadcast (&c->cond);
}

/* Called with lock.  Returns the writer to close (outside the lock) once
 * nothing uses or points into it any more. */
static zb_writer *
gst_zero_conn_take_idle_writer (GstZeroConn * c)
{
  zb_writer *w = NULL;

  if (c->closing && !c->busy && c->live == 0) {
    w = c->writer;
    c->writer = NULL;
  }
  return w;
}

/* Detach from the reader as soon as no ring memory is left: the reader then
 * sees end of stream.  Wakes any wait on this connection. */
static void
gst_zero_conn_close (GstZeroConn * c)
{
  zb_writer *w;

  g_mutex_lock (&c->lock);
  c->closing = TRUE;
  gst_zero_conn_update_interrupt (c);
  w = gst_zero_conn_take_idle_writer (c);
  g_mutex_unlock (&c->lock);
  zb_writer_close (w);
}

/* Give the writer back after a zb_writer_* call. */
static void
gst_zero_conn_end_call (GstZeroConn * c)
{
  zb_writer *w;

  g_mutex_lock (&c->lock);
  c->busy = FALSE;
  w = gst_zero_conn_take_idle_writer (c);
  if (c->waiters)
    g_cond_broadcast (&c->cond);
  g_mutex_unlock (&c->lock);
  zb_writer_close (w);
}

/* Take the writer for a short call from the streaming thread (metadata,
 * sizes).  NULL when interrupted or closed. */
static zb_writer *
gst_zero_conn_begin_call (GstZeroConn * c)
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

static void
gst_zero_conn_set_unlocked (GstZeroConn * c, gboolean unlocked,
    gboolean flushing)
{
  g_mutex_lock (&c->lock);
  c->unlocked = unlocked;
  if (flushing)
    c->flushing = TRUE;
  gst_zero_conn_update_interrupt (c);
  g_mutex_unlock (&c->lock);
}

static void
gst_zero_conn_flush_stop (GstZeroConn * c)
{
  g_mutex_lock (&c->lock);
  c->flushing = FALSE;
  gst_zero_conn_update_interrupt (c);
  g_mutex_unlock (&c->lock);
}

/* ------------------------------------------------------------------ */
/* Ring memory: a GstMemory pointing at a reservation in the ring.      */

typedef struct
{
  GstMemory mem;
  guint8 *data;                 /* start of the reservation */
  GstZeroConn *conn;            /* NULL on shared sub-memories */
} GstZeroRingMemory;

typedef struct
{
  GstAllocator parent;
} GstZeroRingAllocator;

typedef struct
{
  GstAllocatorClass parent_class;
} GstZeroRingAllocatorClass;

#define GST_ZERO_RING_MEMORY_TYPE "ZeroBufferRing"

static GType gst_zero_ring_allocator_get_type (void);
G_DEFINE_TYPE (GstZeroRingAllocator, gst_zero_ring_allocator,
    GST_TYPE_ALLOCATOR);

static GstAllocator *ring_allocator;

static GstMemory *
gst_zero_ring_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  /* Ring memory only comes from a reservation, see the pool. */
  return NULL;
}

static void
gst_zero_ring_allocator_free (GstAllocator * allocator, GstMemory * mem)
{
  GstZeroRingMemory *rm = (GstZeroRingMemory *) mem;
  GstZeroConn *c = rm->conn;
  gboolean kept = FALSE;
  zb_writer *w;

  if (c != NULL) {
    g_mutex_lock (&c->lock);
    if (c->reserved == mem) {
      /* Freed without being rendered: give the space back.  Nobody waits
       * for ring space while a reservation is out, so busy is brief. */
      while (c->busy) {
        c->waiters++;
        g_cond_wait (&c->cond, &c->lock);
        c->waiters--;
      }
      w = c->writer;
      c->busy = TRUE;
      g_mutex_unlock (&c->lock);
      if (w)
        zb_writer_abandon (w);
      GST_DEBUG ("abandoned an unrendered ring reservation");
      g_mutex_lock (&c->lock);
      c->busy = FALSE;
      c->reserved = NULL;
      c->res_data = NULL;
    }
    c->live--;
    /* The next frame's memory: no allocation per frame. */
    if (c->spare_mem == NULL) {
      c->spare_mem = rm;
      kept = TRUE;
    }
    w = gst_zero_conn_take_idle_writer (c);
    if (c->waiters)
      g_cond_broadcast (&c->cond);
    g_mutex_unlock (&c->lock);
    zb_writer_close (w);
    gst_zero_conn_unref (c);
  }
  if (!kept)
    g_free (rm);
}

static gpointer
gst_zero_ring_memory_map (GstMemory * mem, gsize maxsize, GstMapFlags flags)
{
  return ((GstZeroRingMemory *) mem)->data;
}

static void
gst_zero_ring_memory_unmap (GstMemory * mem)
{
}

static GstMemory *
gst_zero_ring_memory_share (GstMemory * mem, gssize offset, gssize size)
{
  GstZeroRingMemory *rm = (GstZeroRingMemory *) mem;
  GstZeroRingMemory *sub;
  GstMemory *parent;

  if (size == -1)
    size = mem->size - offset;
  parent = mem->parent ? mem->parent : mem;

  sub = g_new0 (GstZeroRingMemory, 1);
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (parent) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
      mem->allocator, parent, mem->maxsize, mem->align, mem->offset + offset,
      size);
  sub->data = rm->data;
  return GST_MEMORY_CAST (sub);
}

static GstMemory *
gst_zero_ring_memory_copy (GstMemory * mem, gssize offset, gssize size)
{
  GstZeroRingMemory *rm = (GstZeroRingMemory *) mem;
  GstMemory *copy;
  GstMapInfo info;

  if (size == -1)
    size = mem->size > (gsize) offset ? mem->size - offset : 0;
  copy = gst_allocator_alloc (NULL, size, NULL);
  if (copy && gst_memory_map (copy, &info, GST_MAP_WRITE)) {
    memcpy (info.data, rm->data + mem->offset + offset, size);
    gst_memory_unmap (copy, &info);
  }
  return copy;
}

static gboolean
gst_zero_ring_memory_is_span (GstMemory * mem1, GstMemory * mem2,
    gsize * offset)
{
  return FALSE;
}

static void
gst_zero_ring_allocator_class_init (GstZeroRingAllocatorClass * klass)
{
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  allocator_class->alloc = gst_zero_ring_allocator_alloc;
  allocator_class->free = gst_zero_ring_allocator_free;
}

static void
gst_zero_ring_allocator_init (GstZeroRingAllocator * self)
{
  GstAllocator *allocator = GST_ALLOCATOR_CAST (self);

  allocator->mem_type = GST_ZERO_RING_MEMORY_TYPE;
  allocator->mem_map = gst_zero_ring_memory_map;
  allocator->mem_unmap = gst_zero_ring_memory_unmap;
  allocator->mem_share = gst_zero_ring_memory_share;
  allocator->mem_copy = gst_zero_ring_memory_copy;
  allocator->mem_is_span = gst_zero_ring_memory_is_span;
  GST_OBJECT_FLAG_SET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

/* Reserve a frame of size bytes for the pool; only when nobody else uses
 * the writer, so an upstream thread never waits for the streaming thread.
 * Returns 0 with *out set, ZB_ECANCELED, or another code meaning "use
 * system memory instead". */
static int
gst_zero_conn_reserve (GstZeroConn * c, gsize size, gboolean dontwait,
    GstMemory ** out)
{
  GstZeroRingMemory *rm;
  zb_writer *w;
  void *data = NULL;
  int timeout, rc;

  g_mutex_lock (&c->lock);
  if (c->writer == NULL || c->busy || c->reserved || c->closing
      || c->no_reserve) {
    g_mutex_unlock (&c->lock);
    return ZB_EBUSY;
  }
  if (c->unlocked || c->flushing || c->pool_flushing) {
    g_mutex_unlock (&c->lock);
    return ZB_ECANCELED;
  }
  c->busy = TRUE;
  w = c->writer;
  rm = c->spare_mem;
  c->spare_mem = NULL;
  g_mutex_unlock (&c->lock);

  /* A bounded wait is left to render, which knows the exact deadline and
   * what to post when it passes; here we only wait when it is unbounded. */
  timeout = (dontwait || c->drop || c->write_timeout >= 0) ? 0 : -1;
  rc = zb_writer_reserve (w, size, &data, timeout);

  if (rc == ZB_OK) {
    if (rm)
      memset (rm, 0, sizeof *rm);
    else
      rm = g_new0 (GstZeroRingMemory, 1);
    gst_memory_init (GST_MEMORY_CAST (rm), 0, ring_allocator, NULL, size, 0,
        0, size);
    rm->data = data;
    rm->conn = gst_zero_conn_ref (c);
    *out = GST_MEMORY_CAST (rm);
  }

  g_mutex_lock (&c->lock);
  if (rc == ZB_OK) {
    c->reserved = *out;
    c->res_data = data;
    c->res_size = size;
    c->live++;
  } else {
    if (rc == ZB_EREADERGONE && c->gone[0] == '\0') {
      /* Later calls only say "gone"; keep whether it closed or died. */
      g_strlcpy (c->gone, zb_last_error (), sizeof c->gone);
    }
    if (rm && c->spare_mem == NULL) {
      c->spare_mem = rm;
      rm = NULL;
    }
  }
  g_mutex_unlock (&c->lock);
  if (rc != ZB_OK)
    g_free (rm);
  gst_zero_conn_end_call (c);

  return rc;
}

/* ------------------------------------------------------------------ */
/* Buffer pool: hands out ring memory, or system memory when it can't.  */

typedef struct
{
  GstBufferPool parent;

  GstZeroConn *conn;
  gsize size;

  GMutex lock;
  /* guarded by lock */
  GPtrArray *pending;           /* acquired, neither rendered nor released */
  GstBuffer *ring_buffer;       /* the buffer made around a reservation */
  GstBuffer *spare;             /* an emptied ring buffer, for reuse */
} GstZeroSinkPool;

typedef struct
{
  GstBufferPoolClass parent_class;
} GstZeroSinkPoolClass;

static GType gst_zero_sink_pool_get_type (void);
#define GST_TYPE_ZERO_SINK_POOL (gst_zero_sink_pool_get_type ())
#define GST_IS_ZERO_SINK_POOL(obj) \
  (G_TYPE_CHECK_INSTANCE_TYPE ((obj), GST_TYPE_ZERO_SINK_POOL))
G_DEFINE_TYPE (GstZeroSinkPool, gst_zero_sink_pool, GST_TYPE_BUFFER_POOL);

static gboolean
gst_zero_sink_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) pool;
  guint size;

  if (!gst_buffer_pool_config_get_params (config, NULL, &size, NULL, NULL))
    return FALSE;
  self->size = size;

  return GST_BUFFER_POOL_CLASS (gst_zero_sink_pool_parent_class)->set_config
      (pool, config);
}

static GstFlowReturn
gst_zero_sink_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) pool;
  GstFlowReturn ret;
  gboolean first;
  GstMemory *mem = NULL;
  int rc;

  /* A reservation fixes the frame's place in the ring, so only the oldest
   * frame in flight may hold one: while another pool buffer is pending the
   * new one is plain memory and gets copied.  This also keeps a second
   * acquire from waiting on the one reservation the library allows. */
  g_mutex_lock (&self->lock);
  first = self->pending->len == 0 && self->ring_buffer == NULL;
  g_mutex_unlock (&self->lock);

  if (first && self->size > 0) {
    gboolean dontwait = params
        && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);

    rc = gst_zero_conn_reserve (self->conn, self->size, dontwait, &mem);
    if (rc == ZB_OK) {
      GstBuffer *buf;

      g_mutex_lock (&self->lock);
      buf = self->spare;
      self->spare = NULL;
      g_mutex_unlock (&self->lock);
      if (buf == NULL)
        buf = gst_buffer_new ();
      gst_buffer_append_memory (buf, mem);
      g_mutex_lock (&self->lock);
      g_ptr_array_add (self->pending, buf);
      self->ring_buffer = buf;
      g_mutex_unlock (&self->lock);
      GST_LOG_OBJECT (pool, "ring buffer %p of %" G_GSIZE_FORMAT " bytes",
          buf, self->size);
      *buffer = buf;
      return GST_FLOW_OK;
    }
    if (rc == ZB_ECANCELED) {
      gboolean flushing;

      g_mutex_lock (&self->conn->lock);
      flushing = self->conn->flushing || self->conn->pool_flushing;
      g_mutex_unlock (&self->conn->lock);
      if (flushing)
        return GST_FLOW_FLUSHING;
    }
    GST_LOG_OBJECT (pool, "no reservation (%s), system memory instead",
        zb_status_name (rc));
  }

  ret = GST_BUFFER_POOL_CLASS (gst_zero_sink_pool_parent_class)->acquire_buffer
      (pool, buffer, params);
  if (ret == GST_FLOW_OK) {
    g_mutex_lock (&self->lock);
    g_ptr_array_add (self->pending, *buffer);
    g_mutex_unlock (&self->lock);
  }
  return ret;
}

static void
gst_zero_sink_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) pool;
  gboolean is_ring;

  g_mutex_lock (&self->lock);
  g_ptr_array_remove_fast (self->pending, buffer);
  is_ring = self->ring_buffer == buffer;
  if (is_ring)
    self->ring_buffer = NULL;
  g_mutex_unlock (&self->lock);

  if (is_ring) {
    /* Its memory was published, or is abandoned now; the empty buffer
     * carries the next reservation. */
    gst_buffer_remove_all_memory (buffer);
    GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
    g_mutex_lock (&self->lock);
    if (self->spare == NULL) {
      self->spare = buffer;
      buffer = NULL;
    }
    g_mutex_unlock (&self->lock);
    if (buffer)
      gst_buffer_unref (buffer);
    return;
  }
  GST_BUFFER_POOL_CLASS (gst_zero_sink_pool_parent_class)->release_buffer
      (pool, buffer);
}

static void
gst_zero_sink_pool_flush_start (GstBufferPool * pool)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) pool;

  g_mutex_lock (&self->conn->lock);
  self->conn->pool_flushing = TRUE;
  gst_zero_conn_update_interrupt (self->conn);
  g_mutex_unlock (&self->conn->lock);
}

static void
gst_zero_sink_pool_flush_stop (GstBufferPool * pool)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) pool;

  g_mutex_lock (&self->conn->lock);
  self->conn->pool_flushing = FALSE;
  gst_zero_conn_update_interrupt (self->conn);
  g_mutex_unlock (&self->conn->lock);
}

/* The buffer went through render: it no longer holds back reservations. */
static void
gst_zero_sink_pool_rendered (GstZeroSinkPool * self, GstBuffer * buffer)
{
  g_mutex_lock (&self->lock);
  g_ptr_array_remove_fast (self->pending, buffer);
  g_mutex_unlock (&self->lock);
}

static void
gst_zero_sink_pool_finalize (GObject * object)
{
  GstZeroSinkPool *self = (GstZeroSinkPool *) object;

  gst_zero_conn_unref (self->conn);
  g_ptr_array_unref (self->pending);
  if (self->spare)
    gst_buffer_unref (self->spare);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gst_zero_sink_pool_parent_class)->finalize (object);
}

static void
gst_zero_sink_pool_class_init (GstZeroSinkPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zero_sink_pool_finalize;
  pool_class->set_config = gst_zero_sink_pool_set_config;
  pool_class->acquire_buffer = gst_zero_sink_pool_acquire_buffer;
  pool_class->release_buffer = gst_zero_sink_pool_release_buffer;
  pool_class->flush_start = gst_zero_sink_pool_flush_start;
  pool_class->flush_stop = gst_zero_sink_pool_flush_stop;
}

static void
gst_zero_sink_pool_init (GstZeroSinkPool * self)
{
  g_mutex_init (&self->lock);
  self->pending = g_ptr_array_new ();
}

static GstBufferPool *
gst_zero_sink_pool_new (GstZeroConn * conn, GstCaps * caps, gsize size)
{
  GstZeroSinkPool *self = g_object_new (GST_TYPE_ZERO_SINK_POOL, NULL);
  GstStructure *config;

  gst_object_ref_sink (self);
  self->conn = gst_zero_conn_ref (conn);
  config = gst_buffer_pool_get_config (GST_BUFFER_POOL_CAST (self));
  gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
  if (!gst_buffer_pool_set_config (GST_BUFFER_POOL_CAST (self), config)) {
    gst_object_unref (self);
    return NULL;
  }
  return GST_BUFFER_POOL_CAST (self);
}

/* ------------------------------------------------------------------ */
/* The element.                                                        */

struct _GstZeroSink
{
  GstBaseSink parent;

  /* properties, GST_OBJECT_LOCK */
  gchar *buffer_name;
  gint connect_timeout;
  gint write_timeout;
  GstZeroSinkOnFull on_full;
  GstZeroSinkOnReaderLost on_reader_lost;
  guint64 frames_written;
  guint64 frames_dropped;
  guint64 frames_copied;
  guint64 bytes_written;
  gdouble ring_utilization;

  /* bound in start(), then read without locks */
  gchar *name;
  gint conn_timeout;
  gint wr_timeout;
  gboolean drop;
  gboolean reconnect;

  /* streaming thread only */
  GstCaps *caps;
  gchar *meta;                  /* metadata JSON for caps */
  gsize meta_len;
  gsize frame_size;             /* from video caps, else 0 */
  gboolean described;           /* conn checked and metadata written */
  gboolean eos_closed;
  gboolean failed;              /* an error was posted: do not wait or post
                                 * again when upstream retries the caps */

  /* lock guards conn against unlock() and the unlocked flag; the
   * streaming thread and stop() are the only ones changing conn */
  GMutex lock;
  gboolean unlocked;
  GstZeroConn *conn;
};

#define gst_zero_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstZeroSink, gst_zero_sink, GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_zero_sink_debug, "zerosink", 0,
        "ZeroBuffer shared-memory sink"));
GST_ELEMENT_REGISTER_DEFINE (zerosink, "zerosink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK);
GST_ELEMENT_REGISTER_DEFINE (zero_sink, "zero-sink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK);

GType
gst_zero_sink_on_full_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_SINK_ON_FULL_BLOCK,
        "Wait until the reader frees space (see write-timeout)", "block"},
    {GST_ZERO_SINK_ON_FULL_DROP,
        "Drop the frame and count it in frames-dropped", "drop"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroSinkOnFull", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_zero_sink_on_reader_lost_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_SINK_ON_READER_LOST_ERROR,
        "Post an error and stop streaming", "error"},
    {GST_ZERO_SINK_ON_READER_LOST_RECONNECT,
        "Wait (up to connect-timeout) for a new reader on the same name, "
          "write the metadata again and go on", "reconnect"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroSinkOnReaderLost", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void gst_zero_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_zero_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_zero_sink_finalize (GObject * object);
static gboolean gst_zero_sink_start (GstBaseSink * bsink);
static gboolean gst_zero_sink_stop (GstBaseSink * bsink);
static gboolean gst_zero_sink_set_caps (GstBaseSink * bsink, GstCaps * caps);
static gboolean gst_zero_sink_propose_allocation (GstBaseSink * bsink,
    GstQuery * query);
static gboolean gst_zero_sink_event (GstBaseSink * bsink, GstEvent * event);
static GstFlowReturn gst_zero_sink_render (GstBaseSink * bsink,
    GstBuffer * buffer);
static gboolean gst_zero_sink_unlock (GstBaseSink * bsink);
static gboolean gst_zero_sink_unlock_stop (GstBaseSink * bsink);

static void
gst_zero_sink_class_init (GstZeroSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_zero_sink_set_property;
  gobject_class->get_property = gst_zero_sink_get_property;
  gobject_class->finalize = gst_zero_sink_finalize;

  properties[PROP_BUFFER_NAME] =
      g_param_spec_string ("buffer-name", "Buffer name",
      "Name of the ZeroBuffer the reader created; when unset the element's "
      "name is used", DEFAULT_BUFFER_NAME,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_CONNECT_TIMEOUT] =
      g_param_spec_int ("connect-timeout", "Connect timeout",
      "Milliseconds to wait for a reader to create the buffer "
      "(-1 = wait forever, 0 = fail at once)", -1, G_MAXINT,
      DEFAULT_CONNECT_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_WRITE_TIMEOUT] =
      g_param_spec_int ("write-timeout", "Write timeout",
      "Milliseconds to wait for space in a full ring before posting an error "
      "(-1 = as long as the reader lives)", -1, G_MAXINT,
      DEFAULT_WRITE_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_ON_FULL] =
      g_param_spec_enum ("on-full", "On full",
      "What to do with a frame when the ring is full",
      GST_TYPE_ZERO_SINK_ON_FULL, DEFAULT_ON_FULL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_ON_READER_LOST] =
      g_param_spec_enum ("on-reader-lost", "On reader lost",
      "What to do when the reader closes the buffer or dies mid-stream",
      GST_TYPE_ZERO_SINK_ON_READER_LOST, DEFAULT_ON_READER_LOST,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_FRAMES_WRITTEN] =
      g_param_spec_uint64 ("frames-written", "Frames written",
      "Number of frames written into the ring since start", 0, G_MAXUINT64,
      0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_DROPPED] =
      g_param_spec_uint64 ("frames-dropped", "Frames dropped",
      "Number of frames dropped because the ring was full (on-full=drop)",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_COPIED] =
      g_param_spec_uint64 ("frames-copied", "Frames copied",
      "Number of written frames that were copied into the ring; the others "
      "were produced in place through the proposed buffer pool", 0,
      G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BYTES_WRITTEN] =
      g_param_spec_uint64 ("bytes-written", "Bytes written",
      "Number of payload bytes written into the ring since start", 0,
      G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_RING_UTILIZATION] =
      g_param_spec_double ("ring-utilization", "Ring utilization",
      "Fraction of the payload ring in use after the last write "
      "(0.0 = empty, 1.0 = full)", 0.0, 1.0, 0.0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, properties);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer sink", "Sink",
      "Writes buffers into a ZeroBuffer v1 shared-memory ring created by a "
      "reader in another process", "gst-zerobuffer authors");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_zero_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_sink_set_caps);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_sink_propose_allocation);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_sink_event);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_sink_render);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock);
  basesink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_sink_unlock_stop);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_ON_FULL, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SINK_ON_READER_LOST, 0);

  ring_allocator = g_object_new (gst_zero_ring_allocator_get_type (), NULL);
  gst_object_ref_sink (ring_allocator);
}

static void
gst_zero_sink_init (GstZeroSink * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->write_timeout = DEFAULT_WRITE_TIMEOUT;
  self->on_full = DEFAULT_ON_FULL;
  self->on_reader_lost = DEFAULT_ON_READER_LOST;
  g_mutex_init (&self->lock);

  /* A kept last sample would pin ring memory: the writer could not detach
   * at EOS and a pool buffer would stay pending. */
  gst_base_sink_set_last_sample_enabled (GST_BASE_SINK (self), FALSE);
}

static void
gst_zero_sink_finalize (GObject * object)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  g_free (self->buffer_name);
  g_free (self->name);
  g_free (self->meta);
  gst_caps_replace (&self->caps, NULL);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_free (self->buffer_name);
      self->buffer_name = g_value_dup_string (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      self->connect_timeout = g_value_get_int (value);
      break;
    case PROP_WRITE_TIMEOUT:
      self->write_timeout = g_value_get_int (value);
      break;
    case PROP_ON_FULL:
      self->on_full = g_value_get_enum (value);
      break;
    case PROP_ON_READER_LOST:
      self->on_reader_lost = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstZeroSink *self = GST_ZERO_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_value_set_string (value, self->buffer_name);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case PROP_WRITE_TIMEOUT:
      g_value_set_int (value, self->write_timeout);
      break;
    case PROP_ON_FULL:
      g_value_set_enum (value, self->on_full);
      break;
    case PROP_ON_READER_LOST:
      g_value_set_enum (value, self->on_reader_lost);
      break;
    case PROP_FRAMES_WRITTEN:
      g_value_set_uint64 (value, self->frames_written);
      break;
    case PROP_FRAMES_DROPPED:
      g_value_set_uint64 (value, self->frames_dropped);
      break;
    case PROP_FRAMES_COPIED:
      g_value_set_uint64 (value, self->frames_copied);
      break;
    case PROP_BYTES_WRITTEN:
      g_value_set_uint64 (value, self->bytes_written);
      break;
    case PROP_RING_UTILIZATION:
      g_value_set_double (value, self->ring_utilization);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstFlowReturn gst_zero_sink_connect (GstZeroSink * self,
    gboolean once);

static gboolean
gst_zero_sink_start (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_OBJECT_LOCK (self);
  g_free (self->name);
  self->name = g_strdup (self->buffer_name ? self->buffer_name :
      GST_OBJECT_NAME (self));
  self->conn_timeout = self->connect_timeout;
  self->wr_timeout = self->write_timeout;
  self->drop = self->on_full == GST_ZERO_SINK_ON_FULL_DROP;
  self->reconnect =
      self->on_reader_lost == GST_ZERO_SINK_ON_READER_LOST_RECONNECT;
  self->frames_written = 0;
  self->frames_dropped = 0;
  self->frames_copied = 0;
  self->bytes_written = 0;
  self->ring_utilization = 0.0;
  GST_OBJECT_UNLOCK (self);

  if (zb_validate_name (self->name) != ZB_OK) {
    /* Escaped: a bad name may hold a newline. */
    gchar *shown = g_strescape (self->name, NULL);

    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid buffer name \"%s\": use 1-%u letters, digits, '.', '_' or "
            "'-', not starting with '.'", shown, ZB_NAME_MAX),
        ("%s", zb_last_error ()));
    g_free (shown);
    return FALSE;
  }

  g_mutex_lock (&self->lock);
  self->unlocked = FALSE;
  g_mutex_unlock (&self->lock);
  self->eos_closed = FALSE;
  self->failed = FALSE;

  /* One attempt now, so that what waiting cannot mend (no permission, a
   * bad header, another writer, no reader with connect-timeout=0) fails
   * the state change at once.  Posted later from the streaming thread
   * during preroll, gst-launch-1.0 1.22 can miss such an error and hang.
   * A reader that is not there yet is waited for in the streaming thread,
   * where unlock() can interrupt it, never here. */
  if (gst_zero_sink_connect (self, TRUE) == GST_FLOW_ERROR)
    return FALSE;
  GST_DEBUG_OBJECT (self, "started on buffer \"%s\"%s", self->name,
      self->conn ? ", connected" : "");
  return TRUE;
}

/* Detach from the reader (it sees end of stream); the writer itself is
 * closed once the last ring memory is gone. */
static void
gst_zero_sink_drop_conn (GstZeroSink * self)
{
  GstZeroConn *c;

  g_mutex_lock (&self->lock);
  c = self->conn;
  self->conn = NULL;
  g_mutex_unlock (&self->lock);

  if (c) {
    gst_zero_conn_close (c);
    gst_zero_conn_unref (c);
  }
}

static gboolean
gst_zero_sink_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  /* Never posts: stopping is not a failure, whatever state we are in. */
  gst_zero_sink_drop_conn (self);
  gst_caps_replace (&self->caps, NULL);
  g_clear_pointer (&self->meta, g_free);
  self->meta_len = 0;
  self->frame_size = 0;
  self->eos_closed = FALSE;

  GST_DEBUG_OBJECT (self, "stopped");
  return TRUE;
}

/* Check the ring against the caps and write the metadata.  Posts and
 * returns FALSE on failure. */
static gboolean
gst_zero_sink_describe (GstZeroSink * self, GstZeroConn * c)
{
  zb_writer_stats st;
  zb_writer *w;
  gsize max;
  int rc = ZB_OK;

  if (self->caps == NULL)
    return TRUE;

  w = gst_zero_conn_begin_call (c);
  if (w == NULL)
    return TRUE;                /* interrupted: render tries again */

  max = zb_writer_max_frame_size (w);
  zb_writer_get_stats (w, &st);
  if (self->frame_size > max) {
    gst_zero_conn_end_call (c);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Buffer \"%s\" is too small for these caps: two frames of %"
            G_GSIZE_FORMAT " bytes need a payload ring of at least %"
            G_GSIZE_FORMAT " bytes, the reader made %" G_GUINT64_FORMAT,
            self->name, self->frame_size,
            2 * (self->frame_size + ZB_FRAME_HEADER_SIZE) + 15,
            st.payload_size),
        ("largest frame this ring takes: %" G_GSIZE_FORMAT " bytes; caps %"
            GST_PTR_FORMAT, max, self->caps));
    return FALSE;
  }

  if (zb_writer_has_metadata (w)) {
    /* An earlier writer described this buffer; metadata is written once,
     * so our frames are only right for the caps it gave. */
    const void *data = NULL;
    size_t len = 0;
    GstCaps *theirs = NULL;
    GError *err = NULL;

    rc = zb_writer_get_metadata (w, &data, &len);
    if (rc == ZB_OK)
      theirs = gst_zero_meta_parse_caps (data, len, &err);
    gst_zero_conn_end_call (c);
    if (rc == ZB_ECORRUPT) {
      /* Not another writer's caps: a broken or hostile peer. */
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Buffer \"%s\" holds corrupt metadata", self->name),
          ("%s: %s", zb_strerror (rc), zb_last_error ()));
      return FALSE;
    }
    if (theirs == NULL || !gst_caps_is_equal (theirs, self->caps)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Buffer \"%s\" already describes other caps: an earlier writer "
              "wrote its metadata, which is written once per buffer",
              self->name),
          ("theirs: %" GST_PTR_FORMAT " (%s), ours: %" GST_PTR_FORMAT,
              theirs, rc != ZB_OK ? zb_last_error () : err ? err->message :
              "parsed", self->caps));
      g_clear_error (&err);
      gst_clear_caps (&theirs);
      return FALSE;
    }
    gst_caps_unref (theirs);
    GST_DEBUG_OBJECT (self, "buffer \"%s\" already describes our caps",
        self->name);
    self->described = TRUE;
    return TRUE;
  }
  if (st.metadata_size == 0) {
    /* The reader asked for no metadata: it knows the format already. */
    gst_zero_conn_end_call (c);
    GST_INFO_OBJECT (self, "buffer \"%s\" has no metadata block, caps not "
        "written", self->name);
    self->described = TRUE;
    return TRUE;
  }

  rc = zb_writer_set_metadata (w, self->meta, self->meta_len);
  gst_zero_conn_end_call (c);

  switch (rc) {
    case ZB_OK:
      GST_DEBUG_OBJECT (self, "wrote metadata %s", self->meta);
      self->described = TRUE;
      return TRUE;
    case ZB_EMETATOOLARGE:
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Metadata of %" G_GSIZE_FORMAT " bytes does not fit the metadata "
              "block of buffer \"%s\"", self->meta_len, self->name),
          ("%s", zb_last_error ()));
      return FALSE;
    case ZB_EREADERGONE:
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("The reader of buffer \"%s\" is gone", self->name),
          ("%s", zb_last_error ()));
      return FALSE;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write the metadata of buffer \"%s\": %s", self->name,
              zb_strerror (rc)), ("%s", zb_last_error ()));
      return FALSE;
  }
}

/* Wait for the reader, in slices so that unlock() is seen.  Returns OK,
 * FLUSHING when unlocked (nothing posted), or ERROR after posting.  With
 * @once, a single attempt: CUSTOM_SUCCESS when the reader is not there
 * yet and connect-timeout allows waiting for it. */
static GstFlowReturn
gst_zero_sink_connect (GstZeroSink * self, gboolean once)
{
  gint64 deadline = 0;
  zb_writer *w = NULL;
  GstZeroConn *c;
  gboolean unlocked;
  int rc;

  if (self->conn_timeout > 0)
    deadline = g_get_monotonic_time () +
        (gint64) self->conn_timeout * G_TIME_SPAN_MILLISECOND;
  GST_DEBUG_OBJECT (self, "connecting to buffer \"%s\" (timeout %d ms)",
      self->name, self->conn_timeout);

  for (;;) {
    gint slice = CONNECT_SLICE_MS;

    g_mutex_lock (&self->lock);
    unlocked = self->unlocked;
    g_mutex_unlock (&self->lock);
    if (unlocked) {
      GST_DEBUG_OBJECT (self, "connect interrupted");
      return GST_FLOW_FLUSHING;
    }

    if (self->conn_timeout == 0 || once) {
      slice = 0;
    } else if (self->conn_timeout > 0) {
      gint64 left = (deadline - g_get_monotonic_time ()) /
          G_TIME_SPAN_MILLISECOND;

      slice = CLAMP (left, 0, CONNECT_SLICE_MS);
    }

    rc = zb_writer_open (&w, self->name, slice);
    if (rc == ZB_OK)
      break;
    if (rc == ZB_ENOTFOUND || rc == ZB_ENOREADER) {
      if (once && self->conn_timeout != 0) {
        GST_DEBUG_OBJECT (self, "no reader yet: %s", zb_last_error ());
        return GST_FLOW_CUSTOM_SUCCESS;
      }
      if (self->conn_timeout == 0 || (self->conn_timeout > 0
              && g_get_monotonic_time () >= deadline)) {
        if (rc == ZB_ENOREADER)
          GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
              ("Buffer \"%s\" exists but has no live reader (waited %d ms)",
                  self->name, self->conn_timeout), ("%s; a reader in another "
                  "PID namespace that is not libzerobuffer cannot be seen "
                  "alive", zb_last_error ()));
        else
          GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
              ("No reader created buffer \"%s\" within %d ms", self->name,
                  self->conn_timeout), ("%s", zb_last_error ()));
        return GST_FLOW_ERROR;
      }
      continue;
    }

    switch (rc) {
      case ZB_EWRITERBUSY:
        GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
            ("Buffer \"%s\" already has a writer", self->name),
            ("%s", zb_last_error ()));
        break;
      case ZB_EPERM:
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
            ("Permission denied opening buffer \"%s\"", self->name),
            ("%s", zb_last_error ()));
        break;
      case ZB_EBADNAME:
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Invalid buffer name \"%s\"", self->name),
            ("%s", zb_last_error ()));
        break;
      case ZB_ENOSPC:
        GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
            ("Not enough shared memory for buffer \"%s\": /dev/shm is too "
                "small for the reader's ring", self->name),
            ("%s", zb_last_error ()));
        break;
      case ZB_EVERSION:
      case ZB_ECORRUPT:
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
            ("Buffer \"%s\" has an invalid or incompatible header",
                self->name), ("%s", zb_last_error ()));
        break;
      default:
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
            ("Could not open buffer \"%s\": %s", self->name,
                zb_strerror (rc)), ("%s", zb_last_error ()));
        break;
    }
    return GST_FLOW_ERROR;
  }

  c = gst_zero_conn_new (w, self->wr_timeout, self->drop);
  self->described = FALSE;
  g_mutex_lock (&self->lock);
  self->conn = c;
  if (self->unlocked)
    gst_zero_conn_set_unlocked (c, TRUE, FALSE);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "connected to buffer \"%s\" (largest frame %"
      G_GSIZE_FORMAT " bytes)", self->name, zb_writer_max_frame_size (w));

  if (!gst_zero_sink_describe (self, c))
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

static gboolean
gst_zero_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstVideoInfo info;
  gchar *element_name;
  GstFlowReturn ret;

  if (self->failed)
    return FALSE;
  if (self->caps) {
    if (gst_caps_is_equal (caps, self->caps)) {
      GST_DEBUG_OBJECT (self, "same caps again, nothing to do");
      return TRUE;
    }
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Cannot change caps on buffer \"%s\" mid-stream: its metadata is "
            "written once per buffer", self->name),
        ("negotiated %" GST_PTR_FORMAT ", refused %" GST_PTR_FORMAT,
            self->caps, caps));
    return FALSE;
  }

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  self->frame_size = 0;
  if (gst_structure_has_name (gst_caps_get_structure (caps, 0), "video/x-raw")
      && gst_video_info_from_caps (&info, caps))
    self->frame_size = GST_VIDEO_INFO_SIZE (&info);

  element_name = gst_object_get_name (GST_OBJECT (self));
  g_free (self->meta);
  self->meta = gst_zero_meta_caps_to_json (caps, element_name, &self->meta_len);
  g_free (element_name);
  gst_caps_replace (&self->caps, caps);

  if (self->eos_closed)
    return TRUE;                /* render reports the late data */
  if (self->conn)
    ret = gst_zero_sink_describe (self, self->conn) ? GST_FLOW_OK :
        GST_FLOW_ERROR;
  else
    ret = gst_zero_sink_connect (self, FALSE);

  /* Paused or flushing: render connects when data comes. */
  if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING)
    return TRUE;
  /* The error is posted; the same caps again must not wait and post it
   * once more each time upstream retries. */
  gst_caps_replace (&self->caps, NULL);
  self->failed = TRUE;
  return FALSE;
}

static gboolean
gst_zero_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  GstBufferPool *pool;
  GstVideoInfo info;
  GstCaps *caps;
  gboolean need_pool;
  zb_writer *w;
  gsize size, max;

  gst_query_parse_allocation (query, &caps, &need_pool);
  if (caps == NULL || self->conn == NULL)
    return TRUE;
  /* Frames must come out at the size the caps promise: only fixed-size
   * raw video gets ring memory. */
  if (!gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "video/x-raw") || !gst_video_info_from_caps (&info, caps))
    return TRUE;
  size = GST_VIDEO_INFO_SIZE (&info);

  w = gst_zero_conn_begin_call (self->conn);
  if (w == NULL)
    return TRUE;
  max = zb_writer_max_frame_size (w);
  gst_zero_conn_end_call (self->conn);
  if (size == 0 || size > max)
    return TRUE;

  pool = gst_zero_sink_pool_new (self->conn, caps, size);
  if (pool == NULL)
    return TRUE;
  gst_query_add_allocation_pool (query, pool, size, 0, 0);
  gst_object_unref (pool);
  GST_DEBUG_OBJECT (self, "proposed a ring pool of %" G_GSIZE_FORMAT
      "-byte buffers", size);
  return TRUE;
}

static gboolean
gst_zero_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      GST_DEBUG_OBJECT (self, "end of stream: detaching from \"%s\"",
          self->name);
      gst_zero_sink_drop_conn (self);
      self->eos_closed = TRUE;
      break;
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->lock);
      if (self->conn)
        gst_zero_conn_flush_stop (self->conn);
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* Write one buffer: commit it in place when it is the pending reservation,
 * else copy it in once.  Returns a zb status; *detail gets
 * zb_last_error() of a failure.  ZB_EBUSY: a buffer upstream took from our
 * pool later holds the ring's next slot, so this one cannot go first. */
static int
gst_zero_sink_write (GstZeroSink * self, GstZeroConn * c, GstBuffer * buf,
    gsize size, gboolean * in_place, gdouble * utilization, gchar * detail,
    gsize detail_len)
{
  GstMemory *mem = NULL, *root;
  gint64 deadline = -1;
  gboolean mine = FALSE, in_time = TRUE;
  zb_writer *w;
  int rc;

  if (!self->drop && self->wr_timeout > 0)
    deadline = g_get_monotonic_time () +
        (gint64) self->wr_timeout * G_TIME_SPAN_MILLISECOND;

  if (gst_buffer_n_memory (buf) == 1) {
    mem = gst_buffer_peek_memory (buf, 0);
    if (mem->allocator != ring_allocator)
      mem = NULL;
  }

  g_mutex_lock (&c->lock);
  for (;;) {
    if (c->unlocked || c->flushing) {
      g_mutex_unlock (&c->lock);
      g_strlcpy (detail, "interrupted", detail_len);
      return ZB_ECANCELED;
    }
    if (c->writer == NULL) {
      g_mutex_unlock (&c->lock);
      g_strlcpy (detail, "the writer is closed", detail_len);
      return ZB_EINVAL;
    }
    if (!c->busy) {
      root = mem ? (mem->parent ? mem->parent : mem) : NULL;
      mine = root != NULL && root == c->reserved;
      if (c->reserved == NULL || mine)
        break;
      /* Upstream pushed this ahead of a buffer it took from the pool later
       * (a reordering decoder, or a non-pool buffer overtaking).  That one
       * sits in the ring's next slot and comes after us in the stream:
       * waiting would never end.  Stop reserving on this connection. */
      c->no_reserve = TRUE;
      g_mutex_unlock (&c->lock);
      g_strlcpy (detail, "a pool buffer not rendered yet holds the ring's "
          "next slot; zero-copy is now off for this reader", detail_len);
      return ZB_EBUSY;
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
      g_snprintf (detail, detail_len, "%s: the writer stayed busy for %d ms",
          self->name, self->wr_timeout);
      return ZB_ETIMEDOUT;
    }
  }
  c->busy = TRUE;
  w = c->writer;
  g_mutex_unlock (&c->lock);

  if (mine) {
    GstMapInfo info;
    guint8 *res = c->res_data;

    /* The buffer may have been trimmed: move it to the reservation's
     * start, where the frame header expects it. */
    gst_memory_map (mem, &info, GST_MAP_READ);
    if (info.data != res && info.data >= res
        && info.data + size <= res + c->res_size)
      memmove (res, info.data, size);
    gst_memory_unmap (mem, &info);
    rc = zb_writer_commit (w, size);
    *in_place = TRUE;
    if (rc != ZB_OK) {
      g_strlcpy (detail, zb_last_error (), detail_len);
      zb_writer_abandon (w);
    }
  } else {
    gint timeout = self->drop ? 0 : self->wr_timeout;

    if (deadline >= 0)
      timeout = MAX (0, (deadline - g_get_monotonic_time ()) /
          G_TIME_SPAN_MILLISECOND);
    *in_place = FALSE;
    if (gst_buffer_n_memory (buf) == 1) {
      GstMapInfo info;

      if (!gst_buffer_map (buf, &info, GST_MAP_READ)) {
        rc = ZB_EINVAL;
        g_strlcpy (detail, "cannot map the buffer", detail_len);
      } else {
        rc = zb_writer_write (w, info.data, size, timeout);
        gst_buffer_unmap (buf, &info);
      }
    } else {
      void *p;

      /* Gather the pieces straight into the ring: still one copy. */
      rc = zb_writer_reserve (w, size, &p, timeout);
      if (rc == ZB_OK) {
        gst_buffer_extract (buf, 0, p, size);
        rc = zb_writer_commit (w, size);
      }
    }
    if (rc != ZB_OK)
      g_strlcpy (detail, zb_last_error (), detail_len);
  }

  if (rc == ZB_OK) {
    zb_writer_stats st;

    zb_writer_get_stats (w, &st);
    *utilization = st.payload_size ?
        (gdouble) (st.payload_size - MIN (st.free_bytes, st.payload_size)) /
        st.payload_size : 0.0;
  }

  if (mine || rc == ZB_EREADERGONE) {
    g_mutex_lock (&c->lock);
    if (mine) {
      c->reserved = NULL;
      c->res_data = NULL;
    }
    if (rc == ZB_EREADERGONE) {
      if (c->gone[0] == '\0')
        g_strlcpy (c->gone, detail, sizeof c->gone);
      else
        g_strlcpy (detail, c->gone, detail_len);
    }
    g_mutex_unlock (&c->lock);
  }
  gst_zero_conn_end_call (c);
  return rc;
}

/* The reader left: wait for a new one on the same name and describe the
 * stream to it again. */
static GstFlowReturn
gst_zero_sink_reconnect (GstZeroSink * self)
{
  GstFlowReturn ret;

  GST_WARNING_OBJECT (self, "reader of \"%s\" is gone, waiting for a new one",
      self->name);
  gst_zero_sink_drop_conn (self);
  ret = gst_zero_sink_connect (self, FALSE);
  if (ret == GST_FLOW_OK) {
    /* Upstream still holds a pool bound to the old reader: ask it to
     * renegotiate so it gets one for the new ring. */
    gst_pad_push_event (GST_BASE_SINK_PAD (self), gst_event_new_reconfigure ());
  }
  return ret;
}

static GstFlowReturn
gst_zero_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gsize size = gst_buffer_get_size (buf);
  gchar detail[256];
  gboolean in_place = FALSE;
  gdouble utilization = 0.0;
  GstFlowReturn ret = GST_FLOW_OK;
  int rc;

  if (G_UNLIKELY (self->eos_closed)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Buffer \"%s\" was closed at end of stream; no more data can be "
            "written", self->name),
        ("the writer detached on EOS and the reader saw end of stream"));
    return GST_FLOW_ERROR;
  }
  if (G_UNLIKELY (size == 0)) {
    GST_LOG_OBJECT (self, "skipping empty buffer %" GST_PTR_FORMAT, buf);
    goto done;
  }

again:
  if (G_UNLIKELY (self->conn == NULL)) {
    ret = gst_zero_sink_connect (self, FALSE);
    if (ret == GST_FLOW_FLUSHING) {
      ret = gst_base_sink_wait_preroll (bsink);
      if (ret == GST_FLOW_OK)
        goto again;
    }
    if (ret != GST_FLOW_OK)
      goto done;
  }
  if (G_UNLIKELY (self->caps && !self->described)
      && !gst_zero_sink_describe (self, self->conn)) {
    ret = GST_FLOW_ERROR;
    goto done;
  }

  rc = gst_zero_sink_write (self, self->conn, buf, size, &in_place,
      &utilization, detail, sizeof detail);
  switch (rc) {
    case ZB_OK:
      GST_LOG_OBJECT (self, "wrote %" G_GSIZE_FORMAT " bytes %s, ring %.0f%% "
          "used: %" GST_PTR_FORMAT, size, in_place ? "in place" : "by copy",
          utilization * 100.0, buf);
      GST_OBJECT_LOCK (self);
      self->frames_written++;
      self->bytes_written += size;
      if (!in_place)
        self->frames_copied++;
      self->ring_utilization = utilization;
      GST_OBJECT_UNLOCK (self);
      break;
    case ZB_ECANCELED:
      /* Paused: wait for PLAYING and try again; flushing: give up. */
      ret = gst_base_sink_wait_preroll (bsink);
      if (ret == GST_FLOW_OK)
        goto again;
      break;
    case ZB_ETIMEDOUT:
      if (self->drop) {
        GST_LOG_OBJECT (self, "ring full, dropping %" GST_PTR_FORMAT, buf);
        GST_OBJECT_LOCK (self);
        self->frames_dropped++;
        GST_OBJECT_UNLOCK (self);
        g_object_notify_by_pspec (G_OBJECT (self),
            properties[PROP_FRAMES_DROPPED]);
        break;
      }
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Buffer \"%s\" stayed full for %d ms: the reader does not release "
              "frames", self->name, self->wr_timeout), ("%s", detail));
      ret = GST_FLOW_ERROR;
      break;
    case ZB_EREADERGONE:
      if (self->reconnect) {
        ret = gst_zero_sink_reconnect (self);
        if (ret == GST_FLOW_FLUSHING) {
          ret = gst_base_sink_wait_preroll (bsink);
          if (ret == GST_FLOW_OK)
            goto again;
        }
        if (ret == GST_FLOW_OK)
          goto again;
        break;
      }
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("The reader of buffer \"%s\" is gone", self->name), ("%s", detail));
      ret = GST_FLOW_ERROR;
      break;
    case ZB_EBUSY:
      /* Order matters more than this one frame; an error would stop a
       * pipeline that otherwise works (copying from now on). */
      GST_ELEMENT_WARNING (self, STREAM, FAILED,
          ("Dropped a frame for buffer \"%s\": upstream sent it ahead of "
              "the pool buffer holding the ring's next slot", self->name),
          ("%s", detail));
      GST_OBJECT_LOCK (self);
      self->frames_dropped++;
      GST_OBJECT_UNLOCK (self);
      g_object_notify_by_pspec (G_OBJECT (self),
          properties[PROP_FRAMES_DROPPED]);
      break;
    case ZB_ETOOLARGE:
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("A frame of %" G_GSIZE_FORMAT " bytes can never fit buffer \"%s\"",
              size, self->name), ("%s", detail));
      ret = GST_FLOW_ERROR;
      break;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write to buffer \"%s\": %s", self->name,
              zb_strerror (rc)), ("%s", detail));
      ret = GST_FLOW_ERROR;
      break;
  }

done:
  if (buf->pool && GST_IS_ZERO_SINK_POOL (buf->pool))
    gst_zero_sink_pool_rendered ((GstZeroSinkPool *) buf->pool, buf);
  return ret;
}

static gboolean
gst_zero_sink_unlock (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gboolean flushing;

  GST_OBJECT_LOCK (bsink->sinkpad);
  flushing = GST_PAD_IS_FLUSHING (bsink->sinkpad);
  GST_OBJECT_UNLOCK (bsink->sinkpad);

  GST_DEBUG_OBJECT (self, "unlock%s", flushing ? " (flushing)" : "");
  g_mutex_lock (&self->lock);
  self->unlocked = TRUE;
  if (self->conn)
    gst_zero_conn_set_unlocked (self->conn, TRUE, flushing);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_zero_sink_unlock_stop (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);

  GST_DEBUG_OBJECT (self, "unlock stop");
  g_mutex_lock (&self->lock);
  self->unlocked = FALSE;
  if (self->conn)
    gst_zero_conn_set_unlocked (self->conn, FALSE, FALSE);
  g_mutex_unlock (&self->lock);
  return TRUE;
}
