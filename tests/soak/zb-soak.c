/* Soak test: millions of frames of mixed sizes through zerosink -> zerosrc,
 * writer and reader in separate processes, every frame verified.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   zb-soak --role reader --name N --frames F --ring P [--seed S]
 *     zerosrc buffer-name=N payload-size=P ! fakesink, a probe on fakesink
 *   zb-soak --role writer --name N --frames F --ring P [--seed S]
 *     appsrc ! zerosink buffer-name=N, a probe on zerosink's sink pad
 *
 * Both sides draw the same sequence of frame sizes from the seed.  Sizes
 * depend on where the frame lands in the ring, which both sides simulate
 * with the writer's placement rule (docs/protocol.md): a frame is its
 * 16-byte header plus payload, unaligned; the writer wraps early rather
 * than leave a tail of 1..15 bytes.  So the generator can aim frames at
 * exactly those tails, at the exact end of the ring, and at the largest
 * frame the ring takes, ⌊(P − 15) / 2⌋ − 16.
 *
 * A frame's payload is its sequence number (little-endian, truncated to
 * the frame) followed by xorshift output seeded from seed and sequence.
 * The writer checksums every frame it sends; the reader regenerates every
 * frame, compares it byte for byte, checks its size and order (buffer
 * offset = sequence - 1) and checksums what it received.  Both print an
 * order-sensitive aggregate of the per-frame checksums, which the script
 * compares.  The writer also checks, before each frame, that the ring's
 * payload_write_pos is where the simulation says the previous frame ended,
 * so the tail cases really happen as counted.
 *
 * Output: "rss ..." lines every --rss-every frames and one "result ..."
 * line of key=value pairs; exit status 0 only if errors=0.
 */
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEADER 16               /* frame header: u64 size, u64 sequence */
#define OIEB_PAYLOAD_SIZE 0x20  /* wire contract offsets (protocol.md) */
#define OIEB_WRITE_POS 0x30
#define MAX_REPORTED 10         /* error lines printed before going quiet */

/* ------------------------------------------------------------ options */

static const char *opt_role, *opt_name;
static guint64 opt_frames = 1000000, opt_ring = 256 * 1024, opt_seed = 1;
/* zerosink compact-window (off for these caps by default).  On, where
 * frames go depends on the reader's timing: write_pos is not checked. */
static gint64 opt_compact = 0;
static guint64 opt_rss_every = 1000000;
static gint opt_timeout = 3600;

/* --------------------------------------------------- sizes and content */

static inline guint64
splitmix64 (guint64 * s)
{
  guint64 z = (*s += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

typedef enum
{
  KIND_SMALL, KIND_MID, KIND_MEDIUM, KIND_TAIL, KIND_BIG, N_KINDS
} FrameKind;

static const char *kind_names[N_KINDS] =
    { "small", "mid", "medium", "tail", "big" };

/* The size sequence, the same on both sides. */
typedef struct
{
  guint64 rng;
  guint64 P, max;               /* ring, largest frame */
  guint64 pos;                  /* where the next frame would start */
  guint64 kinds[N_KINDS];
  guint64 early_wraps;          /* placed at 0 to avoid a 1..15-byte tail */
  guint64 exact_ends;           /* frame ended exactly at the ring's end */
  guint64 marker_wraps;         /* wrap marker written */
  guint64 tail_hist[16];        /* early wraps by the tail avoided */
} SizeGen;

static void
sizegen_init (SizeGen * g, guint64 seed, guint64 P)
{
  memset (g, 0, sizeof *g);
  g->rng = seed ^ 0x5a0c5a0c5a0c5a0cULL;
  g->P = P;
  g->max = (P - 15) / 2 - HEADER;
}

static guint64
pick (SizeGen * g, guint64 lo, guint64 hi)
{
  if (hi > g->max)
    hi = g->max;
  if (lo > hi)
    lo = hi;
  return lo + splitmix64 (&g->rng) % (hi - lo + 1);
}

static guint64
sizegen_next (SizeGen * g)
{
  guint64 r = splitmix64 (&g->rng) % 10000, size = 0, T, tail;
  FrameKind kind = KIND_SMALL;

  if (r < 500) {
    /* Aim at leaving k bytes before the end: 1..15 forces the early wrap,
     * 0 ends exactly at P, 16 leaves room for just the marker. */
    guint64 k = splitmix64 (&g->rng) % 17;

    tail = g->P - g->pos;
    if (tail >= HEADER + k + 1 && tail - HEADER - k <= g->max) {
      size = tail - HEADER - k;
      kind = KIND_TAIL;
    }
  } else if (r < 510) {
    size = g->max - splitmix64 (&g->rng) % 64;
    kind = KIND_BIG;
  } else if (r < 610) {
    size = pick (g, 4097, 65536);
    kind = KIND_MEDIUM;
  } else if (r < 2610) {
    size = pick (g, 257, 4096);
    kind = KIND_MID;
  }
  if (size == 0) {
    size = pick (g, 1, 256);
    kind = KIND_SMALL;
  }
  g->kinds[kind]++;

  /* The writer's placement rule (lib/zb-writer.c, quirks 1 and 10). */
  T = HEADER + size;
  tail = g->P - g->pos;
  if (tail < T || (tail > T && tail - T < HEADER)) {
    if (tail >= T) {
      g->early_wraps++;
      g->tail_hist[tail - T]++;
    }
    if (tail >= HEADER)
      g->marker_wraps++;
    g->pos = T;
  } else {
    g->pos += T;
    if (g->pos == g->P)
      g->exact_ends++;
  }
  return size;
}

static void
fill (guint8 * p, gsize size, guint64 seq, guint64 seed)
{
  guint64 s = seed * 0x2545f4914f6cdd1dULL ^ seq, w = seq;
  gsize i;

  for (i = 0; i + 8 <= size; i += 8) {
    w = GUINT64_TO_LE (w);
    memcpy (p + i, &w, 8);
    /* xorshift64; s is never 0 after the first splitmix. */
    if (i == 0)
      s = splitmix64 (&s) | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    w = s;
  }
  if (i < size) {
    w = GUINT64_TO_LE (w);
    memcpy (p + i, &w, size - i);
  }
}

static inline guint64
mix (guint64 h)
{
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

/* A frame's checksum: 64-bit multiply-mix over 8-byte words and the size. */
static guint64
checksum (const guint8 * p, gsize size)
{
  guint64 h = 0x6a09e667f3bcc908ULL ^ size, w;
  gsize i;

  for (i = 0; i + 8 <= size; i += 8) {
    memcpy (&w, p + i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  if (i < size) {
    w = 0;
    memcpy (&w, p + i, size - i);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
  }
  return mix (h);
}

/* Order-sensitive: frames swapped give a different aggregate. */
static inline guint64
aggregate (guint64 agg, guint64 frame_sum)
{
  return mix (agg * 0x100000001b3ULL ^ frame_sum);
}

/* ----------------------------------------------------------- the run */

typedef struct
{
  gboolean writer;
  SizeGen gen;
  guint64 frames, bytes, agg, errors, warnings;
  guint64 rss_first, rss_warm, rss_end, rss_max;
  gint64 t0;
  guint8 *scratch;              /* reader: the expected frame */
  const guint8 *shm;            /* writer: the ring's header, read-only */
  gsize shm_size;
  SizeGen probe_gen;            /* writer: the sizes zerosink sees */
  guint64 probed;
  GstElement *pipeline, *appsrc;
} Soak;

static guint64
rss_kb (void)
{
  char line[256];
  guint64 kb = 0;
  FILE *f = fopen ("/proc/self/status", "r");

  if (f == NULL)
    return 0;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "VmRSS: %" SCNu64, &kb) == 1)
      break;
  fclose (f);
  return kb;
}

static void
sample_rss (Soak * s)
{
  guint64 kb = rss_kb ();

  if (s->frames == 1)
    s->rss_first = kb;
  if (s->frames == opt_rss_every || s->rss_warm == 0)
    s->rss_warm = kb;
  if (kb > s->rss_max)
    s->rss_max = kb;
  s->rss_end = kb;
  if (s->frames % opt_rss_every == 0)
    printf ("rss role=%s frames=%" G_GUINT64_FORMAT " vmrss_kb=%"
        G_GUINT64_FORMAT " elapsed_s=%.1f\n", opt_role, s->frames, kb,
        (g_get_monotonic_time () - s->t0) / 1e6);
  fflush (stdout);
}

static void
report (Soak * s, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
report (Soak * s, const char *fmt, ...)
{
  va_list ap;

  /* The pusher thread reports too (rarely). */
  if (__atomic_add_fetch (&s->errors, 1, __ATOMIC_RELAXED) > MAX_REPORTED)
    return;
  va_start (ap, fmt);
  fprintf (stderr, "zb-soak %s: ", opt_role);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
}

/* Reader: every frame, in the streaming thread. */
static GstPadProbeReturn
reader_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Soak *s = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 seq = s->frames + 1, size;
  GstMapInfo map;

  if (s->frames >= opt_frames) {
    report (s, "frame beyond the %" G_GUINT64_FORMAT " expected", opt_frames);
    return GST_PAD_PROBE_OK;
  }
  size = sizegen_next (&s->gen);
  s->frames++;
  if (GST_BUFFER_OFFSET (buf) != seq - 1)
    report (s, "frame %" G_GUINT64_FORMAT ": buffer offset %"
        G_GUINT64_FORMAT " (lost or reordered frames)", seq,
        GST_BUFFER_OFFSET (buf));
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    report (s, "frame %" G_GUINT64_FORMAT ": cannot map", seq);
    return GST_PAD_PROBE_OK;
  }
  s->bytes += map.size;
  s->agg = aggregate (s->agg, checksum (map.data, map.size));
  if (map.size != size) {
    report (s, "frame %" G_GUINT64_FORMAT ": %" G_GSIZE_FORMAT " bytes, "
        "expected %" G_GUINT64_FORMAT, seq, map.size, size);
  } else {
    fill (s->scratch, size, seq, opt_seed);
    if (memcmp (s->scratch, map.data, size) != 0) {
      guint64 got = 0;

      memcpy (&got, map.data, MIN (size, 8));
      report (s, "frame %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
          " bytes): content differs (its first word says frame %"
          G_GUINT64_FORMAT ")", seq, size, GUINT64_FROM_LE (got));
    }
  }
  gst_buffer_unmap (buf, &map);
  if (s->frames == 1 || s->frames % opt_rss_every == 0
      || s->frames == opt_frames)
    sample_rss (s);
  return GST_PAD_PROBE_OK;
}

/* Writer: before zerosink renders a frame, the previous one is in the
 * ring, so write_pos must be where the simulation (a second generator,
 * stepped here) ended it. */
static GstPadProbeReturn
writer_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Soak *s = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 size, seq = ++s->probed;

  if (s->shm && opt_compact == 0) {
    guint64 wp;

    wp = __atomic_load_n ((const guint64 *) (s->shm + OIEB_WRITE_POS),
        __ATOMIC_ACQUIRE);
    if (wp != s->probe_gen.pos)
      report (s, "before frame %" G_GUINT64_FORMAT ": payload_write_pos %"
          G_GUINT64_FORMAT ", simulated %" G_GUINT64_FORMAT, seq, wp,
          s->probe_gen.pos);
  }
  size = sizegen_next (&s->probe_gen);
  if (gst_buffer_get_size (buf) != size)
    report (s, "zerosink got frame %" G_GUINT64_FORMAT " with %"
        G_GSIZE_FORMAT " bytes, expected %" G_GUINT64_FORMAT, seq,
        gst_buffer_get_size (buf), size);
  return GST_PAD_PROBE_OK;
}

static void
map_header (Soak * s)
{
  int fd = shm_open (opt_name, O_RDONLY | O_CLOEXEC, 0);
  guint64 P;

  if (fd < 0) {
    report (s, "cannot open /dev/shm/%s to check positions", opt_name);
    return;
  }
  s->shm_size = 128;
  s->shm = mmap (NULL, s->shm_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (s->shm == MAP_FAILED) {
    s->shm = NULL;
    report (s, "cannot map /dev/shm/%s", opt_name);
    return;
  }
  memcpy (&P, s->shm + OIEB_PAYLOAD_SIZE, 8);
  if (GUINT64_FROM_LE (P) != s->gen.P)
    report (s, "the ring has %" G_GUINT64_FORMAT " bytes, expected %"
        G_GUINT64_FORMAT, GUINT64_FROM_LE (P), s->gen.P);
}

static gpointer
push_frames (gpointer data)
{
  Soak *s = data;
  guint64 seq;

  for (seq = 1; seq <= opt_frames; seq++) {
    guint64 size = sizegen_next (&s->gen);
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    fill (map.data, size, seq, opt_seed);
    s->agg = aggregate (s->agg, checksum (map.data, size));
    gst_buffer_unmap (buf, &map);
    s->frames++;
    s->bytes += size;
    if (gst_app_src_push_buffer (GST_APP_SRC (s->appsrc), buf)
        != GST_FLOW_OK) {
      report (s, "appsrc refused frame %" G_GUINT64_FORMAT, seq);
      return NULL;
    }
    if (seq == 1 || seq % opt_rss_every == 0 || seq == opt_frames)
      sample_rss (s);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (s->appsrc));
  return NULL;
}

/* Wait for EOS or an error; everything else on the bus is counted. */
static gboolean
run_bus (Soak * s, gint64 deadline)
{
  GstBus *bus = gst_element_get_bus (s->pipeline);
  gboolean eos = FALSE, done = FALSE;

  while (!done) {
    GstMessage *m;
    GError *err = NULL;
    gchar *dbg = NULL;

    if (g_get_monotonic_time () > deadline) {
      report (s, "no end of stream within %d s", opt_timeout);
      break;
    }
    m = gst_bus_timed_pop_filtered (bus, 200 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    if (m == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_EOS:
        eos = done = TRUE;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (m, &err, &dbg);
        report (s, "ERROR from %s: %s (%s)", GST_OBJECT_NAME (m->src),
            err->message, dbg ? dbg : "");
        done = TRUE;
        break;
      default:
        gst_message_parse_warning (m, &err, &dbg);
        s->warnings++;
        report (s, "WARNING from %s: %s (%s)", GST_OBJECT_NAME (m->src),
            err->message, dbg ? dbg : "");
        break;
    }
    g_clear_error (&err);
    g_free (dbg);
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  return eos;
}

static guint64
get_u64 (GstElement * e, const char *prop)
{
  guint64 v = 0;

  g_object_get (e, prop, &v, NULL);
  return v;
}

int
main (int argc, char **argv)
{
  gchar *role = NULL, *name = NULL;
  GOptionEntry entries[] = {
    {"role", 0, 0, G_OPTION_ARG_STRING, &role, "writer or reader", "ROLE"},
    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "buffer name", "NAME"},
    {"frames", 0, 0, G_OPTION_ARG_INT64, &opt_frames, "frames (1000000)",
        "N"},
    {"ring", 0, 0, G_OPTION_ARG_INT64, &opt_ring,
        "payload ring bytes, rounded up to 64 (262144)", "P"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "seed (1)", "S"},
    {"compact", 0, 0, G_OPTION_ARG_INT64, &opt_compact,
        "zerosink compact-window, bytes (0: off)", "B"},
    {"rss-every", 0, 0, G_OPTION_ARG_INT64, &opt_rss_every,
        "sample RSS every N frames (1000000)", "N"},
    {"timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout,
        "give up after S seconds (3600)", "S"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *err = NULL;
  Soak s = { 0 };
  GstElement *elem;
  GstPad *pad;
  GThread *pusher = NULL;
  gchar *desc;
  gint64 deadline;
  guint64 P, i, el_frames, el_bytes;
  double wall;

  ctx = g_option_context_new ("- zerosink/zerosrc soak, one side");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "zb-soak: %s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (role && strcmp (role, "scan") == 0) {
    /* Builds the registry once and checks that every element loads. */
    const char *need[] = { "appsrc", "zerosink", "zerosrc", "fakesink" };
    int rc = 0;

    gst_init (&argc, &argv);
    for (i = 0; i < G_N_ELEMENTS (need); i++) {
      GstElementFactory *f = gst_element_factory_find (need[i]);

      if (f == NULL) {
        fprintf (stderr, "zb-soak: no element %s (GST_PLUGIN_PATH_1_0=%s)\n",
            need[i], g_getenv ("GST_PLUGIN_PATH_1_0"));
        rc = 1;
      } else {
        gst_object_unref (f);
      }
    }
    g_free (role);
    g_free (name);
    gst_deinit ();
    return rc;
  }
  if (role == NULL || name == NULL || opt_frames == 0 || opt_rss_every == 0
      || (strcmp (role, "writer") != 0 && strcmp (role, "reader") != 0)) {
    fprintf (stderr, "zb-soak: need --role writer|reader|scan, --name and "
        "--frames > 0\n");
    return 2;
  }
  opt_role = role;
  opt_name = name;
  P = (opt_ring + 63) / 64 * 64;
  if (P < 1024) {
    fprintf (stderr, "zb-soak: --ring must be at least 1024\n");
    return 2;
  }
  gst_init (&argc, &argv);

  s.writer = strcmp (role, "writer") == 0;
  sizegen_init (&s.gen, opt_seed, P);
  s.probe_gen = s.gen;
  if (s.writer)
    desc = g_strdup_printf ("appsrc name=src format=bytes block=true "
        "max-bytes=%" G_GUINT64_FORMAT " caps=application/x-zb-soak "
        "! zerosink name=sink buffer-name=%s sync=false "
        "connect-timeout=30000 compact-window=%" G_GINT64_FORMAT, P, name,
        opt_compact);
  else
    desc = g_strdup_printf ("zerosrc name=src buffer-name=%s "
        "payload-size=%" G_GUINT64_FORMAT " metadata-size=4096 "
        "! fakesink name=sink sync=false enable-last-sample=false", name, P);
  s.pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (s.pipeline == NULL) {
    fprintf (stderr, "zb-soak: %s\n", err->message);
    return 2;
  }
  elem = gst_bin_get_by_name (GST_BIN (s.pipeline), "sink");
  pad = gst_element_get_static_pad (elem, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER,
      s.writer ? writer_probe : reader_probe, &s, NULL);
  gst_object_unref (pad);
  gst_object_unref (elem);
  if (!s.writer)
    s.scratch = g_malloc (s.gen.max + 8);

  s.t0 = g_get_monotonic_time ();
  deadline = s.t0 + (gint64) opt_timeout * G_USEC_PER_SEC;
  if (gst_element_set_state (s.pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE)
    report (&s, "the pipeline did not start");
  else {
    if (s.writer) {
      /* The reader made the buffer before we were started. */
      map_header (&s);
      s.appsrc = gst_bin_get_by_name (GST_BIN (s.pipeline), "src");
      pusher = g_thread_new ("pusher", push_frames, &s);
    }
    run_bus (&s, deadline);
  }
  /* NULL also unblocks a pusher stuck after an error. */
  gst_element_set_state (s.pipeline, GST_STATE_NULL);
  if (pusher)
    g_thread_join (pusher);
  wall = (g_get_monotonic_time () - s.t0) / 1e6;

  elem = gst_bin_get_by_name (GST_BIN (s.pipeline), s.writer ? "sink" : "src");
  el_frames = get_u64 (elem, s.writer ? "frames-written" : "frames-received");
  el_bytes = get_u64 (elem, s.writer ? "bytes-written" : "bytes-received");
  gst_object_unref (elem);
  if (s.frames != opt_frames)
    report (&s, "%" G_GUINT64_FORMAT " frames, expected %" G_GUINT64_FORMAT,
        s.frames, opt_frames);
  if (el_frames != s.frames || el_bytes != s.bytes)
    report (&s, "element counted %" G_GUINT64_FORMAT " frames / %"
        G_GUINT64_FORMAT " bytes, we %" G_GUINT64_FORMAT " / %"
        G_GUINT64_FORMAT, el_frames, el_bytes, s.frames, s.bytes);
  if (s.writer && s.shm && s.errors == 0 && opt_compact == 0) {
    guint64 wp = __atomic_load_n ((const guint64 *) (s.shm + OIEB_WRITE_POS),
        __ATOMIC_ACQUIRE);

    if (wp != s.gen.pos)
      report (&s, "after the last frame payload_write_pos is %"
          G_GUINT64_FORMAT ", simulated %" G_GUINT64_FORMAT, wp, s.gen.pos);
  }
  if (s.writer && s.probed != s.frames)
    report (&s, "zerosink's pad saw %" G_GUINT64_FORMAT " frames, we pushed %"
        G_GUINT64_FORMAT, s.probed, s.frames);

  printf ("result role=%s frames=%" G_GUINT64_FORMAT " bytes=%"
      G_GUINT64_FORMAT " errors=%" G_GUINT64_FORMAT " warnings=%"
      G_GUINT64_FORMAT " checksum=%016" G_GINT64_MODIFIER "x wall_s=%.2f"
      " ring=%" G_GUINT64_FORMAT " max_frame=%" G_GUINT64_FORMAT
      " rss_first_kb=%" G_GUINT64_FORMAT " rss_warm_kb=%" G_GUINT64_FORMAT
      " rss_end_kb=%" G_GUINT64_FORMAT " rss_max_kb=%" G_GUINT64_FORMAT,
      role, s.frames, s.bytes, s.errors, s.warnings, s.agg, wall, P,
      s.gen.max, s.rss_first, s.rss_warm, s.rss_end, s.rss_max);
  for (i = 0; i < N_KINDS; i++)
    printf (" %s=%" G_GUINT64_FORMAT, kind_names[i], s.gen.kinds[i]);
  printf (" early_wraps=%" G_GUINT64_FORMAT " exact_ends=%" G_GUINT64_FORMAT
      " marker_wraps=%" G_GUINT64_FORMAT " tails=", s.gen.early_wraps,
      s.gen.exact_ends, s.gen.marker_wraps);
  for (i = 1; i < 16; i++)
    printf ("%s%" G_GUINT64_FORMAT, i > 1 ? "," : "", s.gen.tail_hist[i]);
  printf ("\n");
  fflush (stdout);

  if (s.shm)
    munmap ((void *) s.shm, s.shm_size);
  if (s.appsrc)
    gst_object_unref (s.appsrc);
  gst_object_unref (s.pipeline);
  g_free (s.scratch);
  g_free (role);
  g_free (name);
  gst_deinit ();
  return s.errors == 0 ? 0 : 1;
}
