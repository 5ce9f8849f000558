/* Quirk 7: a too-small /dev/shm is ZB_ENOSPC at create, never SIGBUS later,
 * and a failed create leaves nothing behind.
 *
 * "small-devshm" runs only the small-/dev/shm part, which needs root: it
 * runs in a private mount namespace with a 1 MiB tmpfs on /dev/shm, and is
 * a skip (77) when that is not possible; the huge-size part always runs.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>

/* Sizes no /dev/shm here can hold, or no size_t can: a clear error. */
static void
test_huge (void)
{
  static const uint64_t sizes[] = {
    1ull << 40,                 /* 1 TiB */
    (1ull << 46),
    (1ull << 62),
    UINT64_MAX - 10,            /* rounding up would overflow */
  };
  size_t i;

  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    zb_reader_options opts = { 64, sizes[i], 0 };
    zb_reader *r = NULL;
    char name[64];
    double t0 = zbt_now_ms ();
    int rc;

    zbt_name (name, sizeof name, "enospc");
    rc = zb_reader_create (&r, name, &opts);
    zbt_note ("payload %" PRIu64 ": %s (%s) in %.0f ms", sizes[i],
        zb_status_name (rc), zb_last_error (), zbt_now_ms () - t0);
    CHECK (rc == ZB_ENOSPC || rc == ZB_EINVAL || rc == ZB_ENOMEM);
    if (sizes[i] == 1ull << 40)
      CHECK_RC (rc, ZB_ENOSPC);
    CHECK (r == NULL);
    CHECK (zbt_all_gone (name));
    if (r)
      zb_reader_close (r);
  }
  /* A huge metadata block too. */
  {
    zb_reader_options opts = { 1ull << 40, 4096, 0 };
    zb_reader *r = NULL;
    char name[64];
    int rc;

    zbt_name (name, sizeof name, "enospc");
    rc = zb_reader_create (&r, name, &opts);
    CHECK (rc == ZB_ENOSPC || rc == ZB_EINVAL);
    CHECK (zbt_all_gone (name));
  }
}

static int
dir_is_empty (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *e;
  int n = 0;

  if (!d)
    return -1;
  while ((e = readdir (d)) != NULL)
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
      fprintf (stderr, "  %s/%s\n", path, e->d_name);
      n++;
    }
  closedir (d);
  return n == 0;
}

/* Returns 1 if it ran, 0 if the environment does not allow it. */
static int
test_small_devshm (void)
{
  zb_reader_options opts = { 64, 4 << 20, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  char name[64];
  int rc;

  if (geteuid () != 0) {
    printf ("SKIP: not root: no private /dev/shm\n");
    return 0;
  }
  if (unshare (CLONE_NEWNS) < 0) {
    printf ("SKIP: unshare(CLONE_NEWNS): %s\n", strerror (errno));
    return 0;
  }
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
      || mount ("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
          "size=1m,mode=1777") < 0) {
    printf ("SKIP: cannot mount a small /dev/shm: %s\n", strerror (errno));
    return 0;
  }
  REQUIRE (dir_is_empty ("/dev/shm") == 1);

  /* 4 MiB of ring in 1 MiB: refused up front. */
  zbt_name (name, sizeof name, "enospc");
  rc = zb_reader_create (&r, name, &opts);
  zbt_note ("4 MiB ring in a 1 MiB /dev/shm: %s (%s)", zb_status_name (rc),
      zb_last_error ());
  CHECK_RC (rc, ZB_ENOSPC);
  CHECK (r == NULL);
  CHECK (dir_is_empty ("/dev/shm") == 1);
  CHECK (zbt_all_gone (name));

  /* Just too big: 1 MiB of ring plus header and semaphores. */
  opts.payload_size = 1 << 20;
  zbt_name (name, sizeof name, "enospc");
  CHECK_RC (zb_reader_create (&r, name, &opts), ZB_ENOSPC);
  CHECK (dir_is_empty ("/dev/shm") == 1);
  CHECK (zbt_all_gone (name));

  /* What fits works, and every page is really there: write the whole
   * ring (a SIGBUS here would kill the test). */
  opts.payload_size = 512 << 10;
  zbt_name (name, sizeof name, "enospc");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  /* A second buffer no longer fits. */
  {
    zb_reader *r2 = NULL;
    char name2[64];

    zbt_name (name2, sizeof name2, "enospc");
    CHECK_RC (zb_reader_create (&r2, name2, &opts), ZB_ENOSPC);
    CHECK (zbt_all_gone (name2));
  }
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  {
    size_t max = zb_writer_max_frame_size (w);
    uint8_t *buf = malloc (max);
    zb_frame f;
    int i;

    memset (buf, 0x33, max);
    for (i = 0; i < 8; i++) {
      CHECK_RC (zb_writer_write (w, buf, max, 1000), 0);
      CHECK_RC (zb_reader_acquire (r, &f, 1000), 0);
      CHECK_EQ (f.size, max);
      zb_reader_release (r, &f);
    }
    free (buf);
  }
  zb_writer_close (w);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  CHECK (dir_is_empty ("/dev/shm") == 1);
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "small-devshm") == 0) {
    if (!test_small_devshm () && atomic_load (&zbt_failures) == 0)
      return 77;
    return zbt_result ();
  }
  if (argc != 1) {
    fprintf (stderr, "usage: %s [small-devshm]\n", argv[0]);
    return 1;
  }
  test_huge ();
  return zbt_result ();
}
