/* GStreamer zerofilter: each buffer goes to a ZeroBuffer duplex server in
 * another process and its answer comes back into the pipeline.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-zerofilter
 * @title: zerofilter
 * @see_also: zerosink, zerosrc
 *
 * The client of a ZeroBuffer duplex channel, as used by the rocket-welder
 * SDK's `DuplexShmController` and upstream's `ImmutableDuplexServer`: a
 * server process creates the channel #GstZeroFilter:channel-name, zerofilter
 * sends it every buffer and pushes the answer downstream in place of the
 * input, with the input's timestamps, offsets and flags.
 *
 * The channel is two ZeroBuffer v1 buffers.  The server creates
 * `NAME_request`; zerofilter waits up to #GstZeroFilter:connect-timeout for
 * it, attaches as its writer, writes the caps once into its metadata
 * (`{"type":"gstreamer-filter","version":"GStreamer 1.22.0","caps":"<caps>",
 * "element_name":"<name>"}`), then creates `NAME_response` (permissions
 * #GstZeroFilter:mode, size #GstZeroFilter:response-size) and waits for the
 * server to attach to it.  Upstream servers give up about 5 s after they
 * start, so the pipeline must reach PAUSED within that window.
 *
 * Raw video travels with tightly packed rows (width x bytes per pixel, what
 * the SDK reshapes), repacked only when upstream's stride differs; the answer
 * must be one frame of the same size and is laid out again for the
 * negotiated caps.  Anything else travels as the bytes of the buffer.  The
 * output caps are the input caps.
 *
 * Requests and answers are matched by order (the protocol has no request
 * id).  With #GstZeroFilter:max-in-flight above 1 the next requests are sent
 * before the first answer is awaited, so throughput is not bounded by the
 * round trip.  An answer that does not come within #GstZeroFilter:timeout-ms
 * drops its frame (or fails, see #GstZeroFilter:on-timeout); if it comes
 * later it is recognised by its number and discarded, not paired with a
 * later frame.  That holds while the server answers every request, or uses
 * up a number when it gives no answer (upstream C++ and C# writers do when
 * a handler fails after taking a response buffer); a server that skips an
 * answer without skipping a number cannot be told from one that answers in
 * order, and with #GstZeroFilter:max-in-flight above 1 the answers after
 * it go one frame off.  A server that closes the channel or dies is an
 * error within a second, or, with #GstZeroFilter:on-server-lost=reconnect, a
 * wait for a new server on the same channel.
 *
 * Zero copies where GStreamer allows: upstream elements that use the buffer
 * pool zerofilter proposes draw their frames straight into `NAME_request`,
 * and answers are handed downstream as read-only memory of `NAME_response`
 * (copied out only when downstream holds too many of them).
 *
 * ## Example launch lines
 * |[
 * zerobuffer serve cam1 --handler invert
 * ]| A duplex server (the `zerobuffer` tool) that inverts every byte.
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=RGB,width=640,height=480,framerate=30/1 ! zerofilter channel-name=cam1 ! videoconvert ! autovideosink
 * ]| Shows the server's answers.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/base/gstqueuearray.h>
#include <zerobuffer/zerobuffer.h>

#include "gstzerofilter.h"
#include "gstzeroerror.h"
#include "gstzerohealth.h"
#include "gstzerolendallocator.h"
#include "gstzerometa.h"
#include "gstzeropack.h"
#include "gstzeroringpool.h"
#include "gstzerowriterconn.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_filter_debug);
#define GST_CAT_DEFAULT gst_zero_filter_debug

#define DEFAULT_CHANNEL_NAME NULL
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_CONNECT_TIMEOUT 5000
#define DEFAULT_RESPONSE_SIZE "0"
#define DEFAULT_MODE 0600
#define DEFAULT_MAX_IN_FLIGHT 1
#define DEFAULT_ON_TIMEOUT GST_ZERO_FILTER_ON_TIMEOUT_DROP
#define DEFAULT_ON_SERVER_LOST GST_ZERO_FILTER_ON_SERVER_LOST_ERROR
#define DEFAULT_PROCESSING_LATENCY 0
#define DEFAULT_SPIN_US 0

/* Longest an answer wait sleeps before asking whether the server is still
 * there: how late a crashed server is noticed. */
#define LIVENESS_SLICE_MS 200
/* The metadata block of NAME_response: nobody writes into it. */
#define RESPONSE_METADATA_SIZE 4096
/* Percent of NAME_response that lent answers may pin before they are
 * copied out (as zerosrc's evacuate-threshold). */
#define EVACUATE_THRESHOLD 50
/* Answers numbered as given up, each followed by a timeout of the request
 * waiting for it, before a warning says the two sides look out of step. */
#define MAX_DESYNC 3

enum
{
  PROP_0,
  PROP_CHANNEL_NAME,
  PROP_TIMEOUT_MS,
  PROP_CONNECT_TIMEOUT,
  PROP_RESPONSE_SIZE,
  PROP_MODE,
  PROP_MAX_IN_FLIGHT,
  PROP_ON_TIMEOUT,
  PROP_ON_SERVER_LOST,
  PROP_PROCESSING_LATENCY,
  PROP_SPIN_US,
  PROP_FRAMES_SENT,
  PROP_FRAMES_ANSWERED,
  PROP_FRAMES_DROPPED,
  PROP_FRAMES_LATE,
  PROP_REQUESTS_COPIED,
  PROP_ANSWERS_COPIED,
  PROP_ROUND_TRIP_LAST,
  PROP_ROUND_TRIP_MEAN,
  PROP_HEALTH,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

/* A request sent and not answered yet: what its output buffer gets. */
typedef struct
{
  guint64 seq;                  /* its number in NAME_request (from 1) */
  gint64 sent_us;               /* monotonic time of the commit */
  GstClockTime pts, dts, duration;
  guint64 offset, offset_end;
  GstBufferFlags flags;
  GstBuffer *metas;             /* metadata-only copy when the input had
                                 * metas to carry over, else NULL */
} GstZeroFilterRequest;

struct _GstZeroFilter
{
  GstBaseTransform parent;

  /* properties, GST_OBJECT_LOCK */
  gchar *channel_name;
  gint timeout_ms;
  gint connect_timeout;
  gchar *response_size_str;
  guint64 response_size;
  guint mode;
  guint max_in_flight_prop;
  GstZeroFilterOnTimeout on_timeout;
  GstZeroFilterOnServerLost on_server_lost;
  GstClockTime processing_latency;
  guint spin_us_prop;
  guint64 frames_sent;
  guint64 frames_answered;
  guint64 frames_dropped;
  guint64 frames_late;
  guint64 requests_copied;
  guint64 answers_copied;
  guint64 rtt_last_ns;
  guint64 rtt_total_ns;

  /* NAME_request's health: sampled by the streaming thread, read from any */
  GstZeroHealthTracker health;

  /* bound in start(), then read without locks */
  gchar *name;
  gchar *request_name;          /* NAME_request, for the health messages */
  gint wait_ms;
  gint conn_timeout;
  guint64 resp_size;
  guint resp_mode;
  guint max_in_flight;
  gboolean drop_late;
  gboolean reconnect;
  guint spin_us;

  /* streaming thread only */
  GstCaps *caps;
  GstZeroPacking packing;
  gsize frame_size;             /* packed video frame, 0 = any size */
  gchar *meta;
  gsize meta_len;
  GstQueueArray *pending;       /* of GstZeroFilterRequest, oldest first */
  GstBuffer *pass;              /* empty or gap buffer, after the pending */
  guint64 req_seq;              /* last request number committed */
  gint64 seq_offset;            /* answer number - request number */
  guint64 late_upto;            /* answers numbered up to this are late */
  guint discarded;              /* late answers seen waiting for the head */
  guint desync;                 /* see MAX_DESYNC; warned once it is reached */
  gboolean out_video_meta;      /* downstream reads any stride */
  gboolean failed;              /* an error was posted */
  GstZeroLendAllocator *allocator;
  GstBufferPool *lend_pool;

  /* lock guards client and conn against the threads that interrupt them
   * (state changes, flush-start); only the streaming thread and stop()
   * change them */
  GMutex lock;
  gboolean interrupted;
  gboolean flushing;
  zb_duplex_client *client;
  GstZeroWriterConn *conn;
};

#define gst_zero_filter_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstZeroFilter, gst_zero_filter,
    GST_TYPE_BASE_TRANSFORM,
    GST_DEBUG_CATEGORY_INIT (gst_zero_filter_debug, "zerofilter", 0,
        "ZeroBuffer duplex filter"));
GST_ELEMENT_REGISTER_DEFINE (zerofilter, "zerofilter", GST_RANK_NONE,
    GST_TYPE_ZERO_FILTER);

GType
gst_zero_filter_on_timeout_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_FILTER_ON_TIMEOUT_DROP,
        "Drop the frame, count it in frames-dropped, discard its answer if it "
          "comes later", "drop"},
    {GST_ZERO_FILTER_ON_TIMEOUT_ERROR, "Post an error and stop streaming",
        "error"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroFilterOnTimeout", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

GType
gst_zero_filter_on_server_lost_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_FILTER_ON_SERVER_LOST_ERROR,
        "Post an error and stop streaming", "error"},
    {GST_ZERO_FILTER_ON_SERVER_LOST_RECONNECT,
          "Drop the frames in flight, wait (up to connect-timeout) for a new "
          "server on the same channel and go on", "reconnect"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstZeroFilterOnServerLost", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

static void gst_zero_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_zero_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static void gst_zero_filter_finalize (GObject * object);
static GstStateChangeReturn gst_zero_filter_change_state (GstElement *
    element, GstStateChange transition);
static gboolean gst_zero_filter_start (GstBaseTransform * trans);
static gboolean gst_zero_filter_stop (GstBaseTransform * trans);
static gboolean gst_zero_filter_set_caps (GstBaseTransform * trans,
    GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_zero_filter_propose_allocation (GstBaseTransform * trans,
    GstQuery * decide_query, GstQuery * query);
static gboolean gst_zero_filter_decide_allocation (GstBaseTransform * trans,
    GstQuery * query);
static gboolean gst_zero_filter_query (GstBaseTransform * trans,
    GstPadDirection direction, GstQuery * query);
static gboolean gst_zero_filter_sink_event (GstBaseTransform * trans,
    GstEvent * event);
static GstFlowReturn gst_zero_filter_submit_input_buffer (GstBaseTransform *
    trans, gboolean is_discont, GstBuffer * input);
static GstFlowReturn gst_zero_filter_generate_output (GstBaseTransform *
    trans, GstBuffer ** outbuf);
static GstFlowReturn gst_zero_filter_transform (GstBaseTransform * trans,
    GstBuffer * inbuf, GstBuffer * outbuf);

static void
gst_zero_filter_class_init (GstZeroFilterClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_zero_filter_set_property;
  gobject_class->get_property = gst_zero_filter_get_property;
  gobject_class->finalize = gst_zero_filter_finalize;

  properties[PROP_CHANNEL_NAME] =
      g_param_spec_string ("channel-name", "Channel name",
      "Name of the duplex channel the server created (buffers NAME_request "
      "and NAME_response); when unset the element's name is used",
      DEFAULT_CHANNEL_NAME,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_TIMEOUT_MS] =
      g_param_spec_int ("timeout-ms", "Timeout",
      "Milliseconds to wait for each answer (and for room in NAME_request) "
      "before on-timeout applies (-1 = as long as the server lives)", -1,
      G_MAXINT, DEFAULT_TIMEOUT_MS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_CONNECT_TIMEOUT] =
      g_param_spec_int ("connect-timeout", "Connect timeout",
      "Milliseconds to wait for the server to create the channel, and then "
      "for it to attach to NAME_response (-1 = forever, 0 = at once)", -1,
      G_MAXINT, DEFAULT_CONNECT_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_RESPONSE_SIZE] =
      g_param_spec_string ("response-size", "Response size",
      "Payload ring of NAME_response, which zerofilter creates (suffixes K, "
      "M, G); 0 = room for max-in-flight + 2 video frames, or the size of "
      "NAME_request for other caps", DEFAULT_RESPONSE_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_MODE] =
      g_param_spec_uint ("mode", "Mode",
      "Permissions of NAME_response's shared memory and semaphores "
      "(0666 for a server running as another user)", 0, 0777, DEFAULT_MODE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_MAX_IN_FLIGHT] =
      g_param_spec_uint ("max-in-flight", "Max in flight",
      "Requests sent before the oldest answer is waited for (1 = send, then "
      "wait); answers already there are pushed at once", 1, 64,
      DEFAULT_MAX_IN_FLIGHT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_ON_TIMEOUT] =
      g_param_spec_enum ("on-timeout", "On timeout",
      "What to do when an answer does not come within timeout-ms while the "
      "server is alive", GST_TYPE_ZERO_FILTER_ON_TIMEOUT, DEFAULT_ON_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_ON_SERVER_LOST] =
      g_param_spec_enum ("on-server-lost", "On server lost",
      "What to do when the server closes the channel or dies mid-stream",
      GST_TYPE_ZERO_FILTER_ON_SERVER_LOST, DEFAULT_ON_SERVER_LOST,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_PROCESSING_LATENCY] =
      g_param_spec_uint64 ("processing-latency", "Processing latency",
      "Nanoseconds the server takes per frame, added to the latency "
      "zerofilter reports (with the frames max-in-flight holds back)", 0,
      G_MAXUINT64, DEFAULT_PROCESSING_LATENCY,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_SPIN_US] =
      g_param_spec_uint ("spin-us", "Spin microseconds",
      "Microseconds to poll for an answer or ring space before sleeping, "
      "when they come that fast (0 = always sleep; costs a core on busy "
      "hosts)", 0, 10000, DEFAULT_SPIN_US,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  properties[PROP_FRAMES_SENT] =
      g_param_spec_uint64 ("frames-sent", "Frames sent",
      "Requests written into NAME_request since start", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_ANSWERED] =
      g_param_spec_uint64 ("frames-answered", "Frames answered",
      "Answers pushed downstream since start", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_DROPPED] =
      g_param_spec_uint64 ("frames-dropped", "Frames dropped",
      "Input frames that produced no output: no answer in time, no answer "
      "at all, no room in NAME_request, or in flight when a server was lost",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRAMES_LATE] =
      g_param_spec_uint64 ("frames-late", "Frames late",
      "Answers that came after their frame was dropped, and were discarded",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_REQUESTS_COPIED] =
      g_param_spec_uint64 ("requests-copied", "Requests copied",
      "Requests copied (or repacked) into NAME_request; the others were "
      "drawn in place through the proposed buffer pool", 0, G_MAXUINT64, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ANSWERS_COPIED] =
      g_param_spec_uint64 ("answers-copied", "Answers copied",
      "Answers copied out of NAME_response (repacked for downstream, or "
      "evacuated because downstream held too many); the others were lent",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROUND_TRIP_LAST] =
      g_param_spec_uint64 ("round-trip-last", "Last round trip",
      "Nanoseconds from the last answered request's commit to its answer",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROUND_TRIP_MEAN] =
      g_param_spec_uint64 ("round-trip-mean", "Mean round trip",
      "Mean nanoseconds from a request's commit to its answer since start",
      0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_HEALTH] =
      g_param_spec_enum ("health", "Health",
      "State of NAME_request after the last request: healthy below 80% in "
      "use, degraded from 80%, critical above 95% (left 5 points lower); "
      "each change is posted as a zerobuffer-health element message",
      GST_TYPE_ZERO_HEALTH, GST_ZERO_HEALTH_HEALTHY,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ZeroBuffer duplex filter", "Filter",
      "Sends every buffer to a ZeroBuffer duplex server in another process "
      "and pushes its answer downstream", "gst-zerobuffer authors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_zero_filter_change_state);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_zero_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_zero_filter_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_filter_set_caps);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_filter_propose_allocation);
  trans_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_filter_decide_allocation);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_zero_filter_query);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_zero_filter_sink_event);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_zero_filter_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_zero_filter_generate_output);
  /* Never called (generate_output makes every buffer), but without it
   * the base class takes the element for an in-place one and skips
   * deciding the downstream allocation. */
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_zero_filter_transform);

  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_FILTER_ON_TIMEOUT, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_FILTER_ON_SERVER_LOST, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_HEALTH, 0);
}

static void
gst_zero_filter_init (GstZeroFilter * self)
{
  self->channel_name = g_strdup (DEFAULT_CHANNEL_NAME);
  self->timeout_ms = DEFAULT_TIMEOUT_MS;
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->response_size_str = g_strdup (DEFAULT_RESPONSE_SIZE);
  self->response_size = 0;
  self->mode = DEFAULT_MODE;
  self->max_in_flight_prop = DEFAULT_MAX_IN_FLIGHT;
  self->on_timeout = DEFAULT_ON_TIMEOUT;
  self->on_server_lost = DEFAULT_ON_SERVER_LOST;
  self->processing_latency = DEFAULT_PROCESSING_LATENCY;
  self->spin_us_prop = DEFAULT_SPIN_US;
  gst_zero_health_tracker_init (&self->health);
  g_mutex_init (&self->lock);
  self->pending = gst_queue_array_new_for_struct (sizeof
      (GstZeroFilterRequest), 8);
  self->allocator = gst_zero_lend_allocator_new ();

  /* A new buffer always goes out: never hand the input through. */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_zero_filter_finalize (GObject * object)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  g_free (self->channel_name);
  g_free (self->response_size_str);
  g_free (self->name);
  g_free (self->request_name);
  g_free (self->meta);
  gst_queue_array_free (self->pending);
  gst_object_unref (self->allocator);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL_NAME:
      g_free (self->channel_name);
      self->channel_name = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT_MS:
      self->timeout_ms = g_value_get_int (value);
      break;
    case PROP_CONNECT_TIMEOUT:
      self->connect_timeout = g_value_get_int (value);
      break;
    case PROP_RESPONSE_SIZE:{
      const gchar *s = g_value_get_string (value);
      guint64 size = 0;

      if (s == NULL || zb_parse_size (s, &size) != ZB_OK) {
        GST_OBJECT_UNLOCK (self);
        g_warning ("zerofilter: response-size \"%s\" is not a size (e.g. "
            "0, 4096, 64K, 16M)", s ? s : "(null)");
        return;
      }
      g_free (self->response_size_str);
      self->response_size_str = g_strdup (s);
      self->response_size = size;
      break;
    }
    case PROP_MODE:
      self->mode = g_value_get_uint (value);
      break;
    case PROP_MAX_IN_FLIGHT:
      self->max_in_flight_prop = g_value_get_uint (value);
      break;
    case PROP_ON_TIMEOUT:
      self->on_timeout = g_value_get_enum (value);
      break;
    case PROP_ON_SERVER_LOST:
      self->on_server_lost = g_value_get_enum (value);
      break;
    case PROP_PROCESSING_LATENCY:
      self->processing_latency = g_value_get_uint64 (value);
      break;
    case PROP_SPIN_US:
      self->spin_us_prop = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_filter_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstZeroFilter *self = GST_ZERO_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CHANNEL_NAME:
      g_value_set_string (value, self->channel_name);
      break;
    case PROP_TIMEOUT_MS:
      g_value_set_int (value, self->timeout_ms);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_int (value, self->connect_timeout);
      break;
    case PROP_RESPONSE_SIZE:
      g_value_set_string (value, self->response_size_str);
      break;
    case PROP_MODE:
      g_value_set_uint (value, self->mode);
      break;
    case PROP_MAX_IN_FLIGHT:
      g_value_set_uint (value, self->max_in_flight_prop);
      break;
    case PROP_ON_TIMEOUT:
      g_value_set_enum (value, self->on_timeout);
      break;
    case PROP_ON_SERVER_LOST:
      g_value_set_enum (value, self->on_server_lost);
      break;
    case PROP_PROCESSING_LATENCY:
      g_value_set_uint64 (value, self->processing_latency);
      break;
    case PROP_SPIN_US:
      g_value_set_uint (value, self->spin_us_prop);
      break;
    case PROP_FRAMES_SENT:
      g_value_set_uint64 (value, self->frames_sent);
      break;
    case PROP_FRAMES_ANSWERED:
      g_value_set_uint64 (value, self->frames_answered);
      break;
    case PROP_FRAMES_DROPPED:
      g_value_set_uint64 (value, self->frames_dropped);
      break;
    case PROP_FRAMES_LATE:
      g_value_set_uint64 (value, self->frames_late);
      break;
    case PROP_REQUESTS_COPIED:
      g_value_set_uint64 (value, self->requests_copied);
      break;
    case PROP_ANSWERS_COPIED:
      g_value_set_uint64 (value, self->answers_copied);
      break;
    case PROP_ROUND_TRIP_LAST:
      g_value_set_uint64 (value, self->rtt_last_ns);
      break;
    case PROP_ROUND_TRIP_MEAN:
      g_value_set_uint64 (value, self->frames_answered ?
          self->rtt_total_ns / self->frames_answered : 0);
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

/* Counters are notified at end of stream and at stop, not per frame (as
 * the other elements do); frames-dropped also as it happens. */
static void
gst_zero_filter_notify_stats (GstZeroFilter * self)
{
  static const guint ids[] = { PROP_FRAMES_SENT, PROP_FRAMES_ANSWERED,
    PROP_FRAMES_DROPPED, PROP_FRAMES_LATE, PROP_REQUESTS_COPIED,
    PROP_ANSWERS_COPIED, PROP_ROUND_TRIP_LAST, PROP_ROUND_TRIP_MEAN
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (ids); i++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[ids[i]]);
}

static void
gst_zero_filter_count_dropped (GstZeroFilter * self, guint n)
{
  if (n == 0)
    return;
  GST_OBJECT_LOCK (self);
  self->frames_dropped += n;
  GST_OBJECT_UNLOCK (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMES_DROPPED]);
}

/* ------------------------------------------------------------------ */
/* The channel                                                         */

/* Interrupt (or re-arm) every wait on the channel: connecting, room in
 * NAME_request, answers.  Any thread. */
static void
gst_zero_filter_interrupt (GstZeroFilter * self, gboolean on,
    gboolean flushing)
{
  g_mutex_lock (&self->lock);
  self->interrupted = on;
  self->flushing = on && flushing;
  if (self->client)
    zb_duplex_client_interrupt (self->client, on);
  if (self->conn) {
    if (!on)
      gst_zero_writer_conn_flush_stop (self->conn);
    gst_zero_writer_conn_set_unlocked (self->conn, on, on && flushing);
  }
  g_mutex_unlock (&self->lock);
}

static void
gst_zero_filter_clear_request (GstZeroFilterRequest * req)
{
  if (req->metas)
    gst_buffer_unref (req->metas);
  req->metas = NULL;
}

/* Forget the requests in flight; returns how many there were. */
static guint
gst_zero_filter_forget_pending (GstZeroFilter * self)
{
  guint n = gst_queue_array_get_length (self->pending);

  while (!gst_queue_array_is_empty (self->pending))
    gst_zero_filter_clear_request (gst_queue_array_pop_head_struct
        (self->pending));
  return n;
}

/* Leave the channel: NAME_response goes at once (the server's next answer
 * fails, so it notices), and the request writer detaches once no memory
 * of upstream's pool points into NAME_request any more (at once, unless
 * upstream still holds a pool buffer); the server then sees end of
 * stream. */
static void
gst_zero_filter_disconnect (GstZeroFilter * self)
{
  zb_duplex_client *c;
  GstZeroWriterConn *conn;
  zb_writer *w;

  g_mutex_lock (&self->lock);
  c = self->client;
  conn = self->conn;
  self->client = NULL;
  self->conn = NULL;
  g_mutex_unlock (&self->lock);

  if (c == NULL)
    return;
  /* Lent answers stay valid: the library frees the reader after the
   * last one is released. */
  gst_zero_lend_allocator_detach (self->allocator);
  /* The connection owns the writer from here on (it was the client's);
   * without one (connecting failed half-way) it is closed now. */
  w = zb_duplex_client_close_keep_writer (c);
  if (conn) {
    gst_zero_writer_conn_close (conn);
    gst_zero_writer_conn_unref (conn);
  } else {
    zb_writer_close (w);
  }
  GST_DEBUG_OBJECT (self, "left channel \"%s\"", self->name);
}

/* The element error for a failed step of connecting. */
static void
gst_zero_filter_connect_error (GstZeroFilter * self, int rc,
    const gchar * detail)
{
  const gchar *ch = self->name;

  switch (rc) {
    case ZB_ENOTFOUND:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, rc, detail,
          "No duplex server for channel \"%s\": %s_request did not appear "
          "within %d ms (start the server first)", ch, ch,
          self->conn_timeout);
      break;
    case ZB_ENOREADER:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, rc, detail,
          "The duplex server of channel \"%s\" is not alive (%s_request has "
          "no live reader)", ch, ch);
      break;
    case ZB_EWRITERBUSY:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, BUSY, rc, detail,
          "Channel \"%s\" already has a client", ch);
      break;
    case ZB_EPERM:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, rc, detail,
          "Permission denied on channel \"%s\"", ch);
      break;
    case ZB_EBADNAME:
      gst_zero_element_error_bad_name (GST_ELEMENT (self), "channel", ch, rc,
          detail);
      break;
    case ZB_ENOATTACH:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, rc, detail,
          "The duplex server of channel \"%s\" did not attach to "
          "%s_response within %d ms (servers give up about 5 s after they "
          "start: start the pipeline sooner)", ch, ch, self->conn_timeout);
      break;
    case ZB_ESERVERGONE:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, rc, detail,
          "The duplex server of channel \"%s\" left while connecting", ch);
      break;
    case ZB_EEXIST:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, BUSY, rc, detail,
          "%s_response belongs to another live client of channel \"%s\"",
          ch, ch);
      break;
    case ZB_ENOSPC:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "Not enough shared memory for channel \"%s\": /dev/shm is too "
          "small for its rings (NAME_response: see response-size)", ch);
      break;
    case ZB_EMETAWRITTEN:
      GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, rc, detail,
          "Channel \"%s\" already describes other caps: metadata is written "
          "once per server session", ch);
      break;
    case ZB_EMETATOOLARGE:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "Metadata of %" G_GSIZE_FORMAT " bytes does not fit the metadata "
          "block of %s_request", self->meta_len, ch);
      break;
    case ZB_EVERSION:
    case ZB_ECORRUPT:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, rc, detail,
          "Channel \"%s\" has an invalid or incompatible header", ch);
      break;
    default:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, rc, detail,
          "Could not connect to channel \"%s\": %s", ch, zb_strerror (rc));
      break;
  }
}

/* Size of NAME_response's ring. */
static guint64
gst_zero_filter_response_ring (GstZeroFilter * self, zb_writer * w)
{
  zb_writer_stats st;

  if (self->resp_size > 0)
    return self->resp_size;
  if (self->frame_size > 0)
    /* Answers in flight, and two lent ones downstream; more held there
     * are copied out (evacuated) rather than stalling the server. */
    return zb_ring_size_for_frames (self->frame_size, self->max_in_flight + 2);
  /* Answers of any size: as much room as the server gave the requests. */
  zb_writer_get_stats (w, &st);
  return st.payload_size;
}

/* Connect to the server: wait for NAME_request, attach, describe the
 * caps, create NAME_response, wait for the server to attach to it.
 * Returns OK, FLUSHING when interrupted (nothing posted), or ERROR after
 * posting. */
static GstFlowReturn
gst_zero_filter_connect (GstZeroFilter * self)
{
  zb_writer_options wo = { 0, };
  zb_reader_options ro = { 0, };
  zb_duplex_client *c = NULL;
  GstZeroWriterConn *conn;
  zb_writer *w;
  gchar *detail;
  int rc;

  g_return_val_if_fail (self->client == NULL, GST_FLOW_ERROR);

  rc = zb_duplex_client_new (&c, self->name);
  if (rc != ZB_OK) {
    gst_zero_filter_connect_error (self, rc, zb_last_error ());
    return GST_FLOW_ERROR;
  }
  g_mutex_lock (&self->lock);
  self->client = c;
  if (self->interrupted)
    zb_duplex_client_interrupt (c, 1);
  g_mutex_unlock (&self->lock);

  GST_DEBUG_OBJECT (self, "waiting up to %d ms for the server of channel "
      "\"%s\"", self->conn_timeout, self->name);
  wo.spin_us = self->spin_us;
  rc = zb_duplex_client_open (c, &wo, self->conn_timeout);
  if (rc != ZB_OK)
    goto failed;
  w = zb_duplex_client_request_writer (c);

  if (self->frame_size > zb_writer_max_frame_size (w)) {
    zb_writer_stats st;
    gchar *why;

    zb_writer_get_stats (w, &st);
    why = gst_info_strdup_printf ("largest frame NAME_request takes: %"
        G_GSIZE_FORMAT " bytes; caps %" GST_PTR_FORMAT,
        zb_writer_max_frame_size (w), self->caps);
    GST_ZERO_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ZB_ETOOLARGE, why,
        "The server of channel \"%s\" made %s_request too small for these "
        "caps: frames of %" G_GSIZE_FORMAT " bytes need a payload ring of at "
        "least %" G_GUINT64_FORMAT " bytes, it has %" G_GUINT64_FORMAT,
        self->name, self->name, self->frame_size,
        zb_ring_size_for_frame (self->frame_size), st.payload_size);
    g_free (why);
    gst_zero_filter_disconnect (self);
    return GST_FLOW_ERROR;
  }

  /* Before NAME_response exists: servers read it once, when they attach. */
  if (self->meta) {
    zb_writer_stats st;

    zb_writer_get_stats (w, &st);
    if (st.metadata_size == 0) {
      GST_INFO_OBJECT (self, "%s_request has no metadata block, caps not "
          "written", self->name);
    } else {
      rc = zb_duplex_client_set_metadata (c, self->meta, self->meta_len);
      if (rc != ZB_OK)
        goto failed;
      GST_DEBUG_OBJECT (self, "wrote metadata %s", self->meta);
    }
  }

  ro.payload_size = gst_zero_filter_response_ring (self, w);
  ro.metadata_size = RESPONSE_METADATA_SIZE;
  ro.mode = self->resp_mode;
  ro.spin_us = self->spin_us;
  GST_DEBUG_OBJECT (self, "creating %s_response (ring %" G_GUINT64_FORMAT
      " bytes, mode %04o)", self->name, (guint64) ro.payload_size, ro.mode);
  rc = zb_duplex_client_connect_response (c, &ro, self->conn_timeout);
  if (rc != ZB_OK)
    goto failed;

  conn = gst_zero_writer_conn_new (w, self->wait_ms, FALSE);
  g_mutex_lock (&self->lock);
  self->conn = conn;
  if (self->interrupted)
    gst_zero_writer_conn_set_unlocked (conn, TRUE, self->flushing);
  g_mutex_unlock (&self->lock);
  gst_zero_lend_allocator_attach (self->allocator,
      zb_duplex_client_response_reader (c));

  self->req_seq = 0;
  self->seq_offset = 0;
  self->late_upto = 0;
  self->discarded = 0;
  self->desync = 0;
  GST_INFO_OBJECT (self, "connected to channel \"%s\" (largest request %"
      G_GSIZE_FORMAT " bytes)", self->name, zb_writer_max_frame_size (w));
  return GST_FLOW_OK;

failed:
  detail = g_strdup (zb_duplex_client_last_error (c));
  if (rc == ZB_ECANCELED) {
    GST_DEBUG_OBJECT (self, "connect interrupted: %s", detail);
    g_free (detail);
    gst_zero_filter_disconnect (self);
    return GST_FLOW_FLUSHING;
  }
  gst_zero_filter_disconnect (self);
  gst_zero_filter_connect_error (self, rc, detail);
  g_free (detail);
  return GST_FLOW_ERROR;
}

/* The server is gone (@detail says how).  With on-server-lost=reconnect:
 * drop what is in flight and connect to the next server (OK, FLUSHING or
 * ERROR); else post and return ERROR. */
static GstFlowReturn
gst_zero_filter_server_lost (GstZeroFilter * self, const gchar * detail)
{
  GstFlowReturn ret;
  guint n;

  if (!self->reconnect) {
    GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, ZB_ESERVERGONE, detail,
        "The duplex server of channel \"%s\" is gone", self->name);
    return GST_FLOW_ERROR;
  }
  n = gst_zero_filter_forget_pending (self);
  GST_WARNING_OBJECT (self, "server of channel \"%s\" is gone (%s): %u "
      "frame(s) in flight dropped, waiting for a new server", self->name,
      detail, n);
  gst_zero_filter_count_dropped (self, n);
  gst_zero_filter_disconnect (self);
  ret = gst_zero_filter_connect (self);
  if (ret == GST_FLOW_OK) {
    /* Upstream still holds a pool for the old NAME_request. */
    gst_base_transform_reconfigure_sink (GST_BASE_TRANSFORM (self));
  }
  return ret;
}

/* Ask the library whether the server is still there after a wait ended
 * without an answer.  Returns ZB_OK or ZB_ESERVERGONE with *detail. */
static int
gst_zero_filter_check_server (GstZeroFilter * self, gchar ** detail)
{
  int rc = zb_duplex_client_check_server (self->client);

  *detail = rc == ZB_OK ? NULL :
      g_strdup (zb_duplex_client_last_error (self->client));
  return rc;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static void
gst_zero_filter_fill_packed (guint8 * dest, gsize size, gpointer user_data)
{
  gpointer *args = user_data;

  if (!gst_zero_packing_pack (args[0], args[1], dest))
    memset (dest, 0, size);     /* checked before: cannot happen */
}

/* Metas the output should carry: those the base class would copy (no
 * tags: not about the memory or the layout). */
static gboolean
gst_zero_filter_meta_is_carried (GstMeta * meta)
{
  const gchar *const *tags = gst_meta_api_type_get_tags (meta->info->api);

  return tags == NULL || tags[0] == NULL;
}

static gboolean
gst_zero_filter_copy_meta (GstBuffer * inbuf, GstMeta ** meta,
    gpointer user_data)
{
  GstBuffer *outbuf = user_data;
  const GstMetaInfo *info = (*meta)->info;
  GstMetaTransformCopy copy = { FALSE, 0, -1 };

  if (gst_zero_filter_meta_is_carried (*meta) && info->transform_func)
    info->transform_func (outbuf, *meta, inbuf, _gst_meta_transform_copy,
        &copy);
  return TRUE;
}

static gboolean
gst_zero_filter_has_carried_meta (GstBuffer * buf, GstMeta ** meta,
    gpointer user_data)
{
  if (gst_zero_filter_meta_is_carried (*meta)) {
    *(gboolean *) user_data = TRUE;
    return FALSE;
  }
  return TRUE;
}

/* Write @buf as the next request.  Returns OK, DROPPED (counted), or
 * FLUSHING / ERROR. */
static GstFlowReturn
gst_zero_filter_send (GstZeroFilter * self, GstBuffer * buf)
{
  GstZeroFilterRequest req = { 0, };
  GstZeroWriteResult res;
  gboolean packed = TRUE, has_metas = FALSE;
  gpointer fill_args[2];
  gchar *detail = NULL;
  gsize size;
  int rc;

again:
  g_clear_pointer (&detail, g_free);
  if (self->conn == NULL) {
    GstFlowReturn ret = gst_zero_filter_connect (self);

    if (ret != GST_FLOW_OK)
      return ret;
  }

  if (self->frame_size > 0) {
    size = self->frame_size;
    packed = gst_zero_packing_buffer_is_packed (&self->packing, buf);
    if (!packed && gst_buffer_get_size (buf) < self->packing.info.size
        && gst_buffer_get_video_meta (buf) == NULL) {
      gchar *why = gst_info_strdup_printf ("%" G_GSIZE_FORMAT " bytes, caps %"
          GST_PTR_FORMAT, gst_buffer_get_size (buf), self->caps);

      GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
          "A buffer is smaller than a frame of the negotiated caps");
      g_free (why);
      return GST_FLOW_ERROR;
    }
  } else {
    size = gst_buffer_get_size (buf);
  }

  /* The round trip counts from here: the copy or commit is part of it. */
  req.sent_us = g_get_monotonic_time ();
  if (packed) {
    rc = gst_zero_writer_conn_write (self->conn, buf, size,
        gst_zero_ring_pool_buffer_owner (buf), &res, &detail);
  } else {
    fill_args[0] = &self->packing;
    fill_args[1] = buf;
    rc = gst_zero_writer_conn_write_full (self->conn, buf, size, NULL,
        gst_zero_filter_fill_packed, fill_args, &res, &detail);
  }
  /* A full ring that timed the request out counts as much as a send. */
  if ((rc == ZB_OK || rc == ZB_ETIMEDOUT) && res.payload_size > 0
      && gst_zero_health_tracker_sample (&self->health, GST_ELEMENT (self),
          self->request_name, res.payload_size, res.free_bytes))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);

  switch (rc) {
    case ZB_OK:
      break;
    case ZB_ECANCELED:
      g_free (detail);
      return GST_FLOW_FLUSHING;
    case ZB_ETIMEDOUT:
    case ZB_EREADERGONE:{
      gchar *why = NULL;

      if (gst_zero_filter_check_server (self, &why) != ZB_OK
          || rc == ZB_EREADERGONE) {
        GstFlowReturn ret = gst_zero_filter_server_lost (self,
            why ? why : detail);

        g_free (why);
        if (ret != GST_FLOW_OK) {
          g_free (detail);
          return ret;
        }
        goto again;
      }
      if (!self->drop_late) {
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
            "%s_request stayed full for %d ms: the server of channel \"%s\" "
            "takes no requests", self->name, self->wait_ms, self->name);
        g_free (detail);
        return GST_FLOW_ERROR;
      }
      GST_WARNING_OBJECT (self, "%s_request stayed full for %d ms, dropping "
          "%" GST_PTR_FORMAT, self->name, self->wait_ms, buf);
      g_free (detail);
      gst_zero_filter_count_dropped (self, 1);
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    }
    case ZB_EBUSY:
      GST_ZERO_ELEMENT_WARNING (self, STREAM, FAILED, rc, detail,
          "Dropped a frame for channel \"%s\": upstream sent it ahead of the "
          "pool buffer holding the ring's next slot", self->name);
      g_free (detail);
      gst_zero_filter_count_dropped (self, 1);
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    case ZB_ETOOLARGE:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT, rc, detail,
          "A frame of %" G_GSIZE_FORMAT " bytes can never fit %s_request, "
          "which the server of channel \"%s\" sized", size, self->name,
          self->name);
      g_free (detail);
      return GST_FLOW_ERROR;
    default:
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, WRITE, rc, detail,
          "Could not send a request on channel \"%s\": %s", self->name,
          zb_strerror (rc));
      g_free (detail);
      return GST_FLOW_ERROR;
  }

  req.seq = ++self->req_seq;
  req.pts = GST_BUFFER_PTS (buf);
  req.dts = GST_BUFFER_DTS (buf);
  req.duration = GST_BUFFER_DURATION (buf);
  req.offset = GST_BUFFER_OFFSET (buf);
  req.offset_end = GST_BUFFER_OFFSET_END (buf);
  req.flags = GST_BUFFER_FLAGS (buf);
  gst_buffer_foreach_meta (buf, gst_zero_filter_has_carried_meta, &has_metas);
  if (has_metas) {
    req.metas = gst_buffer_new ();
    gst_buffer_foreach_meta (buf, gst_zero_filter_copy_meta, req.metas);
  }
  gst_queue_array_push_tail_struct (self->pending, &req);

  GST_OBJECT_LOCK (self);
  self->frames_sent++;
  if (!res.in_place)
    self->requests_copied++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "request %" G_GUINT64_FORMAT " sent (%" G_GSIZE_FORMAT
      " bytes, %s), %u in flight", req.seq, size, res.in_place ? "in place" :
      packed ? "copied" : "repacked",
      gst_queue_array_get_length (self->pending));
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_zero_filter_submit_input_buffer (GstBaseTransform * trans,
    gboolean is_discont, GstBuffer * input)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  GstFlowReturn ret;
  GstBuffer *buf;

  /* The base class negotiates, applies QoS and stashes the buffer. */
  ret = GST_BASE_TRANSFORM_CLASS (parent_class)->submit_input_buffer (trans,
      is_discont, input);
  if (ret != GST_FLOW_OK)
    return ret;
  buf = trans->queued_buf;
  trans->queued_buf = NULL;
  if (buf == NULL)
    return GST_FLOW_OK;

  if (self->failed) {
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }

  /* No frame is empty on the wire, and a gap carries nothing to process:
   * such buffers go out as they are, after the answers before them. */
  if (gst_buffer_get_size (buf) == 0
      || GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP)) {
    GST_LOG_OBJECT (self, "passing %" GST_PTR_FORMAT " through", buf);
    gst_buffer_replace (&self->pass, NULL);
    self->pass = buf;
    return GST_FLOW_OK;
  }

  ret = gst_zero_filter_send (self, buf);
  gst_zero_ring_pool_buffer_rendered (buf);
  gst_buffer_unref (buf);
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED)
    ret = GST_FLOW_OK;          /* answers in flight may still go out */
  if (ret == GST_FLOW_ERROR)
    self->failed = TRUE;
  return ret;
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */

/* The output buffer for @frame, the answer to @req. */
static GstFlowReturn
gst_zero_filter_make_output (GstZeroFilter * self, GstZeroFilterRequest * req,
    zb_frame * frame, GstBuffer ** outbuf)
{
  zb_reader *r = zb_duplex_client_response_reader (self->client);
  GstBuffer *buf;
  gboolean copied = FALSE;

  if (self->frame_size > 0 && frame->size != self->frame_size) {
    gchar *why = gst_info_strdup_printf ("answer %" G_GUINT64_FORMAT ": %"
        G_GSIZE_FORMAT " bytes, caps %" GST_PTR_FORMAT " need %"
        G_GSIZE_FORMAT, (guint64) frame->sequence, frame->size, self->caps,
        self->frame_size);

    zb_reader_release (r, frame);
    GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
        "The server of channel \"%s\" answered with a frame of another size "
        "than the output caps need", self->name);
    g_free (why);
    return GST_FLOW_ERROR;
  }

  if (self->frame_size > 0 && !self->packing.default_packed
      && !self->out_video_meta) {
    /* Downstream reads only the default layout: lay the rows out again. */
    GstBufferPool *pool =
        gst_base_transform_get_buffer_pool (GST_BASE_TRANSFORM (self));

    buf = NULL;
    if (pool) {
      if (gst_buffer_pool_acquire_buffer (pool, &buf, NULL) != GST_FLOW_OK)
        buf = NULL;
      gst_object_unref (pool);
    }
    if (buf == NULL)
      buf = gst_buffer_new_allocate (NULL, self->packing.info.size, NULL);
    if (buf == NULL
        || !gst_zero_packing_unpack (&self->packing, frame->data, buf)) {
      zb_reader_release (r, frame);
      if (buf)
        gst_buffer_unref (buf);
      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, FAILED, ZB_ENOMEM, NULL,
          "Could not lay out an answer of channel \"%s\" for downstream",
          self->name);
      return GST_FLOW_ERROR;
    }
    zb_reader_release (r, frame);
    copied = TRUE;
  } else {
    buf = gst_zero_lend_allocator_lend (self->allocator, self->lend_pool,
        frame);
    if (self->frame_size > 0 && !self->packing.default_packed)
      gst_zero_packing_add_meta (&self->packing, buf);
  }

  GST_BUFFER_PTS (buf) = req->pts;
  GST_BUFFER_DTS (buf) = req->dts;
  GST_BUFFER_DURATION (buf) = req->duration;
  GST_BUFFER_OFFSET (buf) = req->offset;
  GST_BUFFER_OFFSET_END (buf) = req->offset_end;
  GST_BUFFER_FLAGS (buf) |= req->flags & ~(GST_BUFFER_FLAG_TAG_MEMORY);
  if (req->metas)
    gst_buffer_foreach_meta (req->metas, gst_zero_filter_copy_meta, buf);

  GST_OBJECT_LOCK (self);
  self->frames_answered++;
  if (copied)
    self->answers_copied++;
  self->rtt_last_ns = (guint64) (g_get_monotonic_time () - req->sent_us) *
      1000;
  self->rtt_total_ns += self->rtt_last_ns;
  GST_OBJECT_UNLOCK (self);

  *outbuf = buf;
  return GST_FLOW_OK;
}

/* Drops the oldest request: it got no answer. */
static void
gst_zero_filter_drop_head (GstZeroFilter * self)
{
  gst_zero_filter_clear_request (gst_queue_array_pop_head_struct
      (self->pending));
  self->discarded = 0;
  gst_zero_filter_count_dropped (self, 1);
}

/* Match @frame to the pending requests by its number.  Returns FALSE when
 * it is a late answer (released, counted). */
static gboolean
gst_zero_filter_match (GstZeroFilter * self, zb_frame * frame)
{
  GstZeroFilterRequest *head =
      gst_queue_array_peek_head_struct (self->pending);
  guint64 expected = head->seq + self->seq_offset;
  guint n = gst_queue_array_get_length (self->pending);

  if (frame->sequence <= self->late_upto) {
    GST_INFO_OBJECT (self, "discarding late answer %" G_GUINT64_FORMAT
        " (its frame was dropped)", (guint64) frame->sequence);
    zb_reader_release (zb_duplex_client_response_reader (self->client),
        frame);
    GST_OBJECT_LOCK (self);
    self->frames_late++;
    GST_OBJECT_UNLOCK (self);
    self->discarded++;
    return FALSE;
  }
  if (frame->sequence == expected)
    return TRUE;

  if (frame->sequence > expected && frame->sequence - expected < n) {
    /* Upstream C# and C++ servers use up a number when a handler takes a
     * response buffer and then fails: those requests got no answer. */
    guint skipped = (guint) (frame->sequence - expected), i;

    GST_WARNING_OBJECT (self, "answer %" G_GUINT64_FORMAT " came while "
        "answer %" G_GUINT64_FORMAT " was due: the server gave no answer to "
        "%u request(s), dropping them", (guint64) frame->sequence, expected,
        skipped);
    for (i = 0; i < skipped; i++)
      gst_zero_filter_drop_head (self);
    return TRUE;
  }

  /* Numbers that fit no request: the server counts its own way; order is
   * what is left. */
  GST_WARNING_OBJECT (self, "answer %" G_GUINT64_FORMAT " came while answer %"
      G_GUINT64_FORMAT " was due; matching by order from here on",
      (guint64) frame->sequence, expected);
  self->seq_offset = (gint64) frame->sequence - (gint64) head->seq;
  return TRUE;
}

/* Wait (when @block, up to timeout-ms) for the answer to the oldest
 * request and make its output buffer.  Returns OK with *outbuf NULL when
 * not blocking and no answer is there yet, DROPPED when the request was
 * given up, or FLUSHING / ERROR. */
static GstFlowReturn
gst_zero_filter_receive (GstZeroFilter * self, gboolean block,
    GstBuffer ** outbuf)
{
  gint64 deadline = -1;
  gchar *detail = NULL;
  zb_frame frame;

  *outbuf = NULL;
  if (block && self->wait_ms >= 0)
    deadline = g_get_monotonic_time () +
        (gint64) self->wait_ms * G_TIME_SPAN_MILLISECOND;

  for (;;) {
    GstZeroFilterRequest *head;
    guint evacuated = 0;
    gint slice = 0;
    int rc;

    if (gst_queue_array_is_empty (self->pending))
      return GST_FLOW_OK;
    if (block) {
      slice = LIVENESS_SLICE_MS;
      if (deadline >= 0)
        slice = CLAMP ((deadline - g_get_monotonic_time ()) /
            G_TIME_SPAN_MILLISECOND, 0, LIVENESS_SLICE_MS);
    }

    rc = gst_zero_lend_allocator_acquire (self->allocator, &frame, slice,
        EVACUATE_THRESHOLD, &evacuated);
    if (evacuated > 0) {
      GST_OBJECT_LOCK (self);
      self->answers_copied += evacuated;
      GST_OBJECT_UNLOCK (self);
    }

    switch (rc) {
      case ZB_OK:
        if (!gst_zero_filter_match (self, &frame))
          continue;
        head = gst_queue_array_pop_head_struct (self->pending);
        self->discarded = 0;
        self->desync = 0;
        {
          GstZeroFilterRequest req = *head;
          GstFlowReturn ret;

          ret = gst_zero_filter_make_output (self, &req, &frame, outbuf);
          gst_zero_filter_clear_request (&req);
          return ret;
        }
      case ZB_ETIMEDOUT:
        if (!block)
          return GST_FLOW_OK;
        break;                  /* is the server still there? */
      case ZB_ECANCELED:
        return GST_FLOW_FLUSHING;
      case ZB_EOS:
      case ZB_EWRITERGONE:
        break;                  /* the server left NAME_response */
      default:
        GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, rc,
            zb_reader_last_error (zb_duplex_client_response_reader
                (self->client)),
            "Could not read an answer on channel \"%s\": %s", self->name,
            zb_strerror (rc));
        return GST_FLOW_ERROR;
    }

    if (gst_zero_filter_check_server (self, &detail) != ZB_OK
        || rc == ZB_EOS || rc == ZB_EWRITERGONE) {
      GstFlowReturn ret;

      if (detail == NULL)
        detail = g_strdup_printf ("%s: the server left %s_response",
            self->name, self->name);
      ret = gst_zero_filter_server_lost (self, detail);
      g_free (detail);
      return ret == GST_FLOW_OK ? GST_BASE_TRANSFORM_FLOW_DROPPED : ret;
    }
    if (deadline < 0 || g_get_monotonic_time () < deadline)
      continue;

    /* Alive, but no answer in time. */
    head = gst_queue_array_peek_head_struct (self->pending);
    if (!self->drop_late) {
      gchar *why = g_strdup_printf ("request %" G_GUINT64_FORMAT " of %"
          G_GUINT64_FORMAT " sent", head->seq, self->req_seq);

      GST_ZERO_ELEMENT_ERROR (self, RESOURCE, READ, ZB_ETIMEDOUT, why,
          "The duplex server of channel \"%s\" did not answer within %d ms",
          self->name, self->wait_ms);
      g_free (why);
      return GST_FLOW_ERROR;
    }
    if (self->discarded > 0 && ++self->desync == MAX_DESYNC) {
      /* Answers numbered as given up came while this one was awaited, and
       * then nothing, several times in a row.  A server slower than
       * timeout-ms looks like this, and so does one that skipped an answer
       * without using up its number (upstream SDK handlers that fail before
       * they take a response buffer): v1 cannot tell them apart, and
       * neither guess may pair a frame with another's answer. */
      GST_ZERO_ELEMENT_WARNING (self, STREAM, FAILED, 0,
          "answers numbered as late keep coming while the requests they "
          "would answer time out",
          "Every answer of the server of channel \"%s\" comes after its "
          "frame was given up: the server is slower than timeout-ms (%d ms), "
          "or it skipped an answer without skipping its number (restart "
          "it); frames are dropped meanwhile", self->name, self->wait_ms);
    }
    GST_WARNING_OBJECT (self, "no answer to request %" G_GUINT64_FORMAT
        " within %d ms, dropping its frame", head->seq, self->wait_ms);
    self->late_upto = MAX (self->late_upto, head->seq + self->seq_offset);
    gst_zero_filter_drop_head (self);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
}

static GstFlowReturn
gst_zero_filter_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  guint n = gst_queue_array_get_length (self->pending);
  GstFlowReturn ret;

  *outbuf = NULL;
  if (n == 0) {
    /* An empty or gap buffer goes once everything before it is out. */
    *outbuf = self->pass;
    self->pass = NULL;
    return GST_FLOW_OK;
  }
  if (self->client == NULL)
    return GST_FLOW_OK;

  /* Wait when the window is full (or a passed buffer must keep its
   * place); otherwise only take an answer that is already there. */
  ret = gst_zero_filter_receive (self, n >= self->max_in_flight
      || self->pass != NULL, outbuf);
  if (ret == GST_FLOW_ERROR)
    self->failed = TRUE;
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED && self->pass != NULL)
    ret = GST_FLOW_OK;          /* go on: the passed buffer still waits */
  return ret;
}

static GstFlowReturn
gst_zero_filter_transform (GstBaseTransform * trans, GstBuffer * inbuf,
    GstBuffer * outbuf)
{
  g_return_val_if_reached (GST_FLOW_NOT_SUPPORTED);
}

/* Push every answer still due (EOS, serialized events).  Returns the flow
 * of the last push or wait. */
static GstFlowReturn
gst_zero_filter_drain (GstZeroFilter * self)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstFlowReturn ret = GST_FLOW_OK;

  while (!gst_queue_array_is_empty (self->pending) && self->client) {
    GstBuffer *out = NULL;

    ret = gst_zero_filter_receive (self, TRUE, &out);
    if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED) {
      ret = GST_FLOW_OK;
      continue;
    }
    if (ret != GST_FLOW_OK) {
      if (ret == GST_FLOW_ERROR)
        self->failed = TRUE;
      break;
    }
    if (out) {
      ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (trans), out);
      if (ret != GST_FLOW_OK)
        break;
    }
  }
  if (ret == GST_FLOW_OK && self->pass) {
    GstBuffer *pass = self->pass;

    self->pass = NULL;
    ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (trans), pass);
  }
  if (ret != GST_FLOW_OK)
    GST_DEBUG_OBJECT (self, "drain ended: %s", gst_flow_get_name (ret));
  return ret;
}

/* ------------------------------------------------------------------ */
/* Negotiation, allocation, events, states                              */

static gboolean
gst_zero_filter_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  gchar *element_name;

  if (self->caps) {
    gchar *why;

    if (gst_caps_is_equal (incaps, self->caps))
      return TRUE;
    why = gst_info_strdup_printf ("negotiated %" GST_PTR_FORMAT ", refused %"
        GST_PTR_FORMAT, self->caps, incaps);
    GST_ZERO_ELEMENT_ERROR (self, STREAM, FORMAT, 0, why,
        "Cannot change caps on channel \"%s\" mid-stream: the server reads "
        "them once per session", self->name);
    g_free (why);
    return FALSE;
  }

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, incaps);
  gst_zero_packing_init (&self->packing, incaps);
  self->frame_size = gst_zero_packing_size (&self->packing);
  element_name = gst_object_get_name (GST_OBJECT (self));
  g_free (self->meta);
  self->meta = gst_zero_meta_caps_to_json (incaps, GST_ZERO_META_TYPE_FILTER,
      element_name, &self->meta_len);
  g_free (element_name);
  gst_caps_replace (&self->caps, incaps);

  /* Connect now, so that the allocation query that follows can offer
   * NAME_request's memory.  Interrupted: the first buffer connects. */
  if (self->client == NULL) {
    GstFlowReturn ret = gst_zero_filter_connect (self);

    if (ret == GST_FLOW_ERROR) {
      self->failed = TRUE;
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
gst_zero_filter_propose_allocation (GstBaseTransform * trans,
    GstQuery * decide_query, GstQuery * query)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  GstZeroWriterConn *c = NULL;

  g_mutex_lock (&self->lock);
  if (self->conn)
    c = gst_zero_writer_conn_ref (self->conn);
  g_mutex_unlock (&self->lock);
  if (c == NULL)
    return TRUE;
  /* Video goes tightly packed: upstreams that read a video meta draw
   * padded widths straight into NAME_request too. */
  if (gst_zero_ring_pool_propose (c, query, TRUE))
    GST_DEBUG_OBJECT (self, "proposed a ring pool");
  gst_zero_writer_conn_unref (c);
  return TRUE;
}

static gboolean
gst_zero_filter_decide_allocation (GstBaseTransform * trans, GstQuery * query)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);

  /* Answers whose layout is not the default one are lent with a video
   * meta when downstream reads it, else copied into its buffers. */
  self->out_video_meta = gst_query_find_allocation_meta (query,
      GST_VIDEO_META_API_TYPE, NULL);
  return GST_BASE_TRANSFORM_CLASS (parent_class)->decide_allocation (trans,
      query);
}

static gboolean
gst_zero_filter_query (GstBaseTransform * trans, GstPadDirection direction,
    GstQuery * query)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  gboolean res;

  res = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
  if (res && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min, max, ours, frame = 0;
    gboolean live;
    guint n;

    gst_query_parse_latency (query, &live, &min, &max);
    GST_OBJECT_LOCK (self);
    ours = self->processing_latency;
    n = self->max_in_flight_prop;
    GST_OBJECT_UNLOCK (self);
    /* Frames held back while the window fills, at the stream's rate. */
    if (self->packing.video && GST_VIDEO_INFO_FPS_N (&self->packing.info) > 0)
      frame = gst_util_uint64_scale (GST_SECOND,
          GST_VIDEO_INFO_FPS_D (&self->packing.info),
          GST_VIDEO_INFO_FPS_N (&self->packing.info));
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours + (n - 1) * frame;
    GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT
        ", max %" GST_TIME_FORMAT, live, GST_TIME_ARGS (min),
        GST_TIME_ARGS (max));
    gst_query_set_latency (query, live, min, max);
  }
  return res;
}

static gboolean
gst_zero_filter_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      GST_DEBUG_OBJECT (self, "flush start");
      gst_zero_filter_interrupt (self, TRUE, TRUE);
      break;
    case GST_EVENT_FLUSH_STOP:{
      guint n = gst_queue_array_get_length (self->pending);

      /* The answers to what was in flight may still come: late. */
      if (n > 0) {
        GstZeroFilterRequest *tail =
            gst_queue_array_peek_tail_struct (self->pending);

        self->late_upto = MAX (self->late_upto, tail->seq + self->seq_offset);
        gst_zero_filter_forget_pending (self);
      }
      gst_buffer_replace (&self->pass, NULL);
      gst_zero_filter_interrupt (self, FALSE, FALSE);
      GST_DEBUG_OBJECT (self, "flush stop, %u request(s) in flight dropped",
          n);
      break;
    }
    case GST_EVENT_EOS:
      /* EOS waits for the answers; the channel stays until READY. */
      gst_zero_filter_drain (self);
      gst_zero_filter_notify_stats (self);
      break;
    default:
      /* Serialized events keep their place after the buffers before them. */
      if (GST_EVENT_IS_SERIALIZED (event)
          && GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
        gst_zero_filter_drain (self);
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_zero_filter_start (GstBaseTransform * trans)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);
  int rc;

  GST_OBJECT_LOCK (self);
  g_free (self->name);
  self->name = g_strdup (self->channel_name ? self->channel_name :
      GST_OBJECT_NAME (self));
  self->wait_ms = self->timeout_ms;
  self->conn_timeout = self->connect_timeout;
  self->resp_size = self->response_size;
  self->resp_mode = self->mode;
  self->max_in_flight = self->max_in_flight_prop;
  self->drop_late = self->on_timeout == GST_ZERO_FILTER_ON_TIMEOUT_DROP;
  self->reconnect =
      self->on_server_lost == GST_ZERO_FILTER_ON_SERVER_LOST_RECONNECT;
  self->spin_us = self->spin_us_prop;
  self->frames_sent = 0;
  self->frames_answered = 0;
  self->frames_dropped = 0;
  self->frames_late = 0;
  self->requests_copied = 0;
  self->answers_copied = 0;
  self->rtt_last_ns = 0;
  self->rtt_total_ns = 0;
  GST_OBJECT_UNLOCK (self);
  g_free (self->request_name);
  self->request_name = g_strdup_printf ("%s_request", self->name);
  if (gst_zero_health_tracker_reset (&self->health) != GST_ZERO_HEALTH_HEALTHY)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH]);

  rc = zb_validate_channel_name (self->name);
  if (rc != ZB_OK) {
    gst_zero_element_error_bad_name (GST_ELEMENT (self), "channel",
        self->name, rc, zb_last_error ());
    return FALSE;
  }
  self->failed = FALSE;
  self->out_video_meta = FALSE;
  self->lend_pool = gst_zero_lend_pool_new ();
  GST_DEBUG_OBJECT (self, "started on channel \"%s\"", self->name);
  return TRUE;
}

static gboolean
gst_zero_filter_stop (GstBaseTransform * trans)
{
  GstZeroFilter *self = GST_ZERO_FILTER (trans);

  gst_zero_filter_forget_pending (self);
  gst_buffer_replace (&self->pass, NULL);
  gst_zero_filter_disconnect (self);
  if (self->lend_pool) {
    gst_buffer_pool_set_active (self->lend_pool, FALSE);
    gst_clear_object (&self->lend_pool);
  }
  gst_caps_replace (&self->caps, NULL);
  g_clear_pointer (&self->meta, g_free);
  self->meta_len = 0;
  self->frame_size = 0;
  memset (&self->packing, 0, sizeof self->packing);
  gst_zero_filter_notify_stats (self);
  GST_DEBUG_OBJECT (self, "stopped");
  return TRUE;
}

static GstStateChangeReturn
gst_zero_filter_change_state (GstElement * element,
    GstStateChange transition)
{
  GstZeroFilter *self = GST_ZERO_FILTER (element);

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_zero_filter_interrupt (self, FALSE, FALSE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* Before the base class deactivates the pads, which waits for the
       * streaming thread: wake whatever it waits for. */
      gst_zero_filter_interrupt (self, TRUE, FALSE);
      break;
    default:
      break;
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}
