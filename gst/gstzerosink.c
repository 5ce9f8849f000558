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
 * to appear: with the first frame, never in a state change or a query, so a
 * pipeline (or the other branches of a tee) plays on meanwhile.  When no
 * buffer name is set the element's own name is used.
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
 * After each write #GstZeroSink:health says how full the ring is, as the
 * ZeroBuffer README defines it: healthy below 80%, degraded from 80%,
 * critical above 95% (each left 5 points below its boundary).  Every change
 * is posted as a `zerobuffer-health` element message (fields name, state,
 * previous, state-name, utilization, payload-size, free-bytes) and logged,
 * rate-limited, in the zerohealth debug category.
 *
 * ## Packed rows
 *
 * Raw video goes into the ring with tightly packed rows: each row exactly
 * width x bytes per pixel, planes back to back, the layout the rocket-welder
 * SDK reshapes a frame into.  Where GStreamer pads its rows (322x240 RGB:
 * 968-byte rows for 966 bytes of pixels, 232320 bytes a frame) the frame is
 * the packed size instead (231840 bytes), and that size is what the ring
 * must fit.  An upstream that reads #GstVideoMeta (videotestsrc,
 * videoconvert and the other video filters) gets a pool of packed buffers
 * described by a video meta and draws straight into the ring; the pool
 * accepts no config without #GST_BUFFER_POOL_OPTION_VIDEO_META, so any other
 * upstream falls back to buffers of its own, which zerosink repacks row by
 * row straight into the ring (one copy, counted in
 * #GstZeroSink:frames-copied).  Buffers of any stride a video meta describes
 * are repacked the same way.  zerosrc turns such frames back into
 * GStreamer's layout.  With #GstZeroSink:packed-rows=false the frames are
 * GStreamer's layout as it is, padding included, as before.
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

#include <zerobuffer/zerobuffer.h>

#include "gstzerosink.h"
#include "gstzeroerror.h"
#include "gstzerouri.h"
#include "gstzerohealth.h"
#include "gstzerometa.h"
#include "gstzeropack.h"
#include "gstzeroringpool.h"
#include "gstzerowriterconn.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_sink_debug);
#define GST_CAT_DEFAULT gst_zero_sink_debug

#define DEFAULT_BUFFER_NAME NULL
#define DEFAULT_CONNECT_TIMEOUT 5000
#define DEFAULT_WRITE_TIMEOUT -1
#define DEFAULT_ON_FULL GST_ZERO_SINK_ON_FULL_BLOCK
#define DEFAULT_ON_READER_LOST GST_ZERO_SINK_ON_READER_LOST_ERROR
#define DEFAULT_COMPACT_WINDOW -1
#define DEFAULT_SPIN_US 0
#define DEFAULT_PACKED_ROWS TRUE

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
  PROP_SPIN_US,
  PROP_COMPACT_WINDOW,
  PROP_PACKED_ROWS,
  PROP_FRAMES_WRITTEN,
  PROP_FRAMES_DROPPED,
  PROP_FRAMES_COPIED,
  PROP_COMPACT_STALLS,
  PROP_FRAMES_REUSED,
  PROP_BYTES_WRITTEN,
  PROP_RING_UTILIZATION,
  PROP_HEALTH,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

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
  guint spin_us_prop;
  gint64 compact_window;
  gboolean packed_rows;
  guint64 frames_written;
  guint64 frames_dropped;
  guint64 frames_copied;
  guint64 compact_stalls;
  guint64 stalls_seen;          /* the writer's own count, streaming thread */
  guint64 frames_reused;
  guint64 reuses_seen;          /* the same for frames_reused */
  guint64 bytes_written;
  gdouble ring_utilization;

  /* the ring's health: sampled by the streaming thread, read from any */
  GstZeroHealthTracker health;

  /* bound in start(), then read without locks */
  gchar *name;
  gint conn_timeout;
  gint wr_timeout;
  gboolean drop;
  gboolean reconnect;
  guint spin_us;
  gboolean pack;                /* packed-rows */

  /* streaming thread only */
  GstCaps *caps;
  gchar *meta;                  /* metadata JSON for caps */
  gsize meta_len;
  GstZeroPacking packing;       /* the caps, when pack and raw video */
  gsize frame_size;             /* from video caps, else 0 */
  gboolean described;           /* conn checked and metadata written */
  gboolean eos_closed;
  gboolean failed;              /* an error was posted: do not wait or post
                                 * again when upstream retries the caps */

  /* lock guards conn against unlock() and the unlocked flag; the
   * streaming thread and stop() are the only ones changing conn */
  GMutex lock;
  gboolean unlocked;
  /* counts unlock() calls: a wait that runs without the preroll lock
   * sees an unlock() even when unlock_stop() followed at once */
  guint unlock_seq;
  GstZeroWriterConn *conn;
};

#define gst_zero_sink_parent_class parent_class
static void gst_zero_sink_uri_handler_init (gpointer g_iface, gpointer iface_data);

G_DEFINE_TYPE_WITH_CODE (GstZeroSink, gst_zero_sink, GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_zero_sink_debug, "zerosink", 0,
        "ZeroBuffer shared-memory sink");
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_zero_sink_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE (zerosink, "zerosink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK);
GST_ELEMENT_REGISTER_DEFINE (zero_sink, "zero-sink", GST_RANK_NONE,
    GST_TYPE_ZERO_SINK);

GType
gst_zero_sink_on_full_get_type (void)
{
  static gsize type = 0;
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
  return (GType) type;
}

GType
gst_zero_sink_on_reader_lost_get_type (void)
{
  static gsize type = 0;
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
  return (GType) type;
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
  properties[PROP_SPIN_US] =
      g_param_spec_uint ("spin-us", "Spin microseconds",
      "Microseconds to poll for ring space before sleeping, when frames come "
      "that close together (0 = always sleep; costs a core on busy hosts)",
      0, 10000, DEFAULT_SPIN_US,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_COMPACT_WINDOW] =
      g_param_spec_int64 ("compact-window", "Compact window",
      "Bytes at the start of the ring that frames keep to while the reader "
      "keeps up (back to the start, behind a wrap marker, once a frame "
      "would start past them): memory that stays in the caches. A reader "
      "that holds the writer up for more than 2 ms behind such a wrap (with "
      "on-full=drop: makes it drop a frame) pauses it (1 s, doubling up to "
      "64 s), so that a stalling reader gets the whole ring. -1 = two "
      "frames of the caps (off for caps without a fixed frame size), 0 = "
      "off (frames all around the ring)",
      -1, G_MAXINT64, DEFAULT_COMPACT_WINDOW,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_PACKED_ROWS] =
      g_param_spec_boolean ("packed-rows", "Packed rows",
      "Write raw video with rows of exactly width x bytes per pixel, planes "
      "back to back, as the rocket-welder SDK reads them (FALSE = GStreamer's "
      "own layout, rows usually padded to a multiple of 4 bytes)",
      DEFAULT_PACKED_ROWS,
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
  properties[PROP_COMPACT_STALLS] =
      g_param_spec_uint64 ("compact-stalls", "Compact stalls",
      "Times the reader held the writer up for more than 2 ms behind an "
      "early wrap of compact placement (with on-full=drop: made it drop a "
      "frame); each pauses it (1 s, doubling up to 64 s)", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_REUSED] =
      g_param_spec_uint64 ("frames-reused", "Frames reused",
      "Frames compact placement wrote over the memory of the frame before, "
      "still in the caches, because the reader gave that one back within "
      "a short wait", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BYTES_WRITTEN] =
      g_param_spec_uint64 ("bytes-written", "Bytes written",
      "Number of payload bytes written into the ring since start", 0,
      G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_RING_UTILIZATION] =
      g_param_spec_double ("ring-utilization", "Ring utilization",
      "Fraction of the payload ring in use after the last write "
      "(0.0 = empty, 1.0 = full)", 0.0, 1.0, 0.0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEALTH] =
      g_param_spec_enum ("health", "Health",
      "State of the ring after the last write: healthy below 80% in use, "
      "degraded from 80%, critical above 95% (left 5 points lower); each "
      "change is posted as a zerobuffer-health element message",
      GST_TYPE_ZERO_HEALTH, GST_ZERO_HEALTH_HEALTHY,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

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
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_HEALTH, 0);
}

static void
gst_zero_sink_init (GstZeroSink * self)
{
  self->buffer_name = g_strdup (DEFAULT_BUFFER_NAME);
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->write_timeout = DEFAULT_WRITE_TIMEOUT;
  self->on_full = DEFAULT_ON_FULL;
  self->on_reader_lost = DEFAULT_ON_READER_LOST;
  self->spin_us_prop = DEFAULT_SPIN_US;
  self->compact_window = DEFAULT_COMPACT_WINDOW;
  self->packed_rows = DEFAULT_PACKED_ROWS;
  gst_zero_health_tracker_init (&self->health);
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
    case PROP_COMPACT_WINDOW:
      self->compact_window = g_value_get_int64 (value);
      break;
    case PROP_SPIN_US:
      self->spin_us_prop = g_value_get_uint (value);
      break;
    case PROP_PACKED_ROWS:
      self->packed_rows = g_value_get_boolean (value);
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
    case PROP_COMPACT_WINDOW:
      g_value_set_int64 (value, self->compact_window);
      break;
    case PROP_SPIN_US:
      g_value_set_uint (value, self->spin_us_prop);
      break;
    case PROP_PACKED_ROWS:
      g_value_set_boolean (value, self->packed_rows);
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
    case PROP_COMPACT_STALLS:
      g_value_set_uint64 (value, self->compact_stalls);
      break;
    case PROP_FRAMES_REUSED:
      g_value_set_uint64 (value, self->frames_reused);
      break;
    case PROP_BYTES_WRITTEN:
      g_value_set_uint64 (value, self->bytes_written);
      break;
    case PROP_RING_UTILIZATION:
      g_value_set_double (value, self->ring_utilization);
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

static GstFlowReturn gst_zero_sink_connect (GstZeroSink * self,
    gboolean once);

/* Counters are notified at end of stream and at stop, not per frame:
 * gst-launch -v would print every notification.  frames-dropped, which
 * says something went wrong, is also notified as it happens. */
static void
gst_zero_sink_notify_stats (GstZeroSink * self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_WRITTEN]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_DROPPED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_COPIED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPACT_STALLS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_REUSED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_WRITTEN]);
  g_object_notify_by_pspec (G_OBJECT (self),
      properties[PROP_RING_UTILIZATION]);
}

static gboolean
gst_zero_sink_start (GstBaseSink * bsink)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  int rc;

  GST_OBJECT_LOCK (self);
  g_free (self->name);
  self->name = g_strdup (self->buffer_name ? self->buffer_name :
      GST_OBJECT_NAME (self));
  self->conn_timeout = self->connect_timeout;
  self->wr_timeout = self->write_timeout;
  self->drop = self->on_full == GST_ZERO_SINK_ON_FULL_DROP;
  self->reconnect =
      self->on_reader_lost == GST_ZERO_SINK_ON_READER_LOST_RECONNECT;
  self->spin_us = self->spin_us_prop;
  self->pack = self->packed_rows;
  self->frames_written = 0;
  self->frames_dropped = 0;
  self->frames_copied = 0;
  self->compact_stalls = 0;
  self->stalls_seen = 0;
  self->frames_reused = 0;
  self->reuses_seen = 0;
  self->bytes_written = 0;
  self->ring_utilization = 0.0;
  GST_OBJECT_UNLOCK (self);
  /* A new stream starts healthy; a reconnect to a new reader does not
   * reset, its first write tells. */
  if (gst_zero_health_tracker_reset (&self->health) != GST_ZERO_HEALTH_HEALTHY)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);

  rc = zb_validate_name (self->name);
  if (rc != ZB_OK) {
    gst_zero_element_error_bad_name (GST_ELEMENT (self), "buffer", self->name,
        rc, zb_last_error ());
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
  GstZeroWriterConn *c;

  g_mutex_lock (&self->lock);
  c = self->conn;
  self->conn = NULL;
  g_mutex_unlock (&self->lock);

  if (c) {
    gst_zero_writer_conn_close (c);
    gst_zero_writer_conn_unref (c);
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
  memset (&self->packing, 0, sizeof self->packing);
  self->frame_size = 0;
  self->eos_closed = FALSE;

  gst_zero_sink_notify_stats (self);
  GST_DEBUG_OBJECT (self, "stopped");
  return TRUE;
}

/* Adds to @total what a writer's own count (@count) gained since it was
 * @seen (a reconnect starts a new writer, whose count starts at 0).
 * TRUE when it gained. */
static gboolean
gst_zero_sink_add_count (GstZeroSink * self, guint64 count, guint64 * seen,
    guint64 * total)
{
  if (count < *seen)
    *seen = 0;
  if (count == *seen)
    return FALSE;
  GST_OBJECT_LOCK (self);
  *total += count - *seen;
  GST_OBJECT_UNLOCK (self);
  *seen = count;
  return TRUE;
}

/* Counts the compact stalls and reuses of the last write. */
static void
gst_zero_sink_note_stalls (GstZeroSink * self, const GstZeroWriteResult * res)
{
  if (res->payload_size == 0)
    return;
  gst_zero_sink_add_count (self, res->reuses, &self->reuses_seen,
      &self->frames_reused);
  if (gst_zero_sink_add_count (self, res->compact_stalls, &self->stalls_seen,
          &self->compact_stalls))
    GST_INFO_OBJECT (self, "buffer \"%s\": the reader held the writer up "
        "behind an early wrap (for more than 2 ms, or past the write's "
        "timeout); compact placement paused", self->name);
}

/* The compact window for a ring of @payload bytes (see the property). */
static guint64
gst_zero_sink_compact_bytes (GstZeroSink * self, guint64 payload)
{
  gint64 window;

  GST_OBJECT_LOCK (self);
  window = self->compact_window;
  GST_OBJECT_UNLOCK (self);
  /* Two frames: the one the reader (or downstream of it) still holds and
   * the one being written; the next one goes back to the start.  Off for
   * caps without a frame size: for 4096-byte frames at 100 fps a 64 KiB
   * window raised the latency (docs/performance.md). */
  if (window < 0)
    window = self->frame_size ? 2 * zb_frame_footprint (self->frame_size) : 0;
  /* a window as large as the ring is no window */
  return (guint64) window < payload ? (guint64) window : 0;
}

/* Check the ring against the caps and write the metadata.  Posts and
 * returns FALSE on failure. */
static gboolean
gst_zero_sink_describe (GstZeroSink * self, GstZeroWriterConn * c)
{
  zb_writer_stats st;
  zb_writer *w;
  gsize max;
  int rc = ZB_OK;

  if (self->caps == NULL)
    return TRUE;

  w = gst_zero_writer_conn_begin_call (c);
  if (w == NULL)
    return TRUE;                /* interrupted: render tries again */

  max = zb_writer_max_frame_size (w);
  zb_writer_get_stats (w, &st);
  zb_writer_set_compact (w, gst_zero_sink_compact_bytes (self,
          st.payload_size));
  if (self->frame_size > max) {
    gchar *why = gst_info_strdup_printf ("largest frame this ring takes: %"
        G_GSIZE_FORMAT " bytes; caps %" GST_PTR_FORMAT, max, self->caps);

    gst_zero_writer_conn_end_call (c);
    GST_ZERO_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ZB_ETOOLARGE, why,
        "Buffer \"%s\" is too small for these caps: two frames of %"
        G_GSIZE_FORMAT " bytes need a payload ring of at least %"
        G_GUINT64_FORMAT " bytes, the reader made %" G_GUINT64_FORMAT,
        self->name, self->frame_size,
        zb_ring_size_for_frame (self->frame_size), st.payload_size);
    g_free (why);
    return FALSE;
  }

  if (zb_writer_has_metadata (w)) {
    /* An earlier writer described this buffer; metadata is written once,
     * so our frames are only right for the caps it gave. */
    const void *data = NULL;
    size_t len = 0;
    GstCaps *theirs = NULL;
    GError *err = NULL;
    gchar *detail;

    rc = zb_writer_get_metadata (w, &data, &len);
    detail = g_strdup (zb_writer_last_error (w));
    if (rc == ZB_OK)
      theirs = gst_zero_meta_parse_caps (data, len, &err);
    gst_zero_writer_conn_end_call (c);
    if (rc == ZB_ECORRUPT) {
      /* Not another writer's caps: a broken or hostile peer. */
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "Buffer \"%s\" holds corrupt metadata", self->name);
      g_free (detail);
      return FALSE;
    }
    if (theirs == NULL || !gst_caps_is_equal (theirs, self->caps)) {
      gchar *why = gst_info_strdup_printf ("theirs: %" GST_PTR_FORMAT " (%s), "
          "ours: %" GST_PTR_FORMAT, theirs, rc != ZB_OK ? detail :
          err ? err->message : "parsed", self->caps);

      GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
          "Buffer \"%s\" already describes other caps: an earlier writer "
          "wrote its metadata, which is written once per buffer", self->name);
      g_free (why);
      g_free (detail);
      g_clear_error (&err);
      gst_clear_caps (&theirs);
      return FALSE;
    }
    g_free (detail);
    gst_caps_unref (theirs);
    GST_DEBUG_OBJECT (self, "buffer \"%s\" already describes our caps",
        self->name);
    self->described = TRUE;
    return TRUE;
  }
  if (st.metadata_size == 0) {
    /* The reader asked for no metadata: it knows the format already. */
    gst_zero_writer_conn_end_call (c);
    GST_INFO_OBJECT (self, "buffer \"%s\" has no metadata block, caps not "
        "written", self->name);
    self->described = TRUE;
    return TRUE;
  }

  rc = zb_writer_set_metadata (w, self->meta, self->meta_len);
  if (rc != ZB_OK) {
    gchar *detail = g_strdup (zb_writer_last_error (w));

    gst_zero_writer_conn_end_call (c);
    if (rc == ZB_EMETATOOLARGE)
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "Metadata of %" G_GSIZE_FORMAT " bytes does not fit the metadata "
          "block of buffer \"%s\"", self->meta_len, self->name);
    else if (rc == ZB_EREADERGONE)
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "The reader of buffer \"%s\" is gone", self->name);
    else
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "Could not write the metadata of buffer \"%s\": %s", self->name,
          zb_strerror (rc));
    g_free (detail);
    return FALSE;
  }
  gst_zero_writer_conn_end_call (c);
  GST_DEBUG_OBJECT (self, "wrote metadata %s", self->meta);
  self->described = TRUE;
  return TRUE;
}

/* Wait for the reader, in slices so that unlock() is seen.  Returns OK,
 * FLUSHING when unlocked (nothing posted), or ERROR after posting.  With
 * @once, a single attempt: CUSTOM_SUCCESS when the reader is not there
 * yet and connect-timeout allows waiting for it. */
static GstFlowReturn
gst_zero_sink_connect (GstZeroSink * self, gboolean once)
{
  zb_writer_options opts = { 0, };
  gint64 deadline = 0;
  zb_writer *w = NULL;
  GstZeroWriterConn *c;
  gboolean unlocked;
  const gchar *detail;
  guint seq;
  int rc;

  g_mutex_lock (&self->lock);
  seq = self->unlock_seq;
  g_mutex_unlock (&self->lock);
  if (self->conn_timeout > 0)
    deadline = g_get_monotonic_time () +
        (gint64) self->conn_timeout * G_TIME_SPAN_MILLISECOND;
  opts.spin_us = self->spin_us;
  GST_DEBUG_OBJECT (self, "connecting to buffer \"%s\" (timeout %d ms)",
      self->name, self->conn_timeout);

  for (;;) {
    gint slice = CONNECT_SLICE_MS;

    g_mutex_lock (&self->lock);
    unlocked = self->unlocked || self->unlock_seq != seq;
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

    rc = zb_writer_open_with_options (&w, self->name, slice, &opts);
    if (rc == ZB_OK)
      break;
    detail = zb_last_error ();
    if (rc == ZB_ENOTFOUND || rc == ZB_ENOREADER) {
      if (once && self->conn_timeout != 0) {
        GST_DEBUG_OBJECT (self, "no reader yet: %s", detail);
        return GST_FLOW_CUSTOM_SUCCESS;
      }
      if (self->conn_timeout == 0 || (self->conn_timeout > 0
              && g_get_monotonic_time () >= deadline)) {
        if (rc == ZB_ENOREADER) {
          gchar *why = g_strdup_printf ("%s; a reader in another PID "
              "namespace that is not libzerobuffer cannot be seen alive",
              detail);

          GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, rc, why,
              "Buffer \"%s\" exists but has no live reader (waited %d ms)",
              self->name, self->conn_timeout);
          g_free (why);
        } else {
          GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, rc, detail,
              "No reader created buffer \"%s\" within %d ms", self->name,
              self->conn_timeout);
        }
        return GST_FLOW_ERROR;
      }
      continue;
    }

    switch (rc) {
      case ZB_EWRITERBUSY:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, BUSY, rc, detail,
            "Buffer \"%s\" already has a writer", self->name);
        break;
      case ZB_EPERM:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, rc, detail,
            "Permission denied opening buffer \"%s\"", self->name);
        break;
      case ZB_EBADNAME:
        gst_zero_element_error_bad_name (GST_ELEMENT (self), "buffer",
            self->name, rc, detail);
        break;
      case ZB_ENOSPC:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
            "Not enough shared memory for buffer \"%s\": /dev/shm is too "
            "small for the reader's ring", self->name);
        break;
      case ZB_EVERSION:
      case ZB_ECORRUPT:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, rc, detail,
            "Buffer \"%s\" has an invalid or incompatible header",
            self->name);
        break;
      default:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, rc, detail,
            "Could not open buffer \"%s\": %s", self->name,
            zb_strerror (rc));
        break;
    }
    return GST_FLOW_ERROR;
  }

  c = gst_zero_writer_conn_new (w, self->wr_timeout, self->drop);
  self->described = FALSE;
  g_mutex_lock (&self->lock);
  self->conn = c;
  if (self->unlocked)
    gst_zero_writer_conn_set_unlocked (c, TRUE, FALSE);
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
  gchar *element_name;
  GstFlowReturn ret;

  if (self->failed)
    return FALSE;
  if (self->caps) {
    if (gst_caps_is_equal (caps, self->caps)) {
      GST_DEBUG_OBJECT (self, "same caps again, nothing to do");
      return TRUE;
    }
    gchar *why = gst_info_strdup_printf ("negotiated %" GST_PTR_FORMAT ", refused %"
        GST_PTR_FORMAT, self->caps, caps);

    GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
        "Cannot change caps on buffer \"%s\" mid-stream: its metadata is "
        "written once per buffer", self->name);
    g_free (why);
    return FALSE;
  }

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  memset (&self->packing, 0, sizeof self->packing);
  if (self->pack)
    gst_zero_packing_init (&self->packing, caps);
  self->frame_size = self->pack ? gst_zero_packing_size (&self->packing) :
      gst_zero_meta_frame_size (caps);
  if (self->packing.video && !self->packing.default_packed)
    GST_INFO_OBJECT (self, "writing packed rows: %" G_GSIZE_FORMAT "-byte "
        "frames instead of GStreamer's %" G_GSIZE_FORMAT, self->frame_size,
        GST_VIDEO_INFO_SIZE (&self->packing.info));

  element_name = gst_object_get_name (GST_OBJECT (self));
  g_free (self->meta);
  self->meta = gst_zero_meta_caps_to_json (caps, GST_ZERO_META_TYPE_SINK,
      element_name, &self->meta_len);
  g_free (element_name);
  gst_caps_replace (&self->caps, caps);

  if (self->eos_closed)
    return TRUE;                /* render reports the late data */
  /* One attempt only: caps are handled under the sink's preroll lock, and
   * a wait here would hold up state changes of the whole pipeline and,
   * behind a tee, every other branch.  A reader that is not there yet is
   * waited for in render, with that lock released. */
  if (self->conn)
    ret = gst_zero_sink_describe (self, self->conn) ? GST_FLOW_OK :
        GST_FLOW_ERROR;
  else
    ret = gst_zero_sink_connect (self, TRUE);

  /* No reader yet, paused or flushing: render connects when data comes. */
  if (ret == GST_FLOW_OK || ret == GST_FLOW_FLUSHING
      || ret == GST_FLOW_CUSTOM_SUCCESS)
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
  GstZeroWriterConn *c = NULL;

  /* The query comes from an upstream thread: hold our own reference. */
  g_mutex_lock (&self->lock);
  if (self->conn)
    c = gst_zero_writer_conn_ref (self->conn);
  g_mutex_unlock (&self->lock);
  if (c == NULL)
    return TRUE;
  if (gst_zero_ring_pool_propose (c, query, self->pack))
    GST_DEBUG_OBJECT (self, "proposed a ring pool");
  gst_zero_writer_conn_unref (c);
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
      gst_zero_sink_notify_stats (self);
      break;
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->lock);
      if (self->conn)
        gst_zero_writer_conn_flush_stop (self->conn);
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* Called from render, with the preroll lock held: wait for the reader
 * with that lock released, as GstBaseSink does while it waits for the
 * clock, so that state changes (PAUSED<->PLAYING) and queries of the
 * pipeline do not wait for a reader that may never come.  An unlock()
 * meanwhile (a flush, PLAYING to PAUSED, stopping) ends the wait; the
 * buffer is then prerolled like any other, and the wait goes on once
 * the pipeline plays again. */
static GstFlowReturn
gst_zero_sink_wait_reader (GstZeroSink * self, GstBuffer * buf)
{
  GstBaseSink *bsink = GST_BASE_SINK (self);
  GstFlowReturn ret;

  for (;;) {
    GST_BASE_SINK_PREROLL_UNLOCK (bsink);
    ret = gst_zero_sink_connect (self, FALSE);
    GST_BASE_SINK_PREROLL_LOCK (bsink);
    if (ret != GST_FLOW_FLUSHING)
      break;
    /* do_preroll() would wait for a signal a flush already gave */
    if (bsink->flushing)
      return GST_FLOW_FLUSHING;
    ret = gst_base_sink_do_preroll (bsink, GST_MINI_OBJECT_CAST (buf));
    if (ret != GST_FLOW_OK)
      return ret;
  }
  if (ret != GST_FLOW_OK)
    return ret;
  /* Upstream negotiated its allocation with no ring to offer, or holds a
   * pool bound to a reader that left: ask again so that it can write
   * straight into this ring. */
  gst_pad_push_event (GST_BASE_SINK_PAD (self), gst_event_new_reconfigure ());
  if (G_UNLIKELY (bsink->flushing))
    return GST_FLOW_FLUSHING;
  return GST_FLOW_OK;
}

static void
gst_zero_sink_count_drop (GstZeroSink * self)
{
  GST_OBJECT_LOCK (self);
  self->frames_dropped++;
  GST_OBJECT_UNLOCK (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_DROPPED]);
}

static void
gst_zero_sink_fill_packed (guint8 * dest, gsize size, gpointer user_data)
{
  gpointer *args = user_data;

  if (!gst_zero_packing_pack (args[0], args[1], dest))
    memset (dest, 0, size);     /* checked before: cannot happen */
}

static GstFlowReturn
gst_zero_sink_render (GstBaseSink * bsink, GstBuffer * buf)
{
  GstZeroSink *self = GST_ZERO_SINK (bsink);
  gsize size = gst_buffer_get_size (buf);
  GstZeroWriteResult res;
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean packed = TRUE;
  gpointer fill_args[2];
  gchar *detail = NULL;
  int rc;

  if (G_UNLIKELY (self->eos_closed)) {
    GST_ZERO_ELEMENT_ERROR (self, STREAM, FAILED, 0,
        "the writer detached on EOS and the reader saw end of stream",
        "Buffer \"%s\" was closed at end of stream; no more data can be "
        "written", self->name);
    return GST_FLOW_ERROR;
  }
  if (G_UNLIKELY (size == 0)) {
    GST_LOG_OBJECT (self, "skipping empty buffer %" GST_PTR_FORMAT, buf);
    goto done;
  }
  if (self->packing.video) {
    /* One packed frame: as it is when the buffer already has that
     * layout, else repacked straight into the ring. */
    packed = gst_zero_packing_buffer_is_packed (&self->packing, buf);
    if (!packed && gst_buffer_get_video_meta (buf) == NULL
        && size < GST_VIDEO_INFO_SIZE (&self->packing.info)) {
      gchar *why = gst_info_strdup_printf ("%" G_GSIZE_FORMAT " bytes, caps %"
          GST_PTR_FORMAT, size, self->caps);

      GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
          "A buffer is smaller than a frame of the negotiated caps");
      g_free (why);
      ret = GST_FLOW_ERROR;
      goto done;
    }
    size = self->frame_size;
    fill_args[0] = &self->packing;
    fill_args[1] = buf;
  }

again:
  g_clear_pointer (&detail, g_free);
  if (G_UNLIKELY (self->conn == NULL)) {
    ret = gst_zero_sink_wait_reader (self, buf);
    if (ret != GST_FLOW_OK)
      goto done;
  }
  if (G_UNLIKELY (self->caps && !self->described)
      && !gst_zero_sink_describe (self, self->conn)) {
    ret = GST_FLOW_ERROR;
    goto done;
  }

  if (packed)
    rc = gst_zero_writer_conn_write (self->conn, buf, size,
        gst_zero_ring_pool_buffer_owner (buf), &res, &detail);
  else
    rc = gst_zero_writer_conn_write_full (self->conn, buf, size, NULL,
        gst_zero_sink_fill_packed, fill_args, &res, &detail);
  /* A full ring that made the frame drop counts as much as a write. */
  if ((rc == ZB_OK || rc == ZB_ETIMEDOUT) && res.payload_size > 0
      && gst_zero_health_tracker_sample (&self->health, GST_ELEMENT (self),
          self->name, res.payload_size, res.free_bytes))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);
  gst_zero_sink_note_stalls (self, &res);
  switch (rc) {
    case ZB_OK:
      GST_LOG_OBJECT (self, "wrote %" G_GSIZE_FORMAT " bytes %s, ring %.0f%% "
          "used: %" GST_PTR_FORMAT, size, res.in_place ? "in place" :
          packed ? "by copy" : "repacked", res.utilization * 100.0, buf);
      GST_OBJECT_LOCK (self);
      self->frames_written++;
      self->bytes_written += size;
      if (!res.in_place)
        self->frames_copied++;
      self->ring_utilization = res.utilization;
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
        gst_zero_sink_count_drop (self);
        break;
      }
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "Buffer \"%s\" stayed full for %d ms: the reader does not release "
          "frames", self->name, self->wr_timeout);
      ret = GST_FLOW_ERROR;
      break;
    case ZB_EREADERGONE:
      if (self->reconnect) {
        /* Wait for a new reader on the same name as for the first one
         * (describing the stream to it again), then this frame again. */
        GST_WARNING_OBJECT (self, "reader of \"%s\" is gone, waiting for a "
            "new one (%s)", self->name, detail);
        gst_zero_sink_drop_conn (self);
        goto again;
      }
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "The reader of buffer \"%s\" is gone", self->name);
      ret = GST_FLOW_ERROR;
      break;
    case ZB_EBUSY:
      /* Order matters more than this one frame; an error would stop a
       * pipeline that otherwise works (copying from now on). */
      GST_ZERO_ELEMENT_WARNING (self, STREAM, FAILED, rc, detail,
          "Dropped a frame for buffer \"%s\": upstream sent it ahead of "
          "the pool buffer holding the ring's next slot", self->name);
      gst_zero_sink_count_drop (self);
      break;
    case ZB_ETOOLARGE:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "A frame of %" G_GSIZE_FORMAT " bytes can never fit buffer \"%s\"",
          size, self->name);
      ret = GST_FLOW_ERROR;
      break;
    default:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "Could not write to buffer \"%s\": %s", self->name,
          zb_strerror (rc));
      ret = GST_FLOW_ERROR;
      break;
  }

done:
  g_free (detail);
  gst_zero_ring_pool_buffer_rendered (buf);
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
  self->unlock_seq++;
  if (self->conn)
    gst_zero_writer_conn_set_unlocked (self->conn, TRUE, flushing);
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
    gst_zero_writer_conn_set_unlocked (self->conn, FALSE, FALSE);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* zerobuffer://NAME?property=value&...                                 */

static GstURIType
gst_zero_sink_uri_get_type (GType type)
{
  return GST_URI_SINK;
}

static void
gst_zero_sink_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  gst_zero_uri_handler_fill (iface);
  iface->get_type = gst_zero_sink_uri_get_type;
}
