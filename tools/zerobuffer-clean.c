/* zerobuffer clean: remove what readers that died left behind.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rule is the library's (zb_clean_stale(), docs/library.md "Stale
 * buffers"), with ZB_CLEAN_UNMARKED: buffers whose reader left no mark of
 * ours are removed too when /proc proves that no process uses them.
 * Output, one line per buffer:
 *   removed: NAME (why)         would remove: NAME (why)    with --dry-run
 *   failed: NAME (why)          kept: NAME (why)            with --verbose
 * then "summary: removed=N kept=N failed=N" ("would_remove=N" with
 * --dry-run).  Exit 0 unless a removal failed or a NAME given is no buffer.
 */
#include "zerobuffer-tool.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

typedef struct
{
  int dry_run, verbose;
  unsigned int removed, kept, failed;
} clean_state;

static void
report (const zb_stale_info * si, void *user)
{
  clean_state *st = user;
  char name[ZB_NAME_MAX + 1];

  tool_printable (name, sizeof name, si->name);
  if (si->status != ZB_OK) {
    st->failed++;
    printf ("failed: %s (%s: %s)\n", name, zb_status_name (si->status),
        si->reason);
  } else if (si->stale && (si->removed || st->dry_run)) {
    st->removed++;
    printf ("%s: %s (%s)\n", st->dry_run ? "would remove" : "removed", name,
        si->reason);
  } else {
    st->kept++;
    if (st->verbose)
      printf ("kept: %s (%s)\n", name, si->reason);
  }
}

int
cmd_clean (int argc, char **argv)
{
  static const struct option longopts[] = {
    {"dry-run", no_argument, NULL, 'n'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  clean_state st;
  unsigned int flags = ZB_CLEAN_UNMARKED;
  int c, rc = 0;

  memset (&st, 0, sizeof st);
  while ((c = getopt_long (argc, argv, "nvh", longopts, NULL)) != -1) {
    switch (c) {
      case 'n':
        st.dry_run = 1;
        break;
      case 'v':
        st.verbose = 1;
        break;
      case 'h':
        printf ("usage: zerobuffer clean [--dry-run] [--verbose] [NAME...]\n"
            "  Remove stale buffers: those whose reader died (SIGKILL, an "
            "uncaught\n"
            "  SIGTERM) and that nothing uses any more, with their "
            "semaphores and lock\n"
            "  file.  Only what is proven stale goes (see docs/tools.md); "
            "live buffers,\n"
            "  buffers being created and buffers whose reader cannot be "
            "proven dead stay.\n"
            "  Without NAME, every buffer in /dev/shm is examined.\n"
            "  --dry-run  say what would be removed, remove nothing\n"
            "  --verbose  also say why each buffer kept was kept\n");
        return 0;
      default:
        return TOOL_EXIT_USAGE;
    }
  }
  if (st.dry_run)
    flags |= ZB_CLEAN_DRY_RUN;

  if (optind < argc) {
    for (; optind < argc; optind++) {
      zb_stale_info si;
      int r = zb_clean_buffer (argv[optind], flags, &si);

      if (r < 0) {
        fprintf (stderr, "zerobuffer clean: %s: %s (%s): %s\n", argv[optind],
            zb_strerror (r), zb_status_name (r), zb_last_error ());
        rc = TOOL_EXIT_FAIL;
        continue;
      }
      report (&si, &st);
    }
  } else {
    int r = zb_clean_stale (flags, report, &st);

    if (r < 0) {
      fprintf (stderr, "zerobuffer clean: %s (%s): %s\n", zb_strerror (r),
          zb_status_name (r), zb_last_error ());
      return TOOL_EXIT_FAIL;
    }
  }
  printf ("summary: %s=%u kept=%u failed=%u\n", st.dry_run ? "would_remove" :
      "removed", st.removed, st.kept, st.failed);
  if (st.failed)
    rc = TOOL_EXIT_FAIL;
  return rc;
}
