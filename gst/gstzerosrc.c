/* GStreamer zerosrc: read frames from a ZeroBuffer v1 shared-memory ring.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-zerosrc
 * @title: zerosrc
 * @see_also: zerosink
 *
 * zerosrc is the *reader* of a ZeroBuffer v1 buffer: it creates the
 * shared-memory ring called #GstZeroSrc:buffer-name (the element's own name
 * when unset) at start and removes it at stop.  Any ZeroBuffer writer (the
 * zerosink element, the zerobuffer library, or the C++, C# and Python
 * implementations) can then connect and send frames; each frame becomes one
 * buffer.  A clean writer close ends the stream with EOS.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 zerosrc buffer-name=cam1 ! videoconvert ! autovideosink
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=I420,width=1280,height=720 ! zerosink buffer-name=cam1
 * ]|
 * Start the reader (zerosrc) first or second: a writer waits for the buffer
 * to appear.
 *
 * ## Caps
 *
 * The writer describes the frames in the buffer's metadata block, either as
 * the JSON the rocket-welder SDK uses (`{"type":"gstreamer-sink",
 * "caps":"video/x-raw,..."}`) or as a bare caps string.  zerosrc waits for the
 * writer to attach and sets its source caps from that metadata, so
 * `zerosrc ! videoconvert` negotiates without a capsfilter.  A writer that
 * attaches without metadata may still write it before its first frame.  When
 * the first frame arrives and there is still no metadata, zerosrc uses fixed
 * caps from downstream if there are any (e.g. a capsfilter right after it),
 * and otherwise sends `application/octet-stream` and posts a warning.  Setting
 * #GstZeroSrc:caps overrides all of this.  Metadata that cannot be parsed as
 * caps is a STREAM/FORMAT error.
 *
 * ## Zero-copy and evacuate-threshold
 *
 * Each buffer wraps its frame in the ring read-only, without copying; the
 * frame goes back to the writer when the last reference to the buffer is
 * dropped, from any thread and in any order (even after the element stopped).
 * Space returns to the writer only in ring order, so a held frame also keeps
 * the space of every frame after it, released or not.  An element that keeps
 * frames (`queue min-threshold-buffers=N`, appsink with max-buffers, a tee
 * branch that lags, an encoder with look-ahead) would therefore stall the
 * writer once it holds a ring's worth, while zerosrc has nothing new to push.
 *
 * zerosrc prevents that by *evacuating* held frames: it copies a frame into
 * ordinary memory, switches the buffer's memory over to the copy and gives
 * the ring space back.  The buffer stays the same object with the same
 * content; only where the bytes live changes.  zerosrc checks in its
 * streaming thread, before waiting for each frame and every 20 ms while it
 * waits, and evacuates the oldest held frames first:
 *
 * - when the ring bytes not yet returned to the writer (held frames plus
 *   released frames stuck behind them) exceed #GstZeroSrc:evacuate-threshold
 *   percent of the payload size, until they are at most half that share;
 * - when it has waited 20 ms for a frame and less free room is left than
 *   twice the largest frame seen so far (what the writer may need to place
 *   the next frame after a wrap), until that much is free, whatever the
 *   threshold.
 *
 * A frame that is mapped at that moment (gst_buffer_map() without the
 * matching unmap) is skipped and tried again at the next check, since its
 * bytes must not move under the reader: a downstream that keeps a frame
 * mapped indefinitely still pins the ring.  Downstream buffering then holds
 * copies, bounded by its own limits (a queue's max-size-*).  0 copies every
 * frame out at once and lends nothing; 100 never evacuates, so a downstream
 * that holds a ring's worth of frames stalls the writer.  Evacuated frames
 * are counted in #GstZeroSrc:frames-evacuated and, with the frames copied
 * at once, in #GstZeroSrc:frames-copied.
 *
 * Writable mappings get a copy as usual for read-only memory, and
 * sub-buffers (gst_buffer_copy_region()) share the frame: they follow it
 * when it is evacuated.
 *
 * ## Timestamps
 *
 * ZeroBuffer v1 frames carry no timestamps.  With #GstBaseSrc:do-timestamp
 * the base class stamps each buffer with the running time at which it was
 * received, as for other live sources (recommended with is-live=true).
 * Otherwise, when the caps have a non-zero framerate, zerosrc stamps the
 * n-th buffer with PTS n / framerate and a one-frame duration, counted from 0
 * (from the running time of the first frame when live); without a framerate
 * zerosrc sets none.  The buffer offset is the frame's sequence
 * number minus one.
 *
 * ## Writer crash
 *
 * A writer that dies (crash, SIGKILL) is detected within about 100 ms.  By
 * default that is a RESOURCE/READ error; with on-writer-crash=eos the frames
 * already written are delivered and the stream ends with EOS and a warning.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/gst.h>
#include <gst/base/base.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzerosrc.h"
#include "gstzerometa.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_src_debug);
#define GST_CAT_DEFAULT gst_zero_src_debug

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_PAYLOAD_SIZE "32M"
#define DEFAULT_METADATA_SIZE "64K"
#define DEFAULT_MODE 0600
#define DEFAULT_WRITER_TIMEOUT -1
#define DEFAULT_ON_WRITER_CRASH GST_ZERO_SRC_ON_WRITER_CRASH_ERROR
#define DEFAULT_IS_LIVE FALSE
#define DEFAULT_EVACUATE_THRESHOLD 50

/* While frames are lent under pressure, waits for a frame are cut into
 * slices this long so that held frames can be evacuated in between. */
#define EVACUATE_SLICE_MS 20

enum
{
  PROP_0,
  PROP_BUFFER_NAME,
  PROP_PAYLOAD_SIZE,
  PROP_METADATA_SIZE,
  PROP_MODE,
  PROP_CAPS,
  PROP_WRITER_TIMEOUT,
  PROP_ON_WRITER_CRASH,
  PROP_IS_LIVE,
  PROP_EVACUATE_THRESHOLD,
  PROP_FRAMES_RECEIVED,
  PROP_BYTES_RECEIVED,
  PROP_FRAMES_COPIED,
  PROP_FRAMES_EVACUATED,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

/* A private allocator per element: its memories wrap frames lent from the
 * ring and keep them in lending (= ring) order, so that the oldest can be
 * copied out when the ring runs full. */
#define GST_TYPE_ZERO_SRC_ALLOCATOR (gst_zero_src_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSrcAllocator, gst_zero_src_allocator, GST,
    ZERO_SRC_ALLOCATOR, GstAllocator);

#define GST_ZERO_SRC_MEMORY_TYPE "ZeroSrcMemory"

/* Recycles the GstBuffers that carry lent frames: a returning buffer drops
 * its memory (which gives the frame back) and waits empty for the next
 * frame, so a steady stream allocates nothing. */
#define GST_TYPE_ZERO_SRC_POOL (gst_zero_src_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroSrcPool, gst_zero_src_pool, GST, ZERO_SRC_POOL,
    GstBufferPool);

struct _GstZeroSrcPool
{
  GstBufferPool parent;
};

/* Buffers kept ready: GstBufferPool only makes system calls when its
 * queue runs empty, which a few spares prevent. */
#define GST_ZERO_SRC_POOL_MIN 16

typedef enum
{
  GST_ZERO_SRC_MEMORY_LENT,     /* data points into the ring */
  GST_ZERO_SRC_MEMORY_EVACUATING,       /* being copied; still in the ring */
  GST_ZERO_SRC_MEMORY_EVACUATED,        /* data is our copy; frame released */
} GstZeroSrcMemoryState;

/* One lent frame.  A sub-memory (mem.parent set) only points at its
 * parent, which owns the frame. */
typedef struct
{
  GstMemory mem;

  /* under the allocator's lock */
  guint8 *data;
  gint map_count;
  GstZeroSrcMemoryState state;
  gboolean free_pending;        /* the last ref went during an evacuation */
  gboolean listed;              /* in the allocator's lent queue */
  GList link;

  /* set once, before the memory is published */
  guint64 idx;                  /* lending order */
  zb_reader *reader;
  zb_frame frame;
} GstZeroSrcMemory;

struct _GstZeroSrcAllocator
{
  GstAllocator parent;

  /* Guards every memory's mutable fields and the queue.  Held only for
   * bookkeeping, never across a copy. */
  GMutex lock;
  GQueue lent;                  /* of GstZeroSrcMemory, oldest first */
  guint64 next_idx;
  /* Freed memory structs kept for the next frames: no allocation per
   * frame in a steady stream.  Linked through link.next. */
  GList *spare;
  guint n_spare;
};

/* Enough for every frame a deep queue holds; more are freed. */
#define GST_ZERO_SRC_SPARE_MAX 64

struct _GstZeroSrc
{
  GstPushSrc parent;

  /* properties, GST_OBJECT_LOCK */
  gchar *buffer_name;
  gchar *payload_size_str;
  guint64 payload_size;
  gchar *metadata_size_str;
  guint64 metadata_size;
  guint mode;
  GstCaps *caps;
  gint writer_timeout;
  GstZeroSrcOnWriterCrash on_writer_crash;
  guint evacuate_threshold;
  guint64 frames_received;
  guint64 bytes_received;
  guint64 frames_copied;
  guint64 frames_evacuated;
  gboolean started;             /* READY-bound properties are frozen */

  /* lock: the reader (unlock() comes from another thread, and stop() must
   * not close it under a stats call) and the caps we settled on (caps
   * queries come from any thread) */
  GMutex lock;
  zb_reader *reader;
  GstCaps *out_caps;

  /* streaming thread only, between start() and stop() */
  gchar *name;
  gboolean writer_attached;
  guint64 n_frames;
  gint fps_n, fps_d;
  GstClockTime ts_base;
  gsize max_frame_bytes;        /* largest frame seen, with its header */

  GstZeroSrcAllocator *allocator;
  GstBufferPool *pool;          /* start() to stop() */
};

GType
gst_zero_src_on_writer_crash_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_SRC_ON_WRITER_CRASH_ERROR,
        "Post a RESOURCE/READ error", "error"},
    {GST_ZERO_SRC_ON_WRITER_CRASH_EOS,
        "Deliver what was written, then end the stream", "eos"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroSrcOnWriterCrash", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

#define gst_zero_src_parent_class parent_class
G_DEFINE_TYPE (GstZeroSrc, gst_zero_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (zerosrc, "zerosrc", GST_RANK_NONE,
    GST_TYPE_ZERO_SRC);
GST_ELEMENT_REGISTER_DEFINE (zero_src, "zero-src", GST_RANK_NONE,
    GST_TYPE_ZERO_SRC);
G_DEFINE_TYPE (GstZeroSrcAllocator, gst_zero_src_allocator, GST_TYPE_ALLOCATOR);
G_DEFINE_TYPE (GstZeroSrcPool, gst_zero_src_pool, GST_TYPE_BUFFER_POOL);

static void gst_zero_src_allocator_forget (GstZeroSrcAllocator * self);
static GstBufferPool *gst_zero_src_pool_new (void);
static void gst_zero_src_finalize (GObject * object);
static void gst_zero_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_zero_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static GstCaps *gst_zero_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter);
static gboolean gst_zero_src_negotiate (GstBaseSrc * bsrc);
static gboolean gst_zero_src_is_seekable (GstBaseSrc * bsrc);
static gboolean gst_zero_src_start (GstBaseSrc * bsrc);
static gboolean gst_zero_src_stop (GstBaseSrc * bsrc);
static GstFlowReturn gst_zero_src_create (GstPushSrc * psrc,
    GstBuffer ** outbuf);
static gboolean gst_zero_src_unlock (GstBaseSrc * bsrc);
static gboolean gst_zero_src_unlock_stop (GstBaseSrc * bsrc);

static void
gst_zero_src_class_init (GstZeroSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_zero_src_debug, "zerosrc", 0,
      "ZeroBuffer shared-memory source");

  gobject_class->finalize = gst_zero_src_finalize;
  gobject_class->set_property = gst_zero_src_set_property;
  gobject_class->get_property = gst_zero_src_get_property;

  properties[PROP_BUFFER_NAME] =
      g_param_spec_string ("buffer-name", "Buffer name",
      "Name of the ZeroBuffer buffer to create (the element name when unset).",
      DEFAULT_BUFFER_NAME,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_PAYLOAD_SIZE] =
      g_param_spec_string ("payload-size", "Payload size",
      "Size of the frame ring, as bytes or with a K, M or G suffix.",
      DEFAULT_PAYLOAD_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_METADATA_SIZE] =
      g_param_spec_string ("metadata-size", "Metadata size",
      "Size of the metadata block, as bytes or with a K, M or G suffix.",
      DEFAULT_METADATA_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_MODE] =
      g_param_spec_uint ("mode", "Mode",
      "Permissions of the shared memory, semaphores and lock file (octal, "
      "e.g. 0600 or 0666).",
      0, 0777, DEFAULT_MODE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_CAPS] =
      g_param_spec_boxed ("caps", "Caps",
      "Caps to use whatever the writer's metadata says (unset: use it).",
      GST_TYPE_CAPS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_WRITER_TIMEOUT] =
      g_param_spec_int ("writer-timeout", "Writer timeout",
      "Milliseconds to wait for a writer to attach or for the next frame "
      "before posting an error (-1 = forever).",
      -1, G_MAXINT, DEFAULT_WRITER_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  properties[PROP_ON_WRITER_CRASH] =
      g_param_spec_enum ("on-writer-crash", "On writer crash",
      "What to do when the writer process dies.",
      GST_TYPE_ZERO_SRC_ON_WRITER_CRASH, DEFAULT_ON_WRITER_CRASH,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  properties[PROP_IS_LIVE] =
      g_param_spec_boolean ("is-live", "Is live",
      "Act as a live source (frames are only read in PLAYING).",
      DEFAULT_IS_LIVE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_EVACUATE_THRESHOLD] =
      g_param_spec_uint ("evacuate-threshold", "Evacuate threshold",
      "Percentage of the ring that frames held downstream may pin before "
      "the oldest are copied out of it, down to half that share (0 = copy "
      "every frame at once, 100 = never copy).",
      0, 100, DEFAULT_EVACUATE_THRESHOLD,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  properties[PROP_FRAMES_RECEIVED] =
      g_param_spec_uint64 ("frames-received", "Frames received",
      "Frames read from the buffer since start.",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_BYTES_RECEIVED] =
      g_param_spec_uint64 ("bytes-received", "Bytes received",
      "Payload bytes read from the buffer since start.",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_FRAMES_COPIED] =
      g_param_spec_uint64 ("frames-copied", "Frames copied",
      "Frames copied out of the ring since start, at once or by evacuation.",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_FRAMES_EVACUATED] =
      g_param_spec_uint64 ("frames-evacuated", "Frames evacuated",
      "Held frames copied out of the ring under pressure since start.",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer source", "Source",
      "Receive frames from a ZeroBuffer v1 shared-memory ring, zero-copy",
      "gst-zerobuffer authors");

  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_src_get_caps);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_zero_src_negotiate);
  basesrc_class->is_seekable = GST_DEBUG_FUNCPTR (gst_zero_src_is_seekable);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_zero_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zero_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zero_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SRC_ON_WRITER_CRASH, 0);
}

static void
gst_zero_src_init (GstZeroSrc * self)
{
  uint64_t size = 0;

  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->payload_size_str = g_strdup (DEFAULT_PAYLOAD_SIZE);
  zb_parse_size (DEFAULT_PAYLOAD_SIZE, &size);
  self->payload_size = size;
  self->metadata_size_str = g_strdup (DEFAULT_METADATA_SIZE);
  zb_parse_size (DEFAULT_METADATA_SIZE, &size);
  self->metadata_size = size;
  self->mode = DEFAULT_MODE;
  self->writer_timeout = DEFAULT_WRITER_TIMEOUT;
  self->on_writer_crash = DEFAULT_ON_WRITER_CRASH;
  self->evacuate_threshold = DEFAULT_EVACUATE_THRESHOLD;

  g_mutex_init (&self->lock);
  self->allocator = g_object_new (GST_TYPE_ZERO_SRC_ALLOCATOR, NULL);
  gst_object_ref_sink (self->allocator);

  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_live (GST_BASE_SRC (self), DEFAULT_IS_LIVE);
}

static void
gst_zero_src_finalize (GObject * object)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  g_free (self->buffer_name);
  g_free (self->payload_size_str);
  g_free (self->metadata_size_str);
  gst_clear_caps (&self->caps);
  gst_clear_caps (&self->out_caps);
  g_free (self->name);
  g_mutex_clear (&self->lock);
  /* Memories still alive hold their own reference. */
  gst_object_unref (self->allocator);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Parses a size property; on failure warns and leaves *str and *size. */
static void
gst_zero_src_set_size (GstZeroSrc * self, const gchar * prop,
    const gchar * text, gboolean allow_zero, gchar ** str, guint64 * size)
{
  uint64_t v = 0;

  if (text == NULL || zb_parse_size (text, &v) != ZB_OK
      || (v == 0 && !allow_zero)) {
    g_warning ("%s: invalid %s \"%s\" (expected e.g. 4096, 64K or 32M); "
        "keeping \"%s\"", GST_OBJECT_NAME (self), prop,
        text ? text : "(null)", *str);
    return;
  }
  g_free (*str);
  *str = g_strdup (text);
  *size = v;
}

static void
gst_zero_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  GST_OBJECT_LOCK (self);
  if (self->started && (pspec->flags & GST_PARAM_MUTABLE_READY)) {
    GST_WARNING_OBJECT (self, "%s can only be changed in NULL or READY state",
        pspec->name);
    GST_OBJECT_UNLOCK (self);
    return;
  }
  /* is-live lives in GstBaseSrc, which takes the object lock itself */
  if (prop_id == PROP_IS_LIVE) {
    GST_OBJECT_UNLOCK (self);
    gst_base_src_set_live (GST_BASE_SRC (self), g_value_get_boolean (value));
    return;
  }

  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_free (self->buffer_name);
      self->buffer_name = g_value_dup_string (value);
      break;
    case PROP_PAYLOAD_SIZE:
      gst_zero_src_set_size (self, "payload-size", g_value_get_string (value),
          FALSE, &self->payload_size_str, &self->payload_size);
      break;
    case PROP_METADATA_SIZE:
      gst_zero_src_set_size (self, "metadata-size",
          g_value_get_string (value), TRUE, &self->metadata_size_str,
          &self->metadata_size);
      break;
    case PROP_MODE:
      self->mode = g_value_get_uint (value);
      break;
    case PROP_CAPS:{
      const GstCaps *caps = gst_value_get_caps (value);

      /* ANY and EMPTY say nothing: treat them as unset */
      gst_clear_caps (&self->caps);
      if (caps != NULL && !gst_caps_is_any (caps) && !gst_caps_is_empty (caps))
        self->caps = gst_caps_copy (caps);
      break;
    }
    case PROP_WRITER_TIMEOUT:
      self->writer_timeout = g_value_get_int (value);
      break;
    case PROP_ON_WRITER_CRASH:
      self->on_writer_crash = g_value_get_enum (value);
      break;
    case PROP_EVACUATE_THRESHOLD:
      self->evacuate_threshold = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstZeroSrc *self = GST_ZERO_SRC (object);

  if (prop_id == PROP_IS_LIVE) {
    g_value_set_boolean (value, gst_base_src_is_live (GST_BASE_SRC (self)));
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BUFFER_NAME:
      g_value_set_string (value, self->buffer_name);
      break;
    case PROP_PAYLOAD_SIZE:
      g_value_set_string (value, self->payload_size_str);
      break;
    case PROP_METADATA_SIZE:
      g_value_set_string (value, self->metadata_size_str);
      break;
    case PROP_MODE:
      g_value_set_uint (value, self->mode);
      break;
    case PROP_CAPS:
      gst_value_set_caps (value, self->caps);
      break;
    case PROP_WRITER_TIMEOUT:
      g_value_set_int (value, self->writer_timeout);
      break;
    case PROP_ON_WRITER_CRASH:
      g_value_set_enum (value, self->on_writer_crash);
      break;
    case PROP_EVACUATE_THRESHOLD:
      g_value_set_uint (value, self->evacuate_threshold);
      break;
    case PROP_FRAMES_RECEIVED:
      g_value_set_uint64 (value, self->frames_received);
      break;
    case PROP_BYTES_RECEIVED:
      g_value_set_uint64 (value, self->bytes_received);
      break;
    case PROP_FRAMES_COPIED:
      g_value_set_uint64 (value, self->frames_copied);
      break;
    case PROP_FRAMES_EVACUATED:
      g_value_set_uint64 (value, self->frames_evacuated);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Counters are notified at state changes and at the end of the stream, not
 * per frame: gst-launch -v would print every notification. */
static void
gst_zero_src_notify_stats (GstZeroSrc * self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_RECEIVED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_RECEIVED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_COPIED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_EVACUATED]);
}

/* The caps to offer: those already settled, else the forced ones. */
static GstCaps *
gst_zero_src_current_caps (GstZeroSrc * self)
{
  GstCaps *caps = NULL;

  g_mutex_lock (&self->lock);
  if (self->out_caps)
    caps = gst_caps_ref (self->out_caps);
  g_mutex_unlock (&self->lock);

  if (caps == NULL) {
    GST_OBJECT_LOCK (self);
    if (self->caps)
      caps = gst_caps_ref (self->caps);
    GST_OBJECT_UNLOCK (self);
  }
  return caps;
}

static GstCaps *
gst_zero_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  GstCaps *caps = gst_zero_src_current_caps (self);

  if (caps == NULL)
    caps = gst_pad_get_pad_template_caps (GST_BASE_SRC_PAD (bsrc));

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps,
        GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (caps);
    caps = tmp;
  }
  return caps;
}

/* Fixates @caps (transfer full) against downstream if needed, remembers it
 * and sends it.  Also picks up the framerate for timestamps. */
static gboolean
gst_zero_src_settle_caps (GstZeroSrc * self, GstCaps * caps)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  const GstStructure *s;
  gint n = 0, d = 1;

  if (!gst_caps_is_fixed (caps)) {
    GstCaps *peer = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (bsrc), caps);

    if (peer != NULL && !gst_caps_is_empty (peer) && !gst_caps_is_any (peer))
      gst_caps_take (&caps, peer);
    else
      gst_clear_caps (&peer);
    caps = gst_caps_fixate (caps);
  }

  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_fraction (s, "framerate", &n, &d) || n <= 0 || d <= 0)
    n = 0, d = 1;
  self->fps_n = n;
  self->fps_d = d;

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);

  g_mutex_lock (&self->lock);
  gst_caps_replace (&self->out_caps, caps);
  g_mutex_unlock (&self->lock);

  if (!gst_base_src_set_caps (bsrc, caps)) {
    GST_WARNING_OBJECT (self, "downstream refused %" GST_PTR_FORMAT, caps);
    g_mutex_lock (&self->lock);
    gst_clear_caps (&self->out_caps);
    g_mutex_unlock (&self->lock);
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_caps_unref (caps);
  return TRUE;
}

static gboolean
gst_zero_src_negotiate (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  GstCaps *caps = gst_zero_src_current_caps (self);

  /* Without forced caps the writer's metadata decides, in create(). */
  if (caps == NULL)
    return TRUE;

  return gst_zero_src_settle_caps (self, caps);
}

static gboolean
gst_zero_src_is_seekable (GstBaseSrc * bsrc)
{
  return FALSE;
}

static gboolean
gst_zero_src_start (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  zb_reader_options opts = { 0, };
  zb_reader *reader = NULL;
  gchar *name;
  int rc;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name ? self->buffer_name :
      GST_OBJECT_NAME (self));
  opts.payload_size = self->payload_size;
  opts.metadata_size = self->metadata_size;
  opts.mode = self->mode;
  self->frames_received = 0;
  self->bytes_received = 0;
  self->frames_copied = 0;
  self->frames_evacuated = 0;
  self->started = TRUE;
  GST_OBJECT_UNLOCK (self);

  rc = zb_reader_create (&reader, name, &opts);
  if (rc != ZB_OK) {
    const gchar *detail = zb_last_error ();

    switch (rc) {
      case ZB_EBADNAME:{
        /* Escaped: a bad name may hold a newline. */
        gchar *shown = g_strescape (name, NULL);

        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Invalid buffer name \"%s\": use 1-%u letters, digits, '.', '_' "
                "or '-', not starting with '.'", shown, ZB_NAME_MAX),
            ("%s: %s", zb_strerror (rc), detail));
        g_free (shown);
        break;
      }
      case ZB_EEXIST:
        GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
            ("Buffer \"%s\" is already owned by another live reader", name),
            ("%s: %s", zb_strerror (rc), detail));
        break;
      case ZB_ENOSPC:
        GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
            ("Not enough shared memory for buffer \"%s\" (%" G_GUINT64_FORMAT
                " bytes): /dev/shm is too small", name,
                (guint64) ZB_OIEB_SIZE + opts.metadata_size +
                opts.payload_size), ("%s: %s", zb_strerror (rc), detail));
        break;
      case ZB_EPERM:
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
            ("Permission denied creating buffer \"%s\"", name),
            ("%s: %s", zb_strerror (rc), detail));
        break;
      case ZB_EINVAL:
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("Invalid settings for buffer \"%s\" (payload-size %"
                G_GUINT64_FORMAT ", metadata-size %" G_GUINT64_FORMAT ")",
                name, (guint64) opts.payload_size,
                (guint64) opts.metadata_size),
            ("%s: %s", zb_strerror (rc), detail));
        break;
      default:
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
            ("Could not create buffer \"%s\": %s", name, zb_strerror (rc)),
            ("%s: %s", zb_status_name (rc), detail));
        break;
    }
    g_free (name);
    GST_OBJECT_LOCK (self);
    self->started = FALSE;
    GST_OBJECT_UNLOCK (self);
    return FALSE;
  }

  GST_DEBUG_OBJECT (self, "created buffer \"%s\" (payload %" G_GUINT64_FORMAT
      ", metadata %" G_GUINT64_FORMAT ", mode %04o)", name,
      (guint64) opts.payload_size, (guint64) opts.metadata_size, opts.mode);

  g_free (self->name);
  self->name = name;
  self->writer_attached = FALSE;
  self->n_frames = 0;
  self->fps_n = 0;
  self->fps_d = 1;
  self->ts_base = 0;
  self->max_frame_bytes = 0;
  /* Without it every frame gets a new buffer: slower, not wrong. */
  self->pool = gst_zero_src_pool_new ();

  g_mutex_lock (&self->lock);
  self->reader = reader;
  gst_clear_caps (&self->out_caps);
  g_mutex_unlock (&self->lock);

  return TRUE;
}

static gboolean
gst_zero_src_stop (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  zb_reader *reader;

  g_mutex_lock (&self->lock);
  reader = self->reader;
  self->reader = NULL;
  gst_clear_caps (&self->out_caps);
  g_mutex_unlock (&self->lock);

  /* Frames still lent stay readable and give themselves back when freed
   * (the library keeps the mapping until the last release); they are no
   * longer ours to evacuate.  Evacuation runs only in create(), and reads
   * the reader's stats only under self->lock while self->reader is set, so
   * it never touches the reader closed below. */
  gst_zero_src_allocator_forget (self->allocator);
  /* Buffers still out are freed when they come back. */
  if (self->pool) {
    gst_buffer_pool_set_active (self->pool, FALSE);
    gst_clear_object (&self->pool);
  }
  if (reader) {
    zb_reader_stats st;

    zb_reader_get_stats (reader, &st);
    GST_DEBUG_OBJECT (self, "closing buffer \"%s\": %" G_GUINT64_FORMAT
        " frames read, %" G_GUINT64_FORMAT " still held", self->name,
        (guint64) st.frames, (guint64) st.held);
    zb_reader_close (reader);
  }

  GST_OBJECT_LOCK (self);
  self->started = FALSE;
  GST_OBJECT_UNLOCK (self);

  gst_zero_src_notify_stats (self);
  return TRUE;
}

/* Turns a failed wait into a flow return, posting a message first where
 * the stream cannot go on. */
static GstFlowReturn
gst_zero_src_flow_from_status (GstZeroSrc * self, int rc, const gchar * what,
    gint timeout)
{
  const gchar *detail = zb_last_error ();
  GstZeroSrcOnWriterCrash on_crash;

  switch (rc) {
    case ZB_ECANCELED:
      GST_DEBUG_OBJECT (self, "wait for %s interrupted: flushing", what);
      return GST_FLOW_FLUSHING;
    case ZB_EOS:
      GST_DEBUG_OBJECT (self, "writer of buffer \"%s\" closed: end of stream",
          self->name);
      gst_zero_src_notify_stats (self);
      return GST_FLOW_EOS;
    case ZB_EWRITERGONE:
      GST_OBJECT_LOCK (self);
      on_crash = self->on_writer_crash;
      GST_OBJECT_UNLOCK (self);
      gst_zero_src_notify_stats (self);
      if (on_crash == GST_ZERO_SRC_ON_WRITER_CRASH_EOS) {
        GST_ELEMENT_WARNING (self, RESOURCE, READ,
            ("Writer of buffer \"%s\" died; ending the stream", self->name),
            ("%s: %s", zb_strerror (rc), detail));
        return GST_FLOW_EOS;
      }
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("Writer of buffer \"%s\" died", self->name),
          ("%s: %s", zb_strerror (rc), detail));
      return GST_FLOW_ERROR;
    case ZB_ETIMEDOUT:
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("No %s on buffer \"%s\" within %d ms (writer-timeout)", what,
              self->name, timeout), ("%s: %s", zb_strerror (rc), detail));
      return GST_FLOW_ERROR;
    case ZB_ECORRUPT:
      GST_ELEMENT_ERROR (self, STREAM, FAILED,
          ("Buffer \"%s\" is corrupt", self->name),
          ("%s: %s", zb_strerror (rc), detail));
      return GST_FLOW_ERROR;
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("Could not read buffer \"%s\": %s", self->name, zb_strerror (rc)),
          ("%s: %s", zb_status_name (rc), detail));
      return GST_FLOW_ERROR;
  }
}

/* Settles the caps from the caps property or the writer's metadata.
 * Before the first frame (@have_frame FALSE) missing metadata just means
 * "not yet"; after it, we fall back. */
static GstFlowReturn
gst_zero_src_caps_from_metadata (GstZeroSrc * self, gboolean have_frame,
    gboolean * settled)
{
  GstCaps *caps = NULL;
  const void *data = NULL;
  size_t size = 0;
  int rc;

  *settled = FALSE;

  GST_OBJECT_LOCK (self);
  if (self->caps)
    caps = gst_caps_copy (self->caps);
  GST_OBJECT_UNLOCK (self);

  if (caps) {
    GST_DEBUG_OBJECT (self, "caps property overrides the metadata");
    goto settle;
  }

  rc = zb_reader_get_metadata (self->reader, &data, &size);
  if (rc == ZB_OK) {
    GError *err = NULL;
    /* GStreamer's printf ignores a %.*s precision: hand it a C string */
    gchar *text = g_strndup (data, MIN (size, 256));

    GST_DEBUG_OBJECT (self, "metadata (%" G_GSIZE_FORMAT " bytes): %s", size,
        text);
    caps = gst_zero_meta_parse_caps (data, size, &err);
    if (caps == NULL || gst_caps_is_any (caps) || gst_caps_is_empty (caps)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Metadata of buffer \"%s\" does not describe valid caps",
              self->name), ("%s; metadata: %s",
              err ? err->message : "caps are ANY or EMPTY", text));
      g_free (text);
      g_clear_error (&err);
      gst_clear_caps (&caps);
      return GST_FLOW_ERROR;
    }
    g_free (text);
    goto settle;
  }

  if (rc != ZB_ENOMETA)
    return gst_zero_src_flow_from_status (self, rc, "metadata", 0);

  if (!have_frame) {
    GST_DEBUG_OBJECT (self, "no metadata yet; waiting for the first frame");
    return GST_FLOW_OK;
  }

  /* No metadata at all: a capsfilter downstream may still tell us. */
  caps = gst_pad_peer_query_caps (GST_BASE_SRC_PAD (self), NULL);
  if (caps && gst_caps_is_fixed (caps)) {
    GST_DEBUG_OBJECT (self, "no metadata; using downstream caps");
    goto settle;
  }
  gst_clear_caps (&caps);

  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
      ("Buffer \"%s\" has no metadata describing its frames; sending "
          "application/octet-stream (set the caps property)", self->name),
      (NULL));
  caps = gst_caps_new_empty_simple ("application/octet-stream");

settle:
  if (!gst_zero_src_settle_caps (self, caps)) {
    /* A stop racing the negotiation: downstream is already flushing, and
     * stopping is not an error. */
    if (GST_PAD_IS_FLUSHING (GST_BASE_SRC_PAD (self)))
      return GST_FLOW_FLUSHING;
    return GST_FLOW_NOT_NEGOTIATED;
  }
  *settled = TRUE;
  return GST_FLOW_OK;
}

static GstClockTime
gst_zero_src_running_time (GstZeroSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now, base, rt = 0;

  if (clock) {
    now = gst_clock_get_time (clock);
    base = gst_element_get_base_time (GST_ELEMENT (self));
    if (GST_CLOCK_TIME_IS_VALID (now) && now > base)
      rt = now - base;
    gst_object_unref (clock);
  }
  return rt;
}

/* ------------------------------------------------------------------ */
/* Lent frames: memory that can move out of the ring while held.       */

static void
gst_zero_src_allocator_finalize (GObject * object)
{
  GstZeroSrcAllocator *self = GST_ZERO_SRC_ALLOCATOR (object);

  /* Every memory holds a reference: none can be left here. */
  g_warn_if_fail (g_queue_is_empty (&self->lent));
  while (self->spare) {
    GList *next = self->spare->next;

    g_free (self->spare->data);
    self->spare = next;
  }
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (gst_zero_src_allocator_parent_class)->finalize (object);
}

/* A zeroed memory struct, from the spares if there is one. */
static GstZeroSrcMemory *
gst_zero_src_allocator_take_spare_locked (GstZeroSrcAllocator * self)
{
  GstZeroSrcMemory *zm;

  if (self->spare == NULL)
    return g_new0 (GstZeroSrcMemory, 1);
  zm = self->spare->data;
  self->spare = self->spare->next;
  self->n_spare--;
  memset (zm, 0, sizeof *zm);
  return zm;
}

/* Keeps @zm for reuse; FALSE if there are enough spares (free it then,
 * outside the lock). */
static gboolean
gst_zero_src_allocator_keep_spare_locked (GstZeroSrcAllocator * self,
    GstZeroSrcMemory * zm)
{
  if (self->n_spare >= GST_ZERO_SRC_SPARE_MAX)
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
gst_zero_src_allocator_alloc (GstAllocator * allocator, gsize size,
    GstAllocationParams * params)
{
  return NULL;
}

/* The last reference went, from any thread: give the frame back, or free
 * the copy if it was evacuated. */
static void
gst_zero_src_allocator_free (GstAllocator * allocator, GstMemory * mem)
{
  GstZeroSrcAllocator *self = GST_ZERO_SRC_ALLOCATOR (allocator);
  GstZeroSrcMemory *zm = (GstZeroSrcMemory *) mem;
  zb_reader *reader;
  zb_frame frame;

  guint8 *copy = NULL;
  gboolean kept;

  g_mutex_lock (&self->lock);
  /* A sub-memory: its parent owns the frame and was unreffed already. */
  if (mem->parent) {
    kept = gst_zero_src_allocator_keep_spare_locked (self, zm);
    g_mutex_unlock (&self->lock);
    if (!kept)
      g_free (zm);
    return;
  }

  switch (zm->state) {
    case GST_ZERO_SRC_MEMORY_EVACUATING:
      /* The evacuating thread is copying from the ring right now; it
       * finishes the job. */
      zm->free_pending = TRUE;
      g_mutex_unlock (&self->lock);
      return;
    case GST_ZERO_SRC_MEMORY_EVACUATED:
      copy = zm->data;
      kept = gst_zero_src_allocator_keep_spare_locked (self, zm);
      g_mutex_unlock (&self->lock);
      g_free (copy);
      if (!kept)
        g_free (zm);
      return;
    case GST_ZERO_SRC_MEMORY_LENT:
    default:
      if (zm->listed)
        g_queue_unlink (&self->lent, &zm->link);
      reader = zm->reader;
      frame = zm->frame;
      kept = gst_zero_src_allocator_keep_spare_locked (self, zm);
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
gst_zero_src_mem_map (GstMemory * mem, gsize maxsize, GstMapFlags flags)
{
  GstZeroSrcAllocator *alloc = GST_ZERO_SRC_ALLOCATOR (mem->allocator);
  GstZeroSrcMemory *zm = (GstZeroSrcMemory *) (mem->parent ? mem->parent : mem);
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
gst_zero_src_mem_unmap (GstMemory * mem)
{
  GstZeroSrcAllocator *alloc = GST_ZERO_SRC_ALLOCATOR (mem->allocator);
  GstZeroSrcMemory *zm = (GstZeroSrcMemory *) (mem->parent ? mem->parent : mem);

  g_mutex_lock (&alloc->lock);
  g_warn_if_fail (zm->map_count > 0);
  zm->map_count--;
  g_mutex_unlock (&alloc->lock);
}

/* A plain system-memory copy, for writable mappings and deep copies. */
static GstMemory *
gst_zero_src_mem_copy (GstMemory * mem, gssize offset, gssize size)
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
gst_zero_src_mem_share (GstMemory * mem, gssize offset, gssize size)
{
  GstMemory *parent = mem->parent ? mem->parent : mem;
  GstZeroSrcMemory *sub;

  if (size == -1)
    size = (gssize) mem->size > offset ? (gssize) mem->size - offset : 0;

  g_mutex_lock (&GST_ZERO_SRC_ALLOCATOR (mem->allocator)->lock);
  sub = gst_zero_src_allocator_take_spare_locked (GST_ZERO_SRC_ALLOCATOR
      (mem->allocator));
  g_mutex_unlock (&GST_ZERO_SRC_ALLOCATOR (mem->allocator)->lock);
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (parent) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
      mem->allocator, parent, mem->maxsize, mem->align, mem->offset + offset,
      size);
  return GST_MEMORY_CAST (sub);
}

/* Two views are never merged in place: a buffer map of both copies. */
static gboolean
gst_zero_src_mem_is_span (GstMemory * mem1, GstMemory * mem2, gsize * offset)
{
  return FALSE;
}

static void
gst_zero_src_allocator_class_init (GstZeroSrcAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_zero_src_allocator_finalize;
  allocator_class->alloc = gst_zero_src_allocator_alloc;
  allocator_class->free = gst_zero_src_allocator_free;
}

static void
gst_zero_src_allocator_init (GstZeroSrcAllocator * self)
{
  GstAllocator *allocator = GST_ALLOCATOR_CAST (self);

  allocator->mem_type = GST_ZERO_SRC_MEMORY_TYPE;
  allocator->mem_map = gst_zero_src_mem_map;
  allocator->mem_unmap = gst_zero_src_mem_unmap;
  allocator->mem_copy = gst_zero_src_mem_copy;
  allocator->mem_share = gst_zero_src_mem_share;
  allocator->mem_is_span = gst_zero_src_mem_is_span;
  GST_OBJECT_FLAG_SET (self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);

  g_mutex_init (&self->lock);
  g_queue_init (&self->lent);
}

/* Wraps a frame; the memory gives it back when freed. */
static GstMemory *
gst_zero_src_allocator_lend (GstZeroSrcAllocator * self, zb_reader * reader,
    const zb_frame * frame)
{
  GstZeroSrcMemory *zm;

  g_mutex_lock (&self->lock);
  zm = gst_zero_src_allocator_take_spare_locked (self);
  gst_memory_init (GST_MEMORY_CAST (zm), GST_MEMORY_FLAG_READONLY,
      GST_ALLOCATOR_CAST (self), NULL, frame->size, 0, 0, frame->size);
  zm->data = (guint8 *) frame->data;
  zm->state = GST_ZERO_SRC_MEMORY_LENT;
  zm->reader = reader;
  zm->frame = *frame;
  zm->link.data = zm;
  zm->idx = self->next_idx++;
  g_queue_push_tail_link (&self->lent, &zm->link);
  zm->listed = TRUE;
  g_mutex_unlock (&self->lock);
  return GST_MEMORY_CAST (zm);
}

static guint
gst_zero_src_allocator_n_lent (GstZeroSrcAllocator * self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = self->lent.length;
  g_mutex_unlock (&self->lock);
  return n;
}

/* stop(): the frames still lent belong to a closed reader now; they give
 * themselves back when freed but are no longer evacuated. */
static void
gst_zero_src_allocator_forget (GstZeroSrcAllocator * self)
{
  GList *l;

  g_mutex_lock (&self->lock);
  while ((l = g_queue_pop_head_link (&self->lent)) != NULL)
    ((GstZeroSrcMemory *) l->data)->listed = FALSE;
  g_mutex_unlock (&self->lock);
}

/* The oldest lent memory, lent at @from or later, that nobody has mapped;
 * it is marked as being evacuated, which keeps it (and its frame) alive
 * until gst_zero_src_allocator_end_evacuation(). */
static GstZeroSrcMemory *
gst_zero_src_allocator_begin_evacuation (GstZeroSrcAllocator * self,
    guint64 from)
{
  GstZeroSrcMemory *found = NULL;
  GList *l;

  g_mutex_lock (&self->lock);
  for (l = self->lent.head; l != NULL; l = l->next) {
    GstZeroSrcMemory *zm = l->data;

    if (zm->idx >= from && zm->map_count == 0) {
      zm->state = GST_ZERO_SRC_MEMORY_EVACUATING;
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
gst_zero_src_allocator_end_evacuation (GstZeroSrcAllocator * self,
    GstZeroSrcMemory * zm, guint8 * copy)
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
      zm->state = GST_ZERO_SRC_MEMORY_EVACUATED;
      moved = TRUE;
    }
  } else {
    zm->state = GST_ZERO_SRC_MEMORY_LENT;
  }
  g_mutex_unlock (&self->lock);

  /* @zm may be freed by another thread from here on, unless dead. */
  if (dead) {
    gboolean kept;

    g_mutex_lock (&self->lock);
    kept = gst_zero_src_allocator_keep_spare_locked (self, zm);
    g_mutex_unlock (&self->lock);
    if (!kept)
      g_free (zm);
  }
  if (dead || moved)
    zb_reader_release (reader, &frame);
  g_free (copy);
  return moved;
}

/* ------------------------------------------------------------------ */
/* Buffer recycling                                                    */

static GstFlowReturn
gst_zero_src_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  *buffer = gst_buffer_new ();
  return GST_FLOW_OK;
}

static void
gst_zero_src_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  /* Gives the frame back (or frees an evacuated copy). */
  gst_buffer_remove_all_memory (buffer);
  GST_BUFFER_POOL_CLASS (gst_zero_src_pool_parent_class)->reset_buffer (pool,
      buffer);
  /* Empty is how every buffer comes back, not a change to refuse. */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
}

static void
gst_zero_src_pool_class_init (GstZeroSrcPoolClass * klass)
{
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  pool_class->alloc_buffer = gst_zero_src_pool_alloc_buffer;
  pool_class->reset_buffer = gst_zero_src_pool_reset_buffer;
}

static void
gst_zero_src_pool_init (GstZeroSrcPool * self)
{
}

static GstBufferPool *
gst_zero_src_pool_new (void)
{
  GstBufferPool *pool = g_object_new (GST_TYPE_ZERO_SRC_POOL, NULL);
  GstStructure *config;

  gst_object_ref_sink (pool);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, NULL, 0, GST_ZERO_SRC_POOL_MIN,
      0);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE)) {
    gst_object_unref (pool);
    return NULL;
  }
  return pool;
}

/* ------------------------------------------------------------------ */
/* Data path                                                           */

/* The ring bytes the writer cannot reuse yet and the ring size.  FALSE
 * once stop() took the reader: after its close the reader may be freed. */
static gboolean
gst_zero_src_ring_usage (GstZeroSrc * self, guint64 * held, guint64 * size)
{
  zb_reader_stats st;
  gboolean ok = FALSE;

  g_mutex_lock (&self->lock);
  if (self->reader) {
    zb_reader_get_stats (self->reader, &st);
    *held = st.held_bytes;
    *size = st.payload_size;
    ok = TRUE;
  }
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Copies lent frames out of the ring, oldest first, until at most @target
 * ring bytes are held; mapped frames are skipped.  Returns the bytes still
 * held. */
static guint64
gst_zero_src_evacuate (GstZeroSrc * self, guint64 held, guint64 size,
    guint64 target)
{
  GstZeroSrcMemory *zm;
  guint64 from = 0, before = held;
  guint n = 0, tried = 0;

  while (held > target && (zm =
          gst_zero_src_allocator_begin_evacuation (self->allocator,
              from)) != NULL) {
    guint8 *copy;

    /* While evacuating, @zm and its frame stay put: no lock needed to
     * read the ring, and none is held across the copy. */
    from = zm->idx + 1;
    tried++;
    copy = g_try_malloc (zm->frame.size);
    if (copy)
      memcpy (copy, zm->frame.data, zm->frame.size);
    if (gst_zero_src_allocator_end_evacuation (self->allocator, zm, copy))
      n++;
    else if (copy == NULL)
      break;                    /* out of memory: try again later */
    if (!gst_zero_src_ring_usage (self, &held, &size))
      break;
  }

  if (n > 0) {
    GST_OBJECT_LOCK (self);
    self->frames_evacuated += n;
    self->frames_copied += n;
    GST_OBJECT_UNLOCK (self);
  }
  GST_LOG_OBJECT (self, "evacuated %u of %u frames tried: ring held %"
      G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
      " (target %" G_GUINT64_FORMAT ")", n, tried, before, held, size, target);
  return held;
}

/* Evacuates if the ring is under pressure (see the section doc).
 * @starved: we waited a slice without a frame.  Returns TRUE while a later
 * check could still evacuate something, i.e. the wait should be sliced. */
static gboolean
gst_zero_src_relieve (GstZeroSrc * self, guint threshold, gboolean starved)
{
  guint64 held, size, room, target = G_MAXUINT64;

  if (threshold == 0 || threshold >= 100)
    return FALSE;
  if (gst_zero_src_allocator_n_lent (self->allocator) == 0)
    return FALSE;
  if (!gst_zero_src_ring_usage (self, &held, &size))
    return FALSE;

  /* What the writer may need for its next frame after a wrap. */
  room = MIN (2 * (guint64) self->max_frame_bytes, size);

  if (held * 100 > (guint64) threshold * size)
    target = size * threshold / 200;
  if (starved && size - held < room)
    target = MIN (target, size - room);
  if (target != G_MAXUINT64)
    held = gst_zero_src_evacuate (self, held, size, target);

  /* Held bytes only fall while we wait, so nothing can trigger later
   * unless one of the conditions still holds (a frame was mapped). */
  return (held * 100 > (guint64) threshold * size || size - held < room)
      && gst_zero_src_allocator_n_lent (self->allocator) > 0;
}

/* zb_reader_acquire() with the writer-timeout, relieving the ring before
 * waiting and, while frames are lent under pressure, every slice. */
static int
gst_zero_src_acquire (GstZeroSrc * self, zb_frame * frame, gint timeout,
    guint threshold)
{
  gint64 deadline = -1;
  gboolean starved = FALSE;
  int rc;

  if (timeout >= 0)
    deadline = g_get_monotonic_time () + timeout * G_TIME_SPAN_MILLISECOND;

  for (;;) {
    gint wait = -1;

    if (deadline >= 0)
      wait = (gint) ((MAX (deadline - g_get_monotonic_time (), 0) + 999)
          / 1000);
    if (gst_zero_src_relieve (self, threshold, starved)
        && (wait < 0 || wait > EVACUATE_SLICE_MS))
      wait = EVACUATE_SLICE_MS;

    rc = zb_reader_acquire (self->reader, frame, wait);
    if (rc != ZB_ETIMEDOUT)
      return rc;
    if (deadline >= 0 && g_get_monotonic_time () >= deadline)
      return rc;
    starved = TRUE;
  }
}

static GstFlowReturn
gst_zero_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstZeroSrc *self = GST_ZERO_SRC (psrc);
  zb_reader *r = self->reader;
  zb_frame frame;
  GstBuffer *buf;
  GstFlowReturn ret;
  gboolean settled;
  gboolean copy;
  gint timeout;
  guint threshold;
  int rc;

  GST_OBJECT_LOCK (self);
  timeout = self->writer_timeout;
  threshold = self->evacuate_threshold;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  settled = self->out_caps != NULL;
  g_mutex_unlock (&self->lock);

  if (!self->writer_attached) {
    GST_DEBUG_OBJECT (self, "waiting for a writer on buffer \"%s\"",
        self->name);
    rc = zb_reader_wait_writer (r, timeout);
    if (rc != ZB_OK)
      return gst_zero_src_flow_from_status (self, rc, "writer", timeout);
    self->writer_attached = TRUE;
    GST_DEBUG_OBJECT (self, "writer attached to buffer \"%s\"", self->name);

    if (!settled) {
      ret = gst_zero_src_caps_from_metadata (self, FALSE, &settled);
      if (ret != GST_FLOW_OK)
        return ret;
    }
  }

  GST_LOG_OBJECT (self, "waiting for frame %" G_GUINT64_FORMAT,
      self->n_frames + 1);
  rc = gst_zero_src_acquire (self, &frame, timeout, threshold);
  if (rc != ZB_OK)
    return gst_zero_src_flow_from_status (self, rc, "frame", timeout);

  if (!settled) {
    ret = gst_zero_src_caps_from_metadata (self, TRUE, &settled);
    if (ret != GST_FLOW_OK) {
      zb_reader_release (r, &frame);
      return ret;
    }
  }

  copy = threshold == 0;
  if (copy) {
    buf = gst_buffer_new_allocate (NULL, frame.size, NULL);
    if (buf == NULL) {
      zb_reader_release (r, &frame);
      GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
          ("Could not allocate %" G_GSIZE_FORMAT " bytes to copy a frame of "
              "buffer \"%s\"", frame.size, self->name), (NULL));
      return GST_FLOW_ERROR;
    }
    gst_buffer_fill (buf, 0, frame.data, frame.size);
    zb_reader_release (r, &frame);
  } else {
    buf = NULL;
    if (self->pool == NULL
        || gst_buffer_pool_acquire_buffer (self->pool, &buf,
            NULL) != GST_FLOW_OK)
      buf = gst_buffer_new ();
    gst_buffer_append_memory (buf,
        gst_zero_src_allocator_lend (self->allocator, r, &frame));
  }
  self->max_frame_bytes = MAX (self->max_frame_bytes,
      frame.size + ZB_FRAME_HEADER_SIZE);

  GST_BUFFER_OFFSET (buf) = frame.sequence - 1;
  GST_BUFFER_OFFSET_END (buf) = frame.sequence;

  if (!gst_base_src_get_do_timestamp (GST_BASE_SRC (self)) && self->fps_n > 0) {
    GstClockTime pts, next;

    if (self->n_frames == 0)
      self->ts_base = gst_base_src_is_live (GST_BASE_SRC (self)) ?
          gst_zero_src_running_time (self) : 0;
    pts = self->ts_base + gst_util_uint64_scale (self->n_frames,
        (guint64) self->fps_d * GST_SECOND, self->fps_n);
    next = self->ts_base + gst_util_uint64_scale (self->n_frames + 1,
        (guint64) self->fps_d * GST_SECOND, self->fps_n);
    GST_BUFFER_PTS (buf) = pts;
    GST_BUFFER_DURATION (buf) = next - pts;
  }
  self->n_frames++;

  GST_OBJECT_LOCK (self);
  self->frames_received++;
  self->bytes_received += frame.size;
  if (copy)
    self->frames_copied++;
  GST_OBJECT_UNLOCK (self);

  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ", %" G_GSIZE_FORMAT
      " bytes, %s, pts %" GST_TIME_FORMAT, (guint64) frame.sequence,
      frame.size, copy ? "copied" : "lent",
      GST_TIME_ARGS (GST_BUFFER_PTS (buf)));

  *outbuf = buf;
  return GST_FLOW_OK;
}

/* The lock keeps stop() from closing the reader under us. */
static void
gst_zero_src_interrupt (GstZeroSrc * self, gboolean on)
{
  GST_DEBUG_OBJECT (self, on ? "unlock" : "unlock stop");
  g_mutex_lock (&self->lock);
  if (self->reader)
    zb_reader_interrupt (self->reader, on);
  g_mutex_unlock (&self->lock);
}

static gboolean
gst_zero_src_unlock (GstBaseSrc * bsrc)
{
  gst_zero_src_interrupt (GST_ZERO_SRC (bsrc), TRUE);
  return TRUE;
}

static gboolean
gst_zero_src_unlock_stop (GstBaseSrc * bsrc)
{
  gst_zero_src_interrupt (GST_ZERO_SRC (bsrc), FALSE);
  return TRUE;
}
