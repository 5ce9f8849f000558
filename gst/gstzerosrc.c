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
 * ## Packed rows
 *
 * zerosink writes raw video with tightly packed rows (width x bytes per
 * pixel, planes back to back) where GStreamer would pad them, e.g. 231840
 * instead of 232320 bytes for 322x240 RGB; other writers such as the
 * rocket-welder SDK do the same.  When the caps are raw video whose default
 * layout is padded, a frame of the packed size is lent with a #GstVideoMeta
 * describing its rows if downstream announced it reads video meta in the
 * allocation query (videoconvert and other video filters do); otherwise
 * it is laid out again, row by row, in a buffer of GStreamer's layout (one
 * copy, counted in #GstZeroSrc:frames-copied).  A frame of the default
 * layout's size (an older zerosink, or zerosink packed-rows=false) is lent
 * as it is, and so is a frame of any other size.
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
 * ## Health
 *
 * Each time it reads a frame zerosrc samples how full the ring is (frames
 * not read yet, and frames held downstream), as the ZeroBuffer README
 * defines it: #GstZeroSrc:health is healthy below 80%, degraded from 80%,
 * critical above 95% (each left 5 points below its boundary).  Every change
 * is posted as a `zerobuffer-health` element message (fields name, state,
 * previous, state-name, utilization, payload-size, free-bytes) and logged,
 * rate-limited, in the zerohealth debug category.
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

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/base/base.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzerosrc.h"
#include "gstzeroerror.h"
#include "gstzerouri.h"
#include "gstzerohealth.h"
#include "gstzerolendallocator.h"
#include "gstzerometa.h"
#include "gstzeropack.h"

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
/* Streams of more than 50,000 frames/s poll before they sleep: a sleep
 * and its wake cost both sides more than that poll on a VM (4096-byte
 * frames: 0.17-0.27x shm's CPU with 20 us, 0.29-0.47x without; 50 us
 * spun through the writer's longer gaps; docs/performance.md). */
#define DEFAULT_SPIN_US 20

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
  PROP_SPIN_US,
  PROP_ANNOUNCE,
  PROP_FRAMES_RECEIVED,
  PROP_BYTES_RECEIVED,
  PROP_FRAMES_COPIED,
  PROP_FRAMES_EVACUATED,
  PROP_FRAMES_POLLED,
  PROP_HEALTH,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

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
  guint spin_us;
  gboolean announce;
  guint64 frames_received;
  guint64 bytes_received;
  guint64 frames_copied;
  guint64 frames_evacuated;
  guint64 frames_polled;
  gboolean started;             /* READY-bound properties are frozen */

  /* the ring's health: sampled by the streaming thread, read from any */
  GstZeroHealthTracker health;

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
  GstZeroPacking packing;       /* the settled caps */
  gboolean video_meta;          /* downstream reads GstVideoMeta */

  GstZeroLendAllocator *allocator;
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
static void gst_zero_src_uri_handler_init (gpointer g_iface, gpointer iface_data);

G_DEFINE_TYPE_WITH_CODE (GstZeroSrc, gst_zero_src, GST_TYPE_PUSH_SRC,
    GST_DEBUG_CATEGORY_INIT (gst_zero_src_debug, "zerosrc", 0,
        "ZeroBuffer shared-memory source");
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_zero_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE (zerosrc, "zerosrc", GST_RANK_NONE,
    GST_TYPE_ZERO_SRC);
GST_ELEMENT_REGISTER_DEFINE (zero_src, "zero-src", GST_RANK_NONE,
    GST_TYPE_ZERO_SRC);
static void gst_zero_src_finalize (GObject * object);
static void gst_zero_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_zero_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static GstCaps *gst_zero_src_get_caps (GstBaseSrc * bsrc, GstCaps * filter);
static gboolean gst_zero_src_negotiate (GstBaseSrc * bsrc);
static gboolean gst_zero_src_decide_allocation (GstBaseSrc * bsrc,
    GstQuery * query);
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

  properties[PROP_SPIN_US] =
      g_param_spec_uint ("spin-us", "Spin microseconds",
      "Microseconds to poll for the next frame before sleeping, when frames "
      "come that close together: the default spins only for streams of "
      "more than 50,000 frames/s, where a sleep and a wake cost more "
      "(0 = always sleep)", 0, 10000, DEFAULT_SPIN_US,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  properties[PROP_ANNOUNCE] =
      g_param_spec_boolean ("announce", "Announce",
      "Print one start-stream line on stdout once the buffer exists and is "
      "ready for a writer, for a launcher (`zerobuffer launch`) to start "
      "the writing pipeline: > {\"jsonrpc\":\"2.0\",\"method\":"
      "\"start-stream\",\"params\":[\"NAME\",METADATA_SIZE,PAYLOAD_SIZE]}",
      FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

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

  properties[PROP_FRAMES_POLLED] =
      g_param_spec_uint64 ("frames-polled", "Frames polled",
      "Frames that arrived while the element polled for them (spin-us) "
      "since start: the writer had no sleeping reader to wake.",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_HEALTH] =
      g_param_spec_enum ("health", "Health",
      "State of the ring when the last frame was read: healthy below 80% "
      "in use, degraded from 80%, critical above 95% (left 5 points "
      "lower); each change is posted as a zerobuffer-health element "
      "message.", GST_TYPE_ZERO_HEALTH, GST_ZERO_HEALTH_HEALTHY,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer source", "Source",
      "Receive frames from a ZeroBuffer v1 shared-memory ring, zero-copy",
      "gst-zerobuffer authors");

  basesrc_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_src_get_caps);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_zero_src_negotiate);
  basesrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_src_decide_allocation);
  basesrc_class->is_seekable = GST_DEBUG_FUNCPTR (gst_zero_src_is_seekable);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_zero_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zero_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zero_src_create);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_SRC_ON_WRITER_CRASH, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_HEALTH, 0);
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
  self->spin_us = DEFAULT_SPIN_US;

  gst_zero_health_tracker_init (&self->health);
  g_mutex_init (&self->lock);
  self->allocator = gst_zero_lend_allocator_new ();

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
    case PROP_SPIN_US:
      self->spin_us = g_value_get_uint (value);
      break;
    case PROP_ANNOUNCE:
      self->announce = g_value_get_boolean (value);
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
    case PROP_SPIN_US:
      g_value_set_uint (value, self->spin_us);
      break;
    case PROP_ANNOUNCE:
      g_value_set_boolean (value, self->announce);
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
    case PROP_FRAMES_POLLED:
      g_value_set_uint64 (value, self->frames_polled);
      break;
    case PROP_HEALTH:
      g_value_set_enum (value, gst_zero_health_tracker_get (&self->health));
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
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_POLLED]);
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
  gst_zero_packing_init (&self->packing, caps);

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

/* Frames with packed rows are lent with a video meta when downstream
 * reads it, else laid out again in a buffer of the caps' own layout: from
 * downstream's pool, or one of ours so that copying allocates nothing per
 * frame. */
static gboolean
gst_zero_src_decide_allocation (GstBaseSrc * bsrc, GstQuery * query)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  GstCaps *caps = NULL;

  self->video_meta = gst_query_find_allocation_meta (query,
      GST_VIDEO_META_API_TYPE, NULL);
  if (!GST_BASE_SRC_CLASS (parent_class)->decide_allocation (bsrc, query))
    return FALSE;

  gst_query_parse_allocation (query, &caps, NULL);
  if (caps != NULL && self->packing.video && !self->packing.default_packed
      && !self->video_meta && gst_query_get_n_allocation_pools (query) == 0) {
    GstBufferPool *pool = gst_buffer_pool_new ();
    GstStructure *config = gst_buffer_pool_get_config (pool);
    guint size = GST_VIDEO_INFO_SIZE (&self->packing.info);

    gst_buffer_pool_config_set_params (config, caps, size, 0, 0);
    if (gst_buffer_pool_set_config (pool, config))
      gst_query_add_allocation_pool (query, pool, size, 0, 0);
    gst_object_unref (pool);
  }
  GST_DEBUG_OBJECT (self, "downstream %s video meta",
      self->video_meta ? "reads" : "does not read");
  return TRUE;
}

static gboolean
gst_zero_src_is_seekable (GstBaseSrc * bsrc)
{
  return FALSE;
}

/* The start-stream line of the ZeroBuffer README, once the buffer is
 * ready for a writer: one write, so that lines of other threads or
 * processes sharing stdout do not cut through it. */
static void
gst_zero_src_announce (GstZeroSrc * self, zb_reader * reader)
{
  zb_reader_stats st;
  gchar *line;

  zb_reader_get_stats (reader, &st);
  line = g_strdup_printf ("> {\"jsonrpc\":\"2.0\",\"method\":"
      "\"start-stream\",\"params\":[\"%s\",%" G_GUINT64_FORMAT ",%"
      G_GUINT64_FORMAT "]}\n", self->name, (guint64) st.metadata_size,
      (guint64) st.payload_size);
  fflush (stdout);
  if (write (STDOUT_FILENO, line, strlen (line)) < 0)
    GST_WARNING_OBJECT (self, "could not announce on stdout: %s",
        g_strerror (errno));
  GST_INFO_OBJECT (self, "announced: %s", line);
  g_free (line);
}

static gboolean
gst_zero_src_start (GstBaseSrc * bsrc)
{
  GstZeroSrc *self = GST_ZERO_SRC (bsrc);
  zb_reader_options opts = { 0, };
  zb_reader *reader = NULL;
  gboolean announce;
  gchar *name;
  int rc;

  GST_OBJECT_LOCK (self);
  name = g_strdup (self->buffer_name ? self->buffer_name :
      GST_OBJECT_NAME (self));
  opts.payload_size = self->payload_size;
  opts.metadata_size = self->metadata_size;
  opts.mode = self->mode;
  opts.spin_us = self->spin_us;
  self->frames_received = 0;
  self->bytes_received = 0;
  self->frames_copied = 0;
  self->frames_evacuated = 0;
  self->frames_polled = 0;
  self->started = TRUE;
  GST_OBJECT_UNLOCK (self);
  if (gst_zero_health_tracker_reset (&self->health) != GST_ZERO_HEALTH_HEALTHY)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);

  rc = zb_reader_create (&reader, name, &opts);
  if (rc != ZB_OK) {
    const gchar *detail = zb_last_error ();

    switch (rc) {
      case ZB_EBADNAME:
        gst_zero_element_error_bad_name (GST_ELEMENT (self), "buffer", name,
            rc, detail);
        break;
      case ZB_EEXIST:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, BUSY, rc, detail,
            "Buffer \"%s\" is already owned by another live reader", name);
        break;
      case ZB_ENOSPC:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
            "Not enough shared memory for buffer \"%s\" (%" G_GUINT64_FORMAT
            " bytes): /dev/shm is too small", name,
            (guint64) zb_mapping_size (opts.metadata_size, opts.payload_size));
        break;
      case ZB_EPERM:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, rc, detail,
            "Permission denied creating buffer \"%s\"", name);
        break;
      case ZB_EINVAL:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, SETTINGS, rc, detail,
            "Invalid settings for buffer \"%s\" (payload-size %"
            G_GUINT64_FORMAT ", metadata-size %" G_GUINT64_FORMAT ")",
            name, (guint64) opts.payload_size, (guint64) opts.metadata_size);
        break;
      default:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, rc, detail,
            "Could not create buffer \"%s\": %s", name, zb_strerror (rc));
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
  memset (&self->packing, 0, sizeof self->packing);
  self->video_meta = FALSE;
  self->pool = gst_zero_lend_pool_new ();
  gst_zero_lend_allocator_attach (self->allocator, reader);

  g_mutex_lock (&self->lock);
  self->reader = reader;
  gst_clear_caps (&self->out_caps);
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  announce = self->announce;
  GST_OBJECT_UNLOCK (self);
  if (announce)
    gst_zero_src_announce (self, reader);
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
   * longer ours to evacuate, and the allocator lets go of the reader
   * closed below. */
  gst_zero_lend_allocator_detach (self->allocator);
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
  const gchar *detail = zb_reader_last_error (self->reader);
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
        GST_ZERO_ELEMENT_WARNING (self, RESOURCE, READ, rc, detail,
            "Writer of buffer \"%s\" died; ending the stream", self->name);
        return GST_FLOW_EOS;
      }
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, rc, detail,
          "Writer of buffer \"%s\" died", self->name);
      return GST_FLOW_ERROR;
    case ZB_ETIMEDOUT:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, rc, detail,
          "No %s on buffer \"%s\" within %d ms (writer-timeout)", what,
          self->name, timeout);
      return GST_FLOW_ERROR;
    case ZB_ECORRUPT:
      GST_ZERO_ELEMENT_ERROR (self, STREAM, FAILED, rc, detail,
          "Buffer \"%s\" is corrupt", self->name);
      return GST_FLOW_ERROR;
    default:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, rc, detail,
          "Could not read buffer \"%s\": %s", self->name, zb_strerror (rc));
      return GST_FLOW_ERROR;
  }
}

/* The ring as the writer sees it, the frame just read still in it. */
static void
gst_zero_src_sample_health (GstZeroSrc * self, zb_reader * r)
{
  zb_reader_stats st;

  zb_reader_get_stats (r, &st);
  GST_OBJECT_LOCK (self);
  self->frames_polled = st.frames_polled;
  GST_OBJECT_UNLOCK (self);
  /* A wrap's tail waiting behind a held frame is no backlog: after an
   * early wrap it would show a reader that keeps up as 80-95 % full. */
  if (gst_zero_health_tracker_sample (&self->health, GST_ELEMENT (self),
          self->name, st.payload_size, MIN (st.free_bytes +
              st.held_tail_bytes, st.payload_size)))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);
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
      gchar *why = g_strdup_printf ("%s; metadata: %s",
          err ? err->message : "caps are ANY or EMPTY", text);

      GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
          "Metadata of buffer \"%s\" does not describe valid caps",
          self->name);
      g_free (why);
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

  GST_ZERO_ELEMENT_WARNING (self, STREAM, FORMAT, 0, NULL,
      "Buffer \"%s\" has no metadata describing its frames; sending "
      "application/octet-stream (set the caps property)", self->name);
  caps = gst_caps_new_empty_simple ("application/octet-stream");

settle:
  /* Through the base class, which then asks downstream about allocation
   * for these caps (gst_zero_src_negotiate() settles them). */
  g_mutex_lock (&self->lock);
  gst_caps_replace (&self->out_caps, caps);
  g_mutex_unlock (&self->lock);
  gst_caps_unref (caps);
  if (!gst_base_src_negotiate (GST_BASE_SRC (self))) {
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

/* @frame, whose rows are packed, in a buffer of the caps' own layout. */
static GstBuffer *
gst_zero_src_unpack (GstZeroSrc * self, const zb_frame * frame)
{
  GstBufferPool *pool = gst_base_src_get_buffer_pool (GST_BASE_SRC (self));
  gsize size = GST_VIDEO_INFO_SIZE (&self->packing.info);
  GstBuffer *buf = NULL;

  if (pool != NULL) {
    if (gst_buffer_pool_acquire_buffer (pool, &buf, NULL) != GST_FLOW_OK)
      buf = NULL;
    gst_object_unref (pool);
  }
  if (buf != NULL && gst_buffer_get_video_meta (buf) == NULL
      && gst_buffer_get_size (buf) < size)
    gst_clear_buffer (&buf);    /* a pool for other caps */
  if (buf == NULL)
    buf = gst_buffer_new_allocate (NULL, size, NULL);
  if (buf != NULL && !gst_zero_packing_unpack (&self->packing, frame->data,
          buf))
    gst_clear_buffer (&buf);
  return buf;
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
  gboolean copy, packed;
  gint timeout;
  guint threshold, evacuated = 0;
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
  rc = gst_zero_lend_allocator_acquire (self->allocator, &frame, timeout,
      threshold, &evacuated);
  if (evacuated > 0) {
    GST_OBJECT_LOCK (self);
    self->frames_evacuated += evacuated;
    self->frames_copied += evacuated;
    GST_OBJECT_UNLOCK (self);
  }
  if (rc != ZB_OK)
    return gst_zero_src_flow_from_status (self, rc, "frame", timeout);
  gst_zero_src_sample_health (self, r);

  if (!settled) {
    ret = gst_zero_src_caps_from_metadata (self, TRUE, &settled);
    if (ret != GST_FLOW_OK) {
      zb_reader_release (r, &frame);
      return ret;
    }
  }

  /* A frame of the caps' packed size has rows without padding (the
   * default layout's size: an old writer's frame, as it is). */
  packed = self->packing.video && !self->packing.default_packed
      && frame.size == gst_zero_packing_size (&self->packing);
  copy = threshold == 0 || (packed && !self->video_meta);
  if (packed && !self->video_meta) {
    buf = gst_zero_src_unpack (self, &frame);
    zb_reader_release (r, &frame);
    if (buf == NULL) {
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, FAILED, ZB_ENOMEM, NULL,
          "Could not lay out a frame of buffer \"%s\" for downstream",
          self->name);
      return GST_FLOW_ERROR;
    }
  } else if (copy) {
    buf = gst_buffer_new_allocate (NULL, frame.size, NULL);
    if (buf == NULL) {
      zb_reader_release (r, &frame);
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, FAILED, ZB_ENOMEM, NULL,
          "Could not allocate %" G_GSIZE_FORMAT " bytes to copy a frame of "
          "buffer \"%s\"", frame.size, self->name);
      return GST_FLOW_ERROR;
    }
    gst_buffer_fill (buf, 0, frame.data, frame.size);
    zb_reader_release (r, &frame);
  } else {
    buf = gst_zero_lend_allocator_lend (self->allocator, self->pool, &frame);
  }
  if (packed && self->video_meta)
    gst_zero_packing_add_meta (&self->packing, buf);

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
      " bytes, %s%s, pts %" GST_TIME_FORMAT, (guint64) frame.sequence,
      frame.size, copy ? "copied" : "lent", packed ? (self->video_meta ?
          " with packed rows" : " from packed rows") : "",
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

/* ------------------------------------------------------------------ */
/* zerobuffer://NAME?property=value&...                                 */

static GstURIType
gst_zero_src_uri_get_type (GType type)
{
  return GST_URI_SRC;
}

static void
gst_zero_src_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  gst_zero_uri_handler_fill (iface);
  iface->get_type = gst_zero_src_uri_get_type;
}
