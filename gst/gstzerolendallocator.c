/* Reader side: frames lent downstream straight from the ring, evacuated
 * into ordinary memory when held frames would stall the writer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzerolendallocator.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_lend_debug);
#define GST_CAT_DEFAULT gst_zero_lend_debug

/* While frames are lent under pressure, waits for a frame are cut into
 * slices this long so that held frames can be evacuated in between. */
#define EVACUATE_SLICE_MS 20

/* Buffers kept ready: GstBufferPool only makes system calls when its
 * queue runs empty, which a few spares prevent. */
#define GST_ZERO_LEND_POOL_MIN 16

/* Enough for every frame a deep queue holds; more are freed. */
#define GST_ZERO_LEND_SPARE_MAX 64

typedef enum
{
  GST_ZERO_LEND_MEMORY_LENT,    /* data points into the ring */
  GST_ZERO_LEND_MEMORY_EVACUATING,      /* being copied; still in the ring */
  GST_ZERO_LEND_MEMORY_EVACUATED,       /* data is our copy; frame released */
} GstZeroLendMemoryState;

/* One lent frame.  A sub-memory (mem.parent set) only points at its
 * parent, which owns the frame. */
typedef struct
{
  GstMemory mem;

  /* under the allocator's lock */
  guint8 *data;
  gint map_count;
  GstZeroLendMemoryState state;
  gboolean free_pending;        /* the last ref went during an evacuation */
  gboolean listed;              /* in the allocator's lent queue */
  GList link;

  /* set once, before the memory is published */
  guint64 idx;                  /* lending order */
  zb_reader *reader;
  zb_frame frame;
} GstZeroLendMemory;

struct _GstZeroLendAllocator
{
  GstAllocator parent;

  /* Guards every memory's mutable fields and the queue.  Held only for
   * bookkeeping, never across a copy. */
  GMutex lock;
  GQueue lent;                  /* of GstZeroLendMemory, oldest first */
  guint64 next_idx;
  /* Freed memory structs kept for the next frames: no allocation per
   * frame in a steady stream.  Linked through link.next. */
  GList *spare;
  guint n_spare;

  /* reader_lock: the attached reader, read for ring usage while another
   * thread may detach it */
  GMutex reader_lock;
  zb_reader *reader;

  /* the acquiring thread only */
  guint64 max_frame_room;       /* ring room the largest frame seen needs */
};

struct _GstZeroLendPool
{
  GstBufferPool parent;
};

G_DEFINE_TYPE_WITH_CODE (GstZeroLendAllocator, gst_zero_lend_allocator,
    GST_TYPE_ALLOCATOR,
    GST_DEBUG_CATEGORY_INIT (gst_zero_lend_debug, "zerolend", 0,
        "ZeroBuffer frames lent from the ring"));
G_DEFINE_TYPE (GstZeroLendPool, gst_zero_lend_pool, GST_TYPE_BUFFER_POOL);

static void
gst_zero_lend_allocator_finalize (GObject * object)
{
  GstZeroLendAllocator *self = GST_ZERO_LEND_ALLOCATOR (object);

  /* Every memory holds a reference: none can be left here. */
  g_warn_if_fail (g_queue_is_empty (&self->lent));
  while (self->spare) {
    GList *next = self->spare->next;

    g_free (self->spare->data);
    self->spare = next;
  }
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->reader_lock);

  G_OBJECT_CLASS (gst_zero_lend_allocator_parent_class)->finalize (object);
}

/* A zeroed memory struct, from the spares if there is one. */
static GstZeroLendMemory *
gst_zero_lend_allocator_take_spare_locked (GstZeroLendAllocator * self)
{
  GstZeroLendMemory *zm;

  if (self->spare == NULL)
    return g_new0 (GstZeroLendMemory, 1);
  zm = self->spare->data;
  self->spare = self->spare->next;
  self->n_spare--;
  memset (zm, 0, sizeof *zm);
  return zm;
}

/* Keeps @zm for reuse; FALSE if there are enough spares (free it then,
 * outside the lock). */
static gboolean
gst_zero_lend_allocator_keep_spare_locked (GstZeroLendAllocator * self,
    GstZeroLendMemory * zm)
{
  if (self->n_spare >= GST_ZERO_LEND_SPARE_MAX)
    return FALSE;
  zm->link.data = zm;
  zm->link.prev = NULL;
  zm->link.next = self->spare;
  self->spare = &zm->link;
  self->n_spare++;
  return TRUE;
}

/* Memories only come from lending frames, never from allocation. */
static GstMemory *
gst_zero_lend_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  return NULL;
}

/* The last reference went, from any thread: give the frame back, or free
 * the copy if it was evacuated. */
static void
gst_zero_lend_allocator_free (GstAllocator * allocator, GstMemory * mem)
{
  GstZeroLendAllocator *self = GST_ZERO_LEND_ALLOCATOR (allocator);
  GstZeroLendMemory *zm = (GstZeroLendMemory *) mem;
  zb_reader *reader;
  zb_frame frame;

  guint8 *copy = NULL;
  gboolean kept;

  g_mutex_lock (&self->lock);
  /* A sub-memory: its parent owns the frame and was unreffed already. */
  if (mem->parent) {
    kept = gst_zero_lend_allocator_keep_spare_locked (self, zm);
    g_mutex_unlock (&self->lock);
    if (!kept)
      g_free (zm);
    return;
  }

  switch (zm->state) {
    case GST_ZERO_LEND_MEMORY_EVACUATING:
      /* The evacuating thread is copying from the ring right now; it
       * finishes the job. */
      zm->free_pending = TRUE;
      g_mutex_unlock (&self->lock);
      return;
    case GST_ZERO_LEND_MEMORY_EVACUATED:
      copy = zm->data;
      kept = gst_zero_lend_allocator_keep_spare_locked (self, zm);
      g_mutex_unlock (&self->lock);
      g_free (copy);
      if (!kept)
        g_free (zm);
      return;
    case GST_ZERO_LEND_MEMORY_LENT:
    default:
      if (zm->listed)
        g_queue_unlink (&self->lent, &zm->link);
      reader = zm->reader;
      frame = zm->frame;
      kept = gst_zero_lend_allocator_keep_spare_locked (self, zm);
      g_mutex_unlock (&self->lock);
      if (!kept)
        g_free (zm);
      zb_reader_release (reader, &frame);
      return;
  }
}

/* Counts the mapping so that evacuation leaves the bytes where they are
 * until the matching unmap. */
static gpointer
gst_zero_lend_mem_map (GstMemory * mem, gsize maxsize, GstMapFlags flags)
{
  GstZeroLendAllocator *alloc = GST_ZERO_LEND_ALLOCATOR (mem->allocator);
  GstZeroLendMemory *zm = (GstZeroLendMemory *) (mem->parent ? mem->parent : mem);
  gpointer data;

  /* READONLY already refuses this; the ring is never written by us. */
  if (flags & GST_MAP_WRITE)
    return NULL;

  g_mutex_lock (&alloc->lock);
  zm->map_count++;
  data = zm->data;
  g_mutex_unlock (&alloc->lock);
  return data;
}

static void
gst_zero_lend_mem_unmap (GstMemory * mem)
{
  GstZeroLendAllocator *alloc = GST_ZERO_LEND_ALLOCATOR (mem->allocator);
  GstZeroLendMemory *zm = (GstZeroLendMemory *) (mem->parent ? mem->parent : mem);

  g_mutex_lock (&alloc->lock);
  g_warn_if_fail (zm->map_count > 0);
  zm->map_count--;
  g_mutex_unlock (&alloc->lock);
}

/* A plain system-memory copy, for writable mappings and deep copies. */
static GstMemory *
gst_zero_lend_mem_copy (GstMemory * mem, gssize offset, gssize size)
{
  GstMemory *copy;
  GstMapInfo src, dst;

  if (size == -1)
    size = (gssize) mem->size > offset ? (gssize) mem->size - offset : 0;
  if (offset < 0 || size < 0 || (gsize) (offset + size) > mem->size)
    return NULL;

  if (!gst_memory_map (mem, &src, GST_MAP_READ))
    return NULL;
  copy = gst_allocator_alloc (NULL, size, NULL);
  if (copy && gst_memory_map (copy, &dst, GST_MAP_WRITE)) {
    memcpy (dst.data, src.data + offset, size);
    gst_memory_unmap (copy, &dst);
  } else {
    g_clear_pointer (&copy, gst_memory_unref);
  }
  gst_memory_unmap (mem, &src);
  return copy;
}

/* A view of part of the frame.  It maps through the parent, so it follows
 * the frame when that is evacuated, and its reference keeps the parent. */
static GstMemory *
gst_zero_lend_mem_share (GstMemory * mem, gssize offset, gssize size)
{
  GstMemory *parent = mem->parent ? mem->parent : mem;
  GstZeroLendMemory *sub;

  if (size == -1)
    size = (gssize) mem->size > offset ? (gssize) mem->size - offset : 0;

  g_mutex_lock (&GST_ZERO_LEND_ALLOCATOR (mem->allocator)->lock);
  sub = gst_zero_lend_allocator_take_spare_locked (GST_ZERO_LEND_ALLOCATOR
      (mem->allocator));
  g_mutex_unlock (&GST_ZERO_LEND_ALLOCATOR (mem->allocator)->lock);
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (parent) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
      mem->allocator, parent, mem->maxsize, mem->align, mem->offset + offset,
      size);
  return GST_MEMORY_CAST (sub);
}

/* Two views are never merged in place: a buffer map of both copies. */
static gboolean
gst_zero_lend_mem_is_span (GstMemory * mem1, GstMemory * mem2, gsize * offset)
{
  return FALSE;
}

static void
gst_zero_lend_allocator_class_init (GstZeroLendAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_zero_lend_allocator_finalize;
  allocator_class->alloc = gst_zero_lend_allocator_alloc;
  allocator_class->free = gst_zero_lend_allocator_free;
}

static void
gst_zero_lend_allocator_init (GstZeroLendAllocator * self)
{
  GstAllocator *allocator = GST_ALLOCATOR_CAST (self);

  allocator->mem_type = GST_ZERO_LEND_MEMORY_TYPE;
  allocator->mem_map = gst_zero_lend_mem_map;
  allocator->mem_unmap = gst_zero_lend_mem_unmap;
  allocator->mem_copy = gst_zero_lend_mem_copy;
  allocator->mem_share = gst_zero_lend_mem_share;
  allocator->mem_is_span = gst_zero_lend_mem_is_span;
  GST_OBJECT_FLAG_SET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);

  g_mutex_init (&self->lock);
  g_mutex_init (&self->reader_lock);
  g_queue_init (&self->lent);
}

guint
gst_zero_lend_allocator_n_lent (GstZeroLendAllocator * self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = self->lent.length;
  g_mutex_unlock (&self->lock);
  return n;
}

/* The oldest lent memory, lent at @from or later, that nobody has mapped;
 * it is marked as being evacuated, which keeps it (and its frame) alive
 * until gst_zero_lend_allocator_end_evacuation(). */
static GstZeroLendMemory *
gst_zero_lend_allocator_begin_evacuation (GstZeroLendAllocator * self,
    guint64 from)
{
  GstZeroLendMemory *found = NULL;
  GList *l;

  g_mutex_lock (&self->lock);
  for (l = self->lent.head; l != NULL; l = l->next) {
    GstZeroLendMemory *zm = l->data;

    if (zm->idx >= from && zm->map_count == 0) {
      zm->state = GST_ZERO_LEND_MEMORY_EVACUATING;
      found = zm;
      break;
    }
  }
  g_mutex_unlock (&self->lock);
  return found;
}

/* Switches @zm over to @copy (transfer full, may be NULL) and gives its
 * frame back.  If it was mapped meanwhile (the mapping points into the
 * ring) or there is no copy, it stays lent.  Returns TRUE if it moved. */
static gboolean
gst_zero_lend_allocator_end_evacuation (GstZeroLendAllocator * self,
    GstZeroLendMemory * zm, guint8 * copy)
{
  gboolean dead, moved = FALSE;
  zb_reader *reader;
  zb_frame frame;

  g_mutex_lock (&self->lock);
  reader = zm->reader;
  frame = zm->frame;
  dead = zm->free_pending;
  if (dead || (copy != NULL && zm->map_count == 0)) {
    if (zm->listed) {
      g_queue_unlink (&self->lent, &zm->link);
      zm->listed = FALSE;
    }
    if (!dead) {
      zm->data = copy;
      copy = NULL;
      zm->state = GST_ZERO_LEND_MEMORY_EVACUATED;
      moved = TRUE;
    }
  } else {
    zm->state = GST_ZERO_LEND_MEMORY_LENT;
  }
  g_mutex_unlock (&self->lock);

  /* @zm may be freed by another thread from here on, unless dead. */
  if (dead) {
    gboolean kept;

    g_mutex_lock (&self->lock);
    kept = gst_zero_lend_allocator_keep_spare_locked (self, zm);
    g_mutex_unlock (&self->lock);
    if (!kept)
      g_free (zm);
  }
  if (dead || moved)
    zb_reader_release (reader, &frame);
  g_free (copy);
  return moved;
}

GstZeroLendAllocator *
gst_zero_lend_allocator_new (void)
{
  GstZeroLendAllocator *self = g_object_new (GST_TYPE_ZERO_LEND_ALLOCATOR,
      NULL);

  gst_object_ref_sink (self);
  return self;
}

void
gst_zero_lend_allocator_attach (GstZeroLendAllocator * self,
    zb_reader * reader)
{
  g_mutex_lock (&self->reader_lock);
  self->reader = reader;
  g_mutex_unlock (&self->reader_lock);
  self->max_frame_room = 0;
}

void
gst_zero_lend_allocator_detach (GstZeroLendAllocator * self)
{
  GList *l;

  g_mutex_lock (&self->reader_lock);
  self->reader = NULL;
  g_mutex_unlock (&self->reader_lock);

  g_mutex_lock (&self->lock);
  while ((l = g_queue_pop_head_link (&self->lent)) != NULL)
    ((GstZeroLendMemory *) l->data)->listed = FALSE;
  g_mutex_unlock (&self->lock);
}

/* Wraps a frame; the memory gives it back when freed. */
static GstMemory *
gst_zero_lend_allocator_wrap (GstZeroLendAllocator * self, zb_reader * reader,
    const zb_frame * frame)
{
  GstZeroLendMemory *zm;

  g_mutex_lock (&self->lock);
  zm = gst_zero_lend_allocator_take_spare_locked (self);
  gst_memory_init (GST_MEMORY_CAST (zm), GST_MEMORY_FLAG_READONLY,
      GST_ALLOCATOR_CAST (self), NULL, frame->size, 0, 0, frame->size);
  zm->data = (guint8 *) frame->data;
  zm->state = GST_ZERO_LEND_MEMORY_LENT;
  zm->reader = reader;
  zm->frame = *frame;
  zm->link.data = zm;
  zm->idx = self->next_idx++;
  g_queue_push_tail_link (&self->lent, &zm->link);
  zm->listed = TRUE;
  g_mutex_unlock (&self->lock);
  return GST_MEMORY_CAST (zm);
}

GstBuffer *
gst_zero_lend_allocator_lend (GstZeroLendAllocator * self,
    GstBufferPool * pool, const zb_frame * frame)
{
  GstBuffer *buf = NULL;
  zb_reader *reader;

  g_mutex_lock (&self->reader_lock);
  reader = self->reader;
  g_mutex_unlock (&self->reader_lock);
  g_return_val_if_fail (reader != NULL, NULL);

  /* Without a pool every frame gets a new buffer: slower, not wrong. */
  if (pool == NULL || gst_buffer_pool_acquire_buffer (pool, &buf,
          NULL) != GST_FLOW_OK)
    buf = gst_buffer_new ();
  gst_buffer_append_memory (buf, gst_zero_lend_allocator_wrap (self, reader,
          frame));
  return buf;
}

/* ------------------------------------------------------------------ */
/* Evacuation                                                          */

/* The ring bytes the writer cannot reuse yet and the ring size.  FALSE
 * once detached: after its close the reader may be freed. */
static gboolean
gst_zero_lend_allocator_ring_usage (GstZeroLendAllocator * self,
    guint64 * held, guint64 * size)
{
  zb_reader_stats st;
  gboolean ok = FALSE;

  g_mutex_lock (&self->reader_lock);
  if (self->reader) {
    zb_reader_get_stats (self->reader, &st);
    *held = st.held_bytes;
    *size = st.payload_size;
    ok = TRUE;
  }
  g_mutex_unlock (&self->reader_lock);
  return ok;
}

/* Copies lent frames out of the ring, oldest first, until at most @target
 * ring bytes are held; mapped frames are skipped.  Returns the bytes still
 * held; *moved counts the frames evacuated. */
static guint64
gst_zero_lend_allocator_evacuate (GstZeroLendAllocator * self, guint64 held,
    guint64 size, guint64 target, guint * moved)
{
  GstZeroLendMemory *zm;
  guint64 from = 0, before = held;
  guint n = 0, tried = 0;

  while (held > target && (zm =
          gst_zero_lend_allocator_begin_evacuation (self, from)) != NULL) {
    guint8 *copy;

    /* While evacuating, @zm and its frame stay put: no lock needed to
     * read the ring, and none is held across the copy. */
    from = zm->idx + 1;
    tried++;
    copy = g_try_malloc (zm->frame.size);
    if (copy)
      memcpy (copy, zm->frame.data, zm->frame.size);
    if (gst_zero_lend_allocator_end_evacuation (self, zm, copy))
      n++;
    else if (copy == NULL)
      break;                    /* out of memory: try again later */
    if (!gst_zero_lend_allocator_ring_usage (self, &held, &size))
      break;
  }

  GST_LOG_OBJECT (self, "evacuated %u of %u frames tried: ring held %"
      G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
      " (target %" G_GUINT64_FORMAT ")", n, tried, before, held, size, target);
  *moved += n;
  return held;
}

/* Evacuates if the ring is under pressure:
 *  - when the ring bytes not yet returned to the writer exceed @threshold
 *    percent of the ring, down to half that share;
 *  - when @starved (we waited a slice without a frame) and less room is
 *    free than the writer may need for the largest frame seen after a
 *    wrap, until that much is free.
 * Returns TRUE while a later check could still evacuate something, i.e.
 * the wait should be sliced. */
static gboolean
gst_zero_lend_allocator_relieve (GstZeroLendAllocator * self,
    guint threshold, gboolean starved, guint * moved)
{
  guint64 held, size, room, target = G_MAXUINT64;

  if (threshold == 0 || threshold >= 100)
    return FALSE;
  if (gst_zero_lend_allocator_n_lent (self) == 0)
    return FALSE;
  if (!gst_zero_lend_allocator_ring_usage (self, &held, &size))
    return FALSE;

  room = MIN (self->max_frame_room, size);

  if (held * 100 > (guint64) threshold * size)
    target = size * threshold / 200;
  if (starved && size - held < room)
    target = MIN (target, size - room);
  if (target != G_MAXUINT64)
    held = gst_zero_lend_allocator_evacuate (self, held, size, target, moved);

  /* Held bytes only fall while we wait, so nothing can trigger later
   * unless one of the conditions still holds (a frame was mapped). */
  return (held * 100 > (guint64) threshold * size || size - held < room)
      && gst_zero_lend_allocator_n_lent (self) > 0;
}

int
gst_zero_lend_allocator_acquire (GstZeroLendAllocator * self,
    zb_frame * frame, gint timeout_ms, guint threshold, guint * evacuated)
{
  gint64 deadline = -1;
  gboolean starved = FALSE;
  zb_reader *reader;
  int rc;

  g_mutex_lock (&self->reader_lock);
  reader = self->reader;
  g_mutex_unlock (&self->reader_lock);
  g_return_val_if_fail (reader != NULL, ZB_EINVAL);

  if (timeout_ms >= 0)
    deadline = g_get_monotonic_time () +
        (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;

  for (;;) {
    gint wait = -1;

    if (deadline >= 0)
      wait = (gint) ((MAX (deadline - g_get_monotonic_time (), 0) + 999)
          / 1000);
    if (gst_zero_lend_allocator_relieve (self, threshold, starved, evacuated)
        && (wait < 0 || wait > EVACUATE_SLICE_MS))
      wait = EVACUATE_SLICE_MS;

    rc = zb_reader_acquire (reader, frame, wait);
    if (rc == ZB_OK) {
      self->max_frame_room = MAX (self->max_frame_room,
          zb_ring_size_for_frame (frame->size));
      return rc;
    }
    if (rc != ZB_ETIMEDOUT)
      return rc;
    if (deadline >= 0 && g_get_monotonic_time () >= deadline)
      return rc;
    starved = TRUE;
  }
}

/* ------------------------------------------------------------------ */
/* Buffer recycling                                                    */

static GstFlowReturn
gst_zero_lend_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  *buffer = gst_buffer_new ();
  return GST_FLOW_OK;
}

static void
gst_zero_lend_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  /* Gives the frame back (or frees an evacuated copy). */
  gst_buffer_remove_all_memory (buffer);
  GST_BUFFER_POOL_CLASS (gst_zero_lend_pool_parent_class)->reset_buffer (pool,
      buffer);
  /* Empty is how every buffer comes back, not a change to refuse. */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
}

static void
gst_zero_lend_pool_class_init (GstZeroLendPoolClass * klass)
{
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  pool_class->alloc_buffer = gst_zero_lend_pool_alloc_buffer;
  pool_class->reset_buffer = gst_zero_lend_pool_reset_buffer;
}

static void
gst_zero_lend_pool_init (GstZeroLendPool * self)
{
}

GstBufferPool *
gst_zero_lend_pool_new (void)
{
  GstBufferPool *pool = g_object_new (GST_TYPE_ZERO_LEND_POOL, NULL);
  GstStructure *config;

  gst_object_ref_sink (pool);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, 0, GST_ZERO_LEND_POOL_MIN,
      0);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE)) {
    gst_object_unref (pool);
    return NULL;
  }
  return pool;
}

