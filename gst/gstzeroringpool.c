/* Ring memory and the buffer pool zerosink proposes.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzeroringpool.h"
#include "gstzerometa.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_ring_pool_debug);
#define GST_CAT_DEFAULT gst_zero_ring_pool_debug

/* ------------------------------------------------------------------ */
/* Ring memory: a GstMemory pointing at a reservation in the ring.      */

typedef struct
{
  GstMemory mem;
  guint8 *data;                 /* start of the reservation */
  GstZeroWriterConn *conn;      /* NULL on shared sub-memories */
} GstZeroRingMemory;

struct _GstZeroRingAllocator
{
  GstAllocator parent;

  /* Freed memory structs for the next reservations: no allocation per
   * frame.  Linked through their data pointer. */
  GMutex lock;
  GstZeroRingMemory *spare;
  guint n_spare;
};

/* One per pool in flight is enough; more are freed. */
#define GST_ZERO_RING_SPARE_MAX 8

G_DEFINE_TYPE (GstZeroRingAllocator, gst_zero_ring_allocator,
    GST_TYPE_ALLOCATOR);

static GstAllocator *
gst_zero_ring_allocator_get (void)
{
  static gsize allocator = 0;

  if (g_once_init_enter (&allocator)) {
    GstAllocator *a = g_object_new (GST_TYPE_ZERO_RING_ALLOCATOR, NULL);

    gst_object_ref_sink (a);
    /* Alive until the process exits, like GStreamer's own allocators. */
    GST_OBJECT_FLAG_SET (a, GST_OBJECT_FLAG_MAY_BE_LEAKED);
    g_once_init_leave (&allocator, (gsize) a);
  }
  return (GstAllocator *) allocator;
}

static GstZeroRingMemory *
gst_zero_ring_allocator_take_spare (GstZeroRingAllocator * self)
{
  GstZeroRingMemory *rm;

  g_mutex_lock (&self->lock);
  rm = self->spare;
  if (rm) {
    self->spare = (GstZeroRingMemory *) rm->data;
    self->n_spare--;
  }
  g_mutex_unlock (&self->lock);
  if (rm == NULL)
    return g_new0 (GstZeroRingMemory, 1);
  memset (rm, 0, sizeof *rm);
  return rm;
}

static void
gst_zero_ring_allocator_keep_spare (GstZeroRingAllocator * self,
    GstZeroRingMemory * rm)
{
  g_mutex_lock (&self->lock);
  if (self->n_spare < GST_ZERO_RING_SPARE_MAX) {
    rm->data = (guint8 *) self->spare;
    self->spare = rm;
    self->n_spare++;
    rm = NULL;
  }
  g_mutex_unlock (&self->lock);
  g_free (rm);
}

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

  if (rm->conn != NULL) {
    /* Gives an unrendered reservation back; never waits. */
    gst_zero_writer_conn_release (rm->conn, rm);
    gst_zero_writer_conn_unref (rm->conn);
  }
  gst_zero_ring_allocator_keep_spare (GST_ZERO_RING_ALLOCATOR (allocator),
      rm);
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

  sub = gst_zero_ring_allocator_take_spare (GST_ZERO_RING_ALLOCATOR
      (mem->allocator));
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
gst_zero_ring_allocator_finalize (GObject * object)
{
  GstZeroRingAllocator *self = GST_ZERO_RING_ALLOCATOR (object);

  while (self->spare) {
    GstZeroRingMemory *next = (GstZeroRingMemory *) self->spare->data;

    g_free (self->spare);
    self->spare = next;
  }
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gst_zero_ring_allocator_parent_class)->finalize (object);
}

static void
gst_zero_ring_allocator_class_init (GstZeroRingAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_zero_ring_allocator_finalize;
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
  g_mutex_init (&self->lock);
}

/* Reserves @size bytes on @conn.  Returns 0 with *out, or a zb status. */
static int
gst_zero_ring_memory_reserve (GstZeroWriterConn * conn, gsize size,
    gboolean dontwait, gconstpointer requester, GstMemory ** out)
{
  GstAllocator *allocator = gst_zero_ring_allocator_get ();
  GstZeroRingMemory *rm;
  gpointer data = NULL;
  int rc;

  /* The struct first: its address names the reservation. */
  rm = gst_zero_ring_allocator_take_spare (GST_ZERO_RING_ALLOCATOR
      (allocator));
  rc = gst_zero_writer_conn_reserve (conn, size, dontwait, rm, requester,
      &data);
  if (rc != ZB_OK) {
    gst_zero_ring_allocator_keep_spare (GST_ZERO_RING_ALLOCATOR (allocator),
        rm);
    return rc;
  }
  gst_memory_init (GST_MEMORY_CAST (rm), 0, allocator, NULL, size, 0, 0,
      size);
  rm->data = data;
  rm->conn = gst_zero_writer_conn_ref (conn);
  *out = GST_MEMORY_CAST (rm);
  return ZB_OK;
}

gconstpointer
gst_zero_ring_pool_buffer_owner (GstBuffer * buffer)
{
  GstMemory *mem;

  if (gst_buffer_n_memory (buffer) != 1)
    return NULL;
  mem = gst_buffer_peek_memory (buffer, 0);
  if (!gst_memory_is_type (mem, GST_ZERO_RING_MEMORY_TYPE))
    return NULL;
  return mem->parent ? mem->parent : mem;
}

/* ------------------------------------------------------------------ */
/* The pool.                                                           */

struct _GstZeroRingPool
{
  GstBufferPool parent;

  GstZeroWriterConn *conn;
  gsize size;
  gboolean packed;              /* made by gst_zero_ring_pool_new_packed() */
  GstZeroPacking packing;       /* the configured caps, when packed */
  gboolean refused;             /* the last config was refused */

  GMutex lock;
  /* guarded by lock */
  GPtrArray *pending;           /* acquired, neither rendered nor released */
  GstBuffer *ring_buffer;       /* the buffer made around a reservation */
  GstBuffer *spare;             /* an emptied ring buffer, for reuse */
};

G_DEFINE_TYPE_WITH_CODE (GstZeroRingPool, gst_zero_ring_pool,
    GST_TYPE_BUFFER_POOL,
    GST_DEBUG_CATEGORY_INIT (gst_zero_ring_pool_debug, "zeroringpool", 0,
        "ZeroBuffer ring memory and buffer pool"));

static const gchar **
gst_zero_ring_pool_get_options (GstBufferPool * pool)
{
  static const gchar *packed_options[] = {
    GST_BUFFER_POOL_OPTION_VIDEO_META, NULL
  };
  static const gchar *no_options[] = { NULL };

  return GST_ZERO_RING_POOL (pool)->packed ? packed_options : no_options;
}

static gboolean
gst_zero_ring_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstZeroRingPool *self = GST_ZERO_RING_POOL (pool);
  GstBuffer *spare;
  GstCaps *caps;
  guint size, min, max;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max))
    return FALSE;

  if (self->packed) {
    /* Buffers are packed frames, whatever size upstream asks for: only
     * the video meta tells it where the rows are. */
    if (caps == NULL || !gst_zero_packing_init (&self->packing, caps)
        || self->packing.default_packed) {
      GST_DEBUG_OBJECT (pool, "refusing caps that are not raw video with "
          "padded rows: %" GST_PTR_FORMAT, caps);
      self->refused = TRUE;
      return FALSE;
    }
    size = gst_zero_packing_size (&self->packing);
    if (!gst_buffer_pool_config_has_option (config,
            GST_BUFFER_POOL_OPTION_VIDEO_META)) {
      /* An upstream that ignores video meta would write the default
       * layout past the end of a packed frame.  Name the size we make:
       * it fails the caller's validation, so it makes its own pool. */
      GST_DEBUG_OBJECT (pool, "refusing a config without the video meta "
          "option; packed frames are %u bytes", size);
      gst_buffer_pool_config_set_params (config, caps, size, min, max);
      self->refused = TRUE;
      return FALSE;
    }
    gst_buffer_pool_config_set_params (config, caps, size, min, max);
    /* The spare ring buffer's meta may describe earlier caps. */
    g_mutex_lock (&self->lock);
    spare = self->spare;
    self->spare = NULL;
    g_mutex_unlock (&self->lock);
    if (spare)
      gst_buffer_unref (spare);
  }
  self->size = size;

  self->refused = !GST_BUFFER_POOL_CLASS
      (gst_zero_ring_pool_parent_class)->set_config (pool, config);
  return !self->refused;
}

/* The base class keeps an earlier config when a new one is refused: an
 * upstream that goes on regardless must not get packed frames. */
static gboolean
gst_zero_ring_pool_start (GstBufferPool * pool)
{
  if (GST_ZERO_RING_POOL (pool)->refused) {
    GST_WARNING_OBJECT (pool, "not activating: its config was refused");
    return FALSE;
  }
  return GST_BUFFER_POOL_CLASS (gst_zero_ring_pool_parent_class)->start (pool);
}

/* The packed layout on @buf, kept across reuse: a buffer of this pool
 * always holds one packed frame. */
static void
gst_zero_ring_pool_add_meta (GstZeroRingPool * self, GstBuffer * buf)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buf);

  if (meta != NULL)
    return;
  gst_zero_packing_add_meta (&self->packing, buf);
  meta = gst_buffer_get_video_meta (buf);
  GST_META_FLAG_SET (meta, GST_META_FLAG_POOLED | GST_META_FLAG_LOCKED);
}

/* System-memory buffers, for frames that cannot hold the reservation. */
static GstFlowReturn
gst_zero_ring_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstZeroRingPool *self = GST_ZERO_RING_POOL (pool);
  GstFlowReturn ret;

  ret = GST_BUFFER_POOL_CLASS (gst_zero_ring_pool_parent_class)->alloc_buffer
      (pool, buffer, params);
  if (ret == GST_FLOW_OK && self->packed)
    gst_zero_ring_pool_add_meta (self, *buffer);
  return ret;
}

static GstFlowReturn
gst_zero_ring_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstZeroRingPool *self = GST_ZERO_RING_POOL (pool);
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

  /* Flushing is this pool's own state: another pool on the same
   * connection (upstream renegotiated) may be in use meanwhile. */
  if (GST_BUFFER_POOL_IS_FLUSHING (pool))
    return GST_FLOW_FLUSHING;

  if (first && self->size > 0) {
    gboolean dontwait = params
        && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);

    rc = gst_zero_ring_memory_reserve (self->conn, self->size, dontwait,
        self, &mem);
    if (rc == ZB_OK) {
      GstBuffer *buf;

      g_mutex_lock (&self->lock);
      buf = self->spare;
      self->spare = NULL;
      g_mutex_unlock (&self->lock);
      if (buf == NULL)
        buf = gst_buffer_new ();
      gst_buffer_append_memory (buf, mem);
      if (self->packed)
        gst_zero_ring_pool_add_meta (self, buf);
      g_mutex_lock (&self->lock);
      g_ptr_array_add (self->pending, buf);
      self->ring_buffer = buf;
      g_mutex_unlock (&self->lock);
      GST_LOG_OBJECT (pool, "ring buffer %p of %" G_GSIZE_FORMAT " bytes",
          buf, self->size);
      *buffer = buf;
      return GST_FLOW_OK;
    }
    if (rc == ZB_ECANCELED && (GST_BUFFER_POOL_IS_FLUSHING (pool)
            || gst_zero_writer_conn_is_flushing (self->conn)))
      return GST_FLOW_FLUSHING;
    GST_LOG_OBJECT (pool, "no reservation (%s), system memory instead",
        zb_status_name (rc));
  }

  ret = GST_BUFFER_POOL_CLASS (gst_zero_ring_pool_parent_class)->acquire_buffer
      (pool, buffer, params);
  if (ret == GST_FLOW_OK) {
    g_mutex_lock (&self->lock);
    g_ptr_array_add (self->pending, *buffer);
    g_mutex_unlock (&self->lock);
  }
  return ret;
}

static void
gst_zero_ring_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstZeroRingPool *self = GST_ZERO_RING_POOL (pool);
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
  GST_BUFFER_POOL_CLASS (gst_zero_ring_pool_parent_class)->release_buffer
      (pool, buffer);
}

/* Wakes a reserve this pool is waiting in, and only that. */
static void
gst_zero_ring_pool_flush_start (GstBufferPool * pool)
{
  gst_zero_writer_conn_cancel_reserves (GST_ZERO_RING_POOL (pool)->conn,
      pool, TRUE);
}

static void
gst_zero_ring_pool_flush_stop (GstBufferPool * pool)
{
  gst_zero_writer_conn_cancel_reserves (GST_ZERO_RING_POOL (pool)->conn,
      pool, FALSE);
}

void
gst_zero_ring_pool_buffer_rendered (GstBuffer * buffer)
{
  GstZeroRingPool *self;

  if (buffer->pool == NULL || !GST_IS_ZERO_RING_POOL (buffer->pool))
    return;
  self = GST_ZERO_RING_POOL (buffer->pool);
  g_mutex_lock (&self->lock);
  g_ptr_array_remove_fast (self->pending, buffer);
  g_mutex_unlock (&self->lock);
}

static void
gst_zero_ring_pool_finalize (GObject * object)
{
  GstZeroRingPool *self = GST_ZERO_RING_POOL (object);

  /* A later pool may get this address: forget our cancellation. */
  gst_zero_writer_conn_cancel_reserves (self->conn, self, FALSE);
  gst_zero_writer_conn_unref (self->conn);
  g_ptr_array_unref (self->pending);
  if (self->spare)
    gst_buffer_unref (self->spare);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gst_zero_ring_pool_parent_class)->finalize (object);
}

static void
gst_zero_ring_pool_class_init (GstZeroRingPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zero_ring_pool_finalize;
  pool_class->get_options = gst_zero_ring_pool_get_options;
  pool_class->set_config = gst_zero_ring_pool_set_config;
  pool_class->alloc_buffer = gst_zero_ring_pool_alloc_buffer;
  pool_class->start = gst_zero_ring_pool_start;
  pool_class->acquire_buffer = gst_zero_ring_pool_acquire_buffer;
  pool_class->release_buffer = gst_zero_ring_pool_release_buffer;
  pool_class->flush_start = gst_zero_ring_pool_flush_start;
  pool_class->flush_stop = gst_zero_ring_pool_flush_stop;
}

static void
gst_zero_ring_pool_init (GstZeroRingPool * self)
{
  g_mutex_init (&self->lock);
  self->pending = g_ptr_array_new ();
}

static GstBufferPool *
gst_zero_ring_pool_make (GstZeroWriterConn * conn, GstCaps * caps,
    gsize size, gboolean packed)
{
  GstZeroRingPool *self = g_object_new (GST_TYPE_ZERO_RING_POOL, NULL);
  GstStructure *config;

  gst_object_ref_sink (self);
  self->conn = gst_zero_writer_conn_ref (conn);
  self->packed = packed;
  if (packed) {
    GstZeroPacking packing;

    /* Left unconfigured: a config of ours with the video meta option
     * would pass it on to an upstream that edits our config without
     * knowing what the option means. */
    if (!gst_zero_packing_init (&packing, caps) || packing.default_packed) {
      gst_object_unref (self);
      return NULL;
    }
    self->refused = TRUE;
    return GST_BUFFER_POOL_CAST (self);
  }
  config = gst_buffer_pool_get_config (GST_BUFFER_POOL_CAST (self));
  gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
  if (!gst_buffer_pool_set_config (GST_BUFFER_POOL_CAST (self), config)) {
    gst_object_unref (self);
    return NULL;
  }
  return GST_BUFFER_POOL_CAST (self);
}

GstBufferPool *
gst_zero_ring_pool_new (GstZeroWriterConn * conn, GstCaps * caps, gsize size)
{
  return gst_zero_ring_pool_make (conn, caps, size, FALSE);
}

GstBufferPool *
gst_zero_ring_pool_new_packed (GstZeroWriterConn * conn, GstCaps * caps)
{
  return gst_zero_ring_pool_make (conn, caps, 0, TRUE);
}

gboolean
gst_zero_ring_pool_propose (GstZeroWriterConn * conn, GstQuery * query,
    gboolean pack)
{
  GstZeroPacking packing;
  GstBufferPool *pool = NULL;
  GstCaps *caps;
  gboolean packed = FALSE;
  zb_writer *w;
  gsize size, max, query_size;

  gst_query_parse_allocation (query, &caps, NULL);
  if (caps == NULL || conn == NULL)
    return FALSE;
  /* Frames must come out at the size the caps promise: only fixed-size
   * raw video gets ring memory. */
  if (pack && gst_zero_packing_init (&packing, caps)) {
    /* the writer lays out any stride a video meta describes */
    if (packing.simple)
      gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
    size = gst_zero_packing_size (&packing);
    packed = !packing.default_packed;
  } else {
    size = gst_zero_meta_frame_size (caps);
  }
  if (size == 0)
    return FALSE;

  w = gst_zero_writer_conn_begin_call (conn);
  max = w ? zb_writer_max_frame_size (w) : 0;
  if (w)
    gst_zero_writer_conn_end_call (conn);
  if (size <= max)
    pool = packed ? gst_zero_ring_pool_new_packed (conn, caps) :
        gst_zero_ring_pool_new (conn, caps, size);
  if (pool == NULL)
    return FALSE;

  /* A packed pool is proposed with the size upstream's own layout needs:
   * only an upstream that reads its video meta gets its smaller frames
   * (see gst_zero_ring_pool_new_packed()). */
  query_size = packed ? GST_VIDEO_INFO_SIZE (&packing.info) : size;
  gst_query_add_allocation_pool (query, pool, query_size, 0, 0);
  gst_object_unref (pool);
  GST_DEBUG ("proposed a ring pool of %" G_GSIZE_FORMAT "-byte buffers%s",
      size, packed ? " with packed rows, for upstreams that read video meta" :
      "");
  return TRUE;
}
