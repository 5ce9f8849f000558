/* zerobuffer launch: run a GStreamer pipeline for every stream a reader
 * announces (the rocket-welder2 role).
 *
 * A reader that created a buffer announces it with one line on its
 * stdout:
 *
 *   > {"jsonrpc":"2.0","method":"start-stream","params":["NAME",M,P]}
 *
 * This program reads lines from its stdin (or from the output of
 * --from CMD, e.g. `docker logs -f reader`), passes every line through to
 * its stdout, and for each start-stream line runs the pipeline template
 * with {name} (and {1}, {2}, ... for the other params) substituted, in
 * this process, one pipeline per stream.  GStreamer-linked on purpose:
 * libzerobuffer stays free of it; `zerobuffer launch` runs this binary.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <zerobuffer/zerobuffer.h>

/* How long pipelines get to finish after Ctrl-C (EOS sent) before they
 * are stopped where they are. */
#define STOP_GRACE_MS 3000

typedef struct
{
  gchar *name;
  GstElement *pipeline;
  guint bus_watch;
  guint generation;             /* restarts of this name */
} Stream;

typedef struct
{
  GMainLoop *loop;
  const gchar *template;
  GHashTable *streams;          /* name -> Stream */
  GIOChannel *input;
  guint input_watch;
  GPid from_pid;
  gboolean input_done;
  gboolean stopping;
  guint stop_timer;
  guint launched, ended_ok, ended_bad, rejected;
} Launcher;

static void
say (const gchar * fmt, ...) G_GNUC_PRINTF (1, 2);

static void
say (const gchar * fmt, ...)
{
  va_list ap;
  gchar *text;

  va_start (ap, fmt);
  text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_printerr ("zerobuffer launch: %s\n", text);
  g_free (text);
}

static void
stream_free (gpointer data)
{
  Stream *s = data;

  if (s->bus_watch)
    g_source_remove (s->bus_watch);
  if (s->pipeline) {
    gst_element_set_state (s->pipeline, GST_STATE_NULL);
    gst_object_unref (s->pipeline);
  }
  g_free (s->name);
  g_free (s);
}

static void
maybe_quit (Launcher * l)
{
  if ((l->input_done || l->stopping) && g_hash_table_size (l->streams) == 0)
    g_main_loop_quit (l->loop);
}

/* The pipeline of @s ended (EOS, error, or stopped): say so, forget it. */
static void
stream_ended (Launcher * l, Stream * s, gboolean ok, const gchar * how)
{
  say ("%s: pipeline ended: %s", s->name, how);
  if (ok)
    l->ended_ok++;
  else
    l->ended_bad++;
  g_hash_table_remove (l->streams, s->name);
  maybe_quit (l);
}

typedef struct
{
  Launcher *l;
  gchar *name;
  guint generation;
} BusCtx;

static void
bus_ctx_free (gpointer data)
{
  BusCtx *c = data;

  g_free (c->name);
  g_free (c);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  BusCtx *c = data;
  Stream *s = g_hash_table_lookup (c->l->streams, c->name);
  GError *err = NULL;
  gchar *debug = NULL, *how;

  if (s == NULL || s->generation != c->generation)
    return G_SOURCE_REMOVE;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      s->bus_watch = 0;
      stream_ended (c->l, s, TRUE, "end of stream");
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &debug);
      how = g_strdup_printf ("error from %s: %s%s%s",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
          debug ? " | " : "", debug ? debug : "");
      g_clear_error (&err);
      g_free (debug);
      s->bus_watch = 0;
      stream_ended (c->l, s, FALSE, how);
      g_free (how);
      return G_SOURCE_REMOVE;
    default:
      return G_SOURCE_CONTINUE;
  }
}

/* Substitute {name}, {1}, {2}, ... ; params are already checked. */
static gchar *
expand (const gchar * template, const gchar * name, gchar ** params,
    guint n_params, gchar ** unknown)
{
  GString *out = g_string_new (NULL);
  const gchar *p = template;

  *unknown = NULL;
  while (*p) {
    const gchar *close;

    if (*p != '{' || (close = strchr (p, '}')) == NULL) {
      g_string_append_c (out, *p++);
      continue;
    }
    {
      gchar *key = g_strndup (p + 1, close - p - 1);
      gchar *end = NULL;
      guint64 i;

      if (g_str_equal (key, "name")) {
        g_string_append (out, name);
      } else if (key[0] && (i = g_ascii_strtoull (key, &end, 10), *end == 0)
          && i >= 1 && i <= n_params) {
        g_string_append (out, params[i - 1]);
      } else if (*unknown == NULL) {
        *unknown = g_strdup_printf ("{%s}", key);
      }
      g_free (key);
      p = close + 1;
    }
  }
  return g_string_free (out, FALSE);
}

static void
launch (Launcher * l, const gchar * name, gchar ** params, guint n_params)
{
  GError *err = NULL;
  gchar *desc, *unknown = NULL;
  GstElement *pipeline;
  Stream *s, *old;
  BusCtx *c;
  GstBus *bus;
  guint generation = 0;

  desc = expand (l->template, name, params, n_params, &unknown);
  if (unknown) {
    say ("%s: the template's %s is not given by this announce; nothing "
        "launched", name, unknown);
    l->rejected++;
    g_free (unknown);
    g_free (desc);
    return;
  }

  old = g_hash_table_lookup (l->streams, name);
  if (old) {
    /* The reader made the buffer anew (a restarted container): the old
     * pipeline writes into a buffer that is gone. */
    say ("%s: announced again, restarting its pipeline", name);
    generation = old->generation + 1;
    g_hash_table_remove (l->streams, name);
  }

  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
      &err);
  if (pipeline == NULL) {
    say ("%s: cannot build the pipeline \"%s\": %s", name, desc,
        err ? err->message : "unknown error");
    g_clear_error (&err);
    g_free (desc);
    l->ended_bad++;
    maybe_quit (l);
    return;
  }

  s = g_new0 (Stream, 1);
  s->name = g_strdup (name);
  s->pipeline = pipeline;
  s->generation = generation;
  c = g_new0 (BusCtx, 1);
  c->l = l;
  c->name = g_strdup (name);
  c->generation = generation;
  bus = gst_element_get_bus (pipeline);
  s->bus_watch = gst_bus_add_watch_full (bus, G_PRIORITY_DEFAULT, on_bus, c,
      bus_ctx_free);
  gst_object_unref (bus);
  g_hash_table_insert (l->streams, s->name, s);
  l->launched++;
  say ("%s: launching: %s", name, desc);
  g_free (desc);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* The error message, if any, is on the bus; make sure it ends. */
    GstMessage *msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipeline),
        GST_MESSAGE_ERROR);
    gchar *how = NULL;

    if (msg) {
      gst_message_parse_error (msg, &err, NULL);
      how = g_strdup_printf ("could not start: %s", err->message);
      g_clear_error (&err);
      gst_message_unref (msg);
    }
    stream_ended (l, s, FALSE, how ? how : "could not start");
    g_free (how);
  }
}

/* One input line: pass it through; launch if it is an announce. */
static void
handle_line (Launcher * l, const gchar * line)
{
  JsonParser *parser;
  JsonNode *root;
  JsonObject *obj;
  JsonArray *params;
  GError *err = NULL;
  const gchar *method, *name;
  gchar **args;
  guint i, n;

  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);

  if (line[0] != '>')
    return;
  line++;
  while (*line == ' ')
    line++;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, -1, &err)) {
    say ("not JSON after '>': %s: %s", err->message, line);
    l->rejected++;
    goto done;
  }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    say ("not a JSON-RPC object: %s", line);
    l->rejected++;
    goto done;
  }
  obj = json_node_get_object (root);
  if (!json_object_has_member (obj, "method")
      || json_node_get_value_type (json_object_get_member (obj, "method"))
      != G_TYPE_STRING) {
    say ("no method: %s", line);
    l->rejected++;
    goto done;
  }
  method = json_object_get_string_member (obj, "method");
  if (!g_str_equal (method, "start-stream")) {
    say ("unknown method \"%s\", ignored", method);
    l->rejected++;
    goto done;
  }
  if (!json_object_has_member (obj, "params")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "params"))
      || json_array_get_length (json_object_get_array_member (obj,
              "params")) == 0) {
    say ("start-stream without params: %s", line);
    l->rejected++;
    goto done;
  }
  params = json_object_get_array_member (obj, "params");
  n = json_array_get_length (params);
  if (json_node_get_value_type (json_array_get_element (params, 0)) !=
      G_TYPE_STRING) {
    say ("start-stream: the first param is not a name: %s", line);
    l->rejected++;
    goto done;
  }
  name = json_array_get_string_element (params, 0);
  if (zb_validate_name (name) != ZB_OK) {
    say ("start-stream: invalid buffer name \"%s\": %s; nothing launched",
        name, zb_last_error ());
    l->rejected++;
    goto done;
  }
  /* The other params go into a pipeline description: numbers only, so
   * that an announce cannot inject elements. */
  args = g_new0 (gchar *, n);
  for (i = 1; i < n; i++) {
    JsonNode *e = json_array_get_element (params, i);

    if (!JSON_NODE_HOLDS_VALUE (e)
        || (json_node_get_value_type (e) != G_TYPE_INT64)
        || json_node_get_int (e) < 0) {
      say ("start-stream %s: param %u is not a non-negative integer; "
          "nothing launched", name, i);
      l->rejected++;
      g_strfreev (args);
      goto done;
    }
    args[i - 1] = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (e));
  }
  if (l->stopping) {
    say ("%s: announced while stopping; not launched", name);
  } else {
    launch (l, name, args, n - 1);
  }
  g_strfreev (args);

done:
  g_clear_error (&err);
  g_object_unref (parser);
}

static gboolean
on_input (GIOChannel * ch, GIOCondition cond, gpointer data)
{
  Launcher *l = data;
  gchar *line = NULL;
  gsize len = 0, term = 0;
  GIOStatus st;

  for (;;) {
    st = g_io_channel_read_line (ch, &line, &len, &term, NULL);
    if (st == G_IO_STATUS_NORMAL) {
      line[term] = '\0';
      handle_line (l, line);
      g_free (line);
      /* More may be buffered already: read it before sleeping again. */
      if (g_io_channel_get_buffer_condition (ch) & G_IO_IN)
        continue;
      return G_SOURCE_CONTINUE;
    }
    if (st == G_IO_STATUS_AGAIN)
      return G_SOURCE_CONTINUE;
    break;
  }
  /* End of input (or a read error): running pipelines go on. */
  l->input_watch = 0;
  l->input_done = TRUE;
  maybe_quit (l);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stop_timeout (gpointer data)
{
  Launcher *l = data;
  GHashTableIter it;
  gpointer value;
  GPtrArray *left = g_ptr_array_new ();
  guint i;

  l->stop_timer = 0;
  g_hash_table_iter_init (&it, l->streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (left, value);
  for (i = 0; i < left->len; i++)
    stream_ended (l, g_ptr_array_index (left, i), TRUE,
        "stopped (no end of stream within the grace period)");
  g_ptr_array_unref (left);
  maybe_quit (l);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer data)
{
  Launcher *l = data;
  GHashTableIter it;
  gpointer value;

  if (l->stopping) {
    /* Second Ctrl-C: stop now. */
    if (l->stop_timer)
      g_source_remove (l->stop_timer);
    on_stop_timeout (l);
    return G_SOURCE_CONTINUE;
  }
  say ("interrupted: ending %u pipeline(s)", g_hash_table_size (l->streams));
  l->stopping = TRUE;
  if (l->input_watch) {
    g_source_remove (l->input_watch);
    l->input_watch = 0;
  }
  if (l->from_pid > 0)
    kill (l->from_pid, SIGTERM);
  g_hash_table_iter_init (&it, l->streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    gst_element_send_event (((Stream *) value)->pipeline,
        gst_event_new_eos ());
  l->stop_timer = g_timeout_add (STOP_GRACE_MS, on_stop_timeout, l);
  maybe_quit (l);
  return G_SOURCE_CONTINUE;
}

static void
usage (void)
{
  g_printerr ("usage: zerobuffer launch [--from 'CMD'] -- 'PIPELINE TEMPLATE'\n"
      "  Reads lines from stdin, or from the output of CMD (run with\n"
      "  /bin/sh -c), and passes each one through to stdout.  For each\n"
      "  announce line\n"
      "    > {\"jsonrpc\":\"2.0\",\"method\":\"start-stream\","
      "\"params\":[\"NAME\",M,P]}\n"
      "  it runs the template with {name} replaced by NAME and {1}, {2}, ...\n"
      "  by the other params, e.g.\n"
      "    zerobuffer launch --from 'docker logs -f reader' -- \\\n"
      "      'v4l2src ! videoconvert ! video/x-raw,format=RGB ! zerosink "
      "buffer-name={name}'\n"
      "  One pipeline per stream, several at once; an announce for a name\n"
      "  already running restarts it.  Ends when the input has ended and\n"
      "  every pipeline has; Ctrl-C sends end of stream to every pipeline\n"
      "  (a second Ctrl-C stops them at once).  Announce lines that cannot\n"
      "  be used (not JSON, another method, a bad name) are reported on\n"
      "  stderr and launch nothing.  Exit status 0 when every pipeline\n"
      "  ended at end of stream or by Ctrl-C, 1 when one failed or could\n"
      "  not be built, 2 on bad usage.\n");
}

int
main (int argc, char **argv)
{
  Launcher l = { 0 };
  const gchar *from = NULL;
  int i, fd = 0, status;

  /* Our own options first: GStreamer's are not wanted here. */
  for (i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--")) {
      i++;
      break;
    }
    if (g_str_equal (argv[i], "--from") && i + 1 < argc) {
      from = argv[++i];
    } else if (g_str_has_prefix (argv[i], "--from=")) {
      from = argv[i] + strlen ("--from=");
    } else if (g_str_equal (argv[i], "-h") || g_str_equal (argv[i], "--help")) {
      usage ();
      return 0;
    } else {
      break;
    }
  }
  if (i != argc - 1 || argv[i][0] == '\0') {
    usage ();
    return 2;
  }
  l.template = argv[i];

  gst_init (NULL, NULL);
  if (from) {
    gchar *sh_argv[] = { (gchar *) "/bin/sh", (gchar *) "-c",
      (gchar *) from, NULL
    };
    GError *err = NULL;

    if (!g_spawn_async_with_pipes (NULL, sh_argv, NULL,
            G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &l.from_pid, NULL, &fd,
            NULL, &err)) {
      say ("cannot run --from '%s': %s", from, err->message);
      g_clear_error (&err);
      return 2;
    }
  }

  l.loop = g_main_loop_new (NULL, FALSE);
  l.streams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      stream_free);
  l.input = g_io_channel_unix_new (fd);
  g_io_channel_set_encoding (l.input, NULL, NULL);
  l.input_watch = g_io_add_watch (l.input, G_IO_IN | G_IO_HUP | G_IO_ERR,
      on_input, &l);
  g_unix_signal_add (SIGINT, on_signal, &l);
  g_unix_signal_add (SIGTERM, on_signal, &l);

  g_main_loop_run (l.loop);

  if (l.input_watch)
    g_source_remove (l.input_watch);
  g_io_channel_unref (l.input);
  g_hash_table_unref (l.streams);
  g_main_loop_unref (l.loop);
  if (l.from_pid > 0) {
    kill (l.from_pid, SIGTERM);
    waitpid (l.from_pid, &status, 0);
    g_spawn_close_pid (l.from_pid);
  }
  say ("%u launched, %u ended well, %u failed, %u announce line(s) refused",
      l.launched, l.ended_ok, l.ended_bad, l.rejected);
  gst_deinit ();
  return l.ended_bad == 0 ? 0 : 1;
}
