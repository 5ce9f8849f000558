/* zerobuffer ls / top: every buffer on the host, once or live.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * ls prints the view once; top refreshes it (every second by default)
 * with frames/s and MB/s per buffer, fitted to the terminal's width, and
 * quits on 'q' or Ctrl-C.  The terminal is put in raw mode only while top
 * runs on one, and restored on every way out (q, Ctrl-C, SIGTERM, SIGHUP,
 * --count reached).  Both take --json: ls prints one document, top one
 * document per refresh, each on its own line.
 */
#include "zerobuffer-tool.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ table */

typedef struct
{
  FILE *out;
  size_t width;                 /* 0: no limit */
  char line[4096];
  size_t len;
} table_out;

static void
cell (table_out * t, const char *fmt, ...) __attribute__ ((format (printf,
            2, 3)));

static void
cell (table_out * t, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (t->len >= sizeof t->line - 1)
    return;
  va_start (ap, fmt);
  n = vsnprintf (t->line + t->len, sizeof t->line - t->len, fmt, ap);
  va_end (ap);
  if (n > 0)
    t->len += (size_t) n < sizeof t->line - t->len ? (size_t) n :
        sizeof t->line - t->len - 1;
}

/* Ends a line: cut to the terminal's width, trailing blanks dropped. */
static void
end_line (table_out * t)
{
  size_t n = t->len;

  if (t->width && n > t->width)
    n = t->width;
  while (n > 0 && t->line[n - 1] == ' ')
    n--;
  fwrite (t->line, 1, n, t->out);
  /* In raw mode a bare \n would not return the carriage. */
  fputs (t->width ? "\033[K\r\n" : "\n", t->out);
  t->len = 0;
}

static void
peer_cell (char *out, size_t len, uint64_t pid, zb_peer_state s)
{
  if (pid == 0)
    snprintf (out, len, "-");
  else
    snprintf (out, len, "%" PRIu64 " %s", pid, s == ZB_PEER_ALIVE ? "alive"
        : "dead");
}

static void
render (FILE * out, const tool_view * v, int with_rates, size_t width,
    size_t max_rows)
{
  table_out t = { out, width, "", 0 };
  int name_w = 4, type_w = 4;
  size_t i, rows = v->n;

  for (i = 0; i < v->n; i++) {
    int n = (int) strlen (v->v[i].name);

    if (n > name_w)
      name_w = n;
    n = v->v[i].is_json ? (int) strlen (v->v[i].meta_type) : 1;
    if (n > type_w)
      type_w = n;
  }
  if (name_w > 64)
    name_w = 64;
  if (type_w > 24)
    type_w = 24;

  /* What an operator looks at first comes first: a narrow terminal cuts
   * from the right. */
  cell (&t, "%-*s %6s %-8s", name_w, "NAME", "USED", "HEALTH");
  if (with_rates)
    cell (&t, " %9s %9s", "FPS", "MB/S");
  cell (&t, " %-13s %-13s %10s %10s %7s %7s %-5s %-*s %s", "WRITER",
      "READER", "WRITTEN", "READ", "PAYLOAD", "META", "STALE", type_w, "TYPE",
      "CAPS");
  end_line (&t);

  if (max_rows && rows > max_rows)
    rows = max_rows - 1;        /* the last row says how many are hidden */
  for (i = 0; i < rows; i++) {
    const tool_buffer *b = &v->v[i];
    char name[ZB_NAME_MAX + 1], pay[16], meta[16], w[40], r[40], used[16];
    char type[64], caps[1024];

    tool_printable (name, sizeof name, b->name);
    tool_human_size (pay, sizeof pay, b->info.payload_size);
    tool_human_size (meta, sizeof meta, b->info.metadata_size);
    peer_cell (w, sizeof w, b->info.writer_pid, b->info.writer_state);
    peer_cell (r, sizeof r, b->info.reader_pid, b->info.reader_state);
    if (b->used_percent < 0)
      snprintf (used, sizeof used, "?");
    else
      snprintf (used, sizeof used, "%.1f%%", b->used_percent);
    if (b->is_json && b->meta_type[0])
      tool_printable (type, sizeof type, b->meta_type);
    else
      snprintf (type, sizeof type, b->has_metadata ? "?" : "-");
    if (b->is_json && b->caps[0])
      tool_printable (caps, sizeof caps, b->caps);
    else if (b->has_metadata)
      snprintf (caps, sizeof caps, "(%zu bytes of metadata, not GStreamer "
          "JSON)", b->meta_len);
    else
      snprintf (caps, sizeof caps, "-");
    cell (&t, "%-*.*s %6s %-8s", name_w, name_w, name, used, b->health);
    if (with_rates) {
      if (b->have_rates)
        cell (&t, " %9.1f %9.2f", b->frames_per_s, b->mb_per_s);
      else
        cell (&t, " %9s %9s", "-", "-");
    }
    cell (&t, " %-13s %-13s %10" PRIu64 " %10" PRIu64 " %7s %7s %-5s %-*.*s %s",
        w, r, b->info.payload_written_count, b->info.payload_read_count, pay,
        meta, b->stale ? "stale" : "-", type_w, type_w, type, caps);
    end_line (&t);
  }
  if (rows < v->n) {
    cell (&t, "... %zu more", v->n - rows);
    end_line (&t);
  }
}

static void
json_view (FILE * out, const tool_view * v, int with_rates, double interval)
{
  size_t i;

  fputc ('{', out);
  if (with_rates) {
    struct timespec ts;

    clock_gettime (CLOCK_REALTIME, &ts);
    fprintf (out, "\"time\":%.3f,\"interval_s\":%.3f,", (double) ts.tv_sec
        + ts.tv_nsec / 1e9, interval);
  }
  fputs ("\"buffers\":[", out);
  for (i = 0; i < v->n; i++) {
    if (i)
      fputc (',', out);
    tool_json_buffer (out, &v->v[i], with_rates);
  }
  fputs ("]}\n", out);
  fflush (out);
}

/* --------------------------------------------------------------- ls */

int
cmd_ls (int argc, char **argv)
{
  static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  tool_view v;
  int c, json = 0;

  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case 'j':
        json = 1;
        break;
      case 'h':
        printf ("usage: zerobuffer ls [--json]\n"
            "  Every ZeroBuffer buffer on this host (/dev/shm objects with a "
            "valid v1\n"
            "  header): sizes, writer and reader pid and whether each is "
            "alive, ring\n"
            "  utilization and health (Healthy < 80 %%, Degraded 80-95 %%, "
            "Critical\n"
            "  > 95 %%), frames written and read, the metadata's type and "
            "caps when it\n"
            "  is GStreamer JSON, and 'stale' for what `zerobuffer clean` "
            "would remove.\n"
            "  --json  one JSON document: {\"buffers\": [...]}\n");
        return 0;
      default:
        return TOOL_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    fprintf (stderr, "zerobuffer ls: unexpected argument '%s' (try "
        "'zerobuffer ls --help')\n", argv[optind]);
    return TOOL_EXIT_USAGE;
  }
  if (tool_view_take (&v) < 0) {
    fprintf (stderr, "zerobuffer ls: cannot list /dev/shm: %s\n",
        strerror (errno));
    return TOOL_EXIT_FAIL;
  }
  if (json)
    json_view (stdout, &v, 0, 0);
  else
    render (stdout, &v, 0, 0, 0);
  tool_view_free (&v);
  return 0;
}

/* -------------------------------------------------------------- top */

static volatile sig_atomic_t top_quit, top_resized;
static struct termios saved_tio;
static int tio_saved, screen_on;

static void
on_quit_signal (int sig)
{
  top_quit = sig;
}

static void
on_winch (int sig)
{
  (void) sig;
  top_resized = 1;
}

static void
term_restore (void)
{
  if (screen_on) {
    /* cursor back, leave the alternate screen */
    fputs ("\033[?25h\033[?1049l", stdout);
    fflush (stdout);
    screen_on = 0;
  }
  if (tio_saved) {
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_tio);
    tio_saved = 0;
  }
}

static void
term_raw (void)
{
  struct termios raw;

  if (tcgetattr (STDIN_FILENO, &saved_tio) < 0)
    return;
  raw = saved_tio;
  /* Keys one at a time, unechoed; Ctrl-C arrives as a byte.  Output
   * processing stays, the table ends its lines with \r\n anyway. */
  raw.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
  raw.c_iflag &= ~(IXON | ICRNL);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr (STDIN_FILENO, TCSAFLUSH, &raw) == 0)
    tio_saved = 1;
}

static size_t
term_size (size_t *rows)
{
  struct winsize ws;

  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    *rows = ws.ws_row;
    return ws.ws_col;
  }
  *rows = 24;
  return 80;
}

static int64_t
mono_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Ring bytes the writer moved from (pos0, count0) to (pos1, count1): the
 * way forward round the ring, plus whole laps when the frames counted
 * meanwhile (each at least a 16-byte header and 1 byte) need more room. */
static uint64_t
ring_bytes (uint64_t P, uint64_t pos0, uint64_t count0, uint64_t pos1,
    uint64_t count1)
{
  uint64_t d, frames, least;

  if (P == 0)
    return 0;
  pos0 %= P;
  pos1 %= P;
  d = pos1 >= pos0 ? pos1 - pos0 : P - pos0 + pos1;
  frames = count1 >= count0 ? count1 - count0 : 0;
  least = frames > UINT64_MAX / 17 ? UINT64_MAX : frames * 17;
  if (d < least)
    d += (least - d + P - 1) / P * P;
  return d;
}

/* A sample between refreshes: count what each writer moved since. */
static void
sample (tool_view * v)
{
  size_t i;

  for (i = 0; i < v->n; i++) {
    tool_buffer *b = &v->v[i];
    zb_info now;

    if (zb_inspect (b->name, &now) != ZB_OK
        || now.payload_size != b->info.payload_size
        || now.reader_pid != b->info.reader_pid)
      continue;
    b->bytes_acc += ring_bytes (now.payload_size, b->sample_pos,
        b->sample_count, now.payload_write_pos, now.payload_written_count);
    b->sample_pos = now.payload_write_pos;
    b->sample_count = now.payload_written_count;
  }
}

/* Rates of cur against prev, taken dt_s apart. */
static void
rates (tool_view * cur, const tool_view * prev, double dt_s)
{
  size_t i, j;

  for (i = 0; i < cur->n; i++) {
    tool_buffer *b = &cur->v[i];

    for (j = 0; j < prev->n; j++) {
      const tool_buffer *p = &prev->v[j];
      uint64_t frames, bytes;

      if (strcmp (p->name, b->name) != 0)
        continue;
      if (p->info.payload_size != b->info.payload_size
          || p->info.reader_pid != b->info.reader_pid || dt_s <= 0)
        break;                  /* made anew: no rate yet */
      frames = b->info.payload_written_count >= p->info.payload_written_count
          ? b->info.payload_written_count - p->info.payload_written_count : 0;
      bytes = p->bytes_acc + ring_bytes (b->info.payload_size, p->sample_pos,
          p->sample_count, b->info.payload_write_pos,
          b->info.payload_written_count);
      b->frames_per_s = (double) frames / dt_s;
      b->mb_per_s = (double) bytes / dt_s / 1e6;
      b->have_rates = 1;
      break;
    }
  }
}

static int
parse_seconds (const char *text, double *out)
{
  char *end;
  double v = strtod (text, &end);

  if (end == text || *end != '\0' || !(v >= 0.1) || v > 3600)
    return -1;
  *out = v;
  return 0;
}

int
cmd_top (int argc, char **argv)
{
  static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'},
    {"count", required_argument, NULL, 'n'},
    {"interval", required_argument, NULL, 'i'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  tool_view prev = { NULL, 0 }, cur = { NULL, 0 };
  double interval = 1.0;
  unsigned long long count = 0, done = 0;
  int c, json = 0, keys, screen, rc = 0;
  int64_t t_prev = 0;
  struct sigaction sa;

  while ((c = getopt_long (argc, argv, "hn:i:", longopts, NULL)) != -1) {
    switch (c) {
      case 'j':
        json = 1;
        break;
      case 'n':{
        char *end;

        count = strtoull (optarg, &end, 10);
        if (end == optarg || *end != '\0' || count == 0) {
          fprintf (stderr, "zerobuffer top: --count needs a number >= 1, "
              "not '%s'\n", optarg);
          return TOOL_EXIT_USAGE;
        }
        break;
      }
      case 'i':
        if (parse_seconds (optarg, &interval) < 0) {
          fprintf (stderr, "zerobuffer top: --interval needs seconds "
              "between 0.1 and 3600, not '%s'\n", optarg);
          return TOOL_EXIT_USAGE;
        }
        break;
      case 'h':
        printf ("usage: zerobuffer top [--json] [--count N] [--interval S]\n"
            "  The view of `zerobuffer ls`, refreshed every S seconds "
            "(default 1) with\n"
            "  frames/s and MB/s (10^6 ring bytes, headers included) per "
            "buffer since\n"
            "  the previous refresh, fitted to the terminal.  q or Ctrl-C "
            "quits.\n"
            "  --json     one JSON document per refresh, one per line:\n"
            "             {\"time\": ..., \"interval_s\": ..., \"buffers\": "
            "[...]}\n"
            "  --count N  stop after N refreshes (default: until q, Ctrl-C "
            "or SIGTERM)\n");
        return 0;
      default:
        return TOOL_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    fprintf (stderr, "zerobuffer top: unexpected argument '%s' (try "
        "'zerobuffer top --help')\n", argv[optind]);
    return TOOL_EXIT_USAGE;
  }

  memset (&sa, 0, sizeof sa);
  sigemptyset (&sa.sa_mask);
  sa.sa_handler = on_quit_signal;      /* no SA_RESTART: poll wakes up */
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  sigaction (SIGQUIT, &sa, NULL);
  sa.sa_handler = on_winch;
  sigaction (SIGWINCH, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  keys = isatty (STDIN_FILENO);
  screen = !json && isatty (STDOUT_FILENO);
  atexit (term_restore);
  if (keys)
    term_raw ();
  if (screen) {
    /* alternate screen, cursor hidden */
    fputs ("\033[?1049h\033[?25l", stdout);
    screen_on = 1;
  }

  while (!top_quit) {
    int64_t now, next;

    if (tool_view_take (&cur) < 0) {
      term_restore ();
      fprintf (stderr, "zerobuffer top: cannot list /dev/shm: %s\n",
          strerror (errno));
      rc = TOOL_EXIT_FAIL;
      break;
    }
    now = mono_ns ();
    if (t_prev)
      rates (&cur, &prev, (double) (now - t_prev) / 1e9);
    t_prev = now;
    tool_view_free (&prev);
    prev = cur;
    cur.v = NULL;
    cur.n = 0;

    if (json) {
      json_view (stdout, &prev, 1, interval);
    } else if (screen) {
      size_t rows, cols = term_size (&rows);
      table_out t = { stdout, cols, "", 0 };
      struct timespec ts;
      struct tm tm;
      char when[32] = "";

      clock_gettime (CLOCK_REALTIME, &ts);
      if (localtime_r (&ts.tv_sec, &tm))
        strftime (when, sizeof when, "%H:%M:%S", &tm);
      fputs ("\033[H", stdout);
      cell (&t, "zerobuffer top - %s - %zu buffer%s, every %.1f s - q quits",
          when, prev.n, prev.n == 1 ? "" : "s", interval);
      end_line (&t);
      /* title, header and rows, each ending in a newline: one row less
       * than the screen, or the last newline would scroll the title away */
      render (stdout, &prev, 1, cols, rows > 4 ? rows - 3 : 1);
      fputs ("\033[J", stdout);         /* clear what is left below */
      fflush (stdout);
    } else {
      render (stdout, &prev, 1, 0, 0);
      fputc ('\n', stdout);
      fflush (stdout);
    }
    if (count && ++done >= count)
      break;

    /* Until the next refresh: keys, signals, and a sample every 100 ms. */
    next = t_prev + (int64_t) (interval * 1e9);
    while (!top_quit && (now = mono_ns ()) < next) {
      struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
      int64_t left_ms = (next - now + 999999) / 1000000;
      int slice = left_ms < 100 ? (int) left_ms : 100;

      if (keys) {
        if (poll (&pfd, 1, slice) > 0 && (pfd.revents & POLLIN)) {
          char k[32];
          ssize_t n = read (STDIN_FILENO, k, sizeof k), i;

          for (i = 0; i < n; i++)
            if (k[i] == 'q' || k[i] == 'Q' || k[i] == 3 || k[i] == 4)
              top_quit = SIGINT;
        }
      } else {
        poll (NULL, 0, slice);
      }
      if (top_resized && screen) {
        top_resized = 0;
        break;                  /* refresh at once, in the new size */
      }
      sample (&prev);
    }
  }
  tool_view_free (&prev);
  tool_view_free (&cur);
  term_restore ();
  if (rc)
    return rc;
  /* A quit by key or SIGINT is the way out: 0; SIGTERM/SIGHUP as usual. */
  if (top_quit == SIGTERM || top_quit == SIGHUP || top_quit == SIGQUIT)
    return 128 + (int) top_quit;
  return 0;
}
