/* The shared-memory layout byte by byte, the kernel objects a reader creates,
 * their permissions, and their removal; the wire arithmetic the library
 * offers (frame footprint, ring and mapping sizes) against all of that.
 *
 * "other-user" runs only the cross-user check, which needs root and a
 * switch to uid 65534: without them it is a skip (77), not a pass.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "zbtest.h"

static unsigned int
mode_of (const char *path)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return 0xffffffffu;
  return st.st_mode & 07777;
}

/* Every object of name has exactly mode want. */
static void
check_modes (const char *name, unsigned int want)
{
  char p[512];
  unsigned int m;

  zbt_path_shm (p, sizeof p, name);
  m = mode_of (p);
  if (m != want) {
    fprintf (stderr, "%s: mode %04o, want %04o\n", p, m, want);
    CHECK (0);
  }
  zbt_path_sem (p, sizeof p, 'w', name);
  m = mode_of (p);
  if (m != want) {
    fprintf (stderr, "%s: mode %04o, want %04o\n", p, m, want);
    CHECK (0);
  }
  zbt_path_sem (p, sizeof p, 'r', name);
  m = mode_of (p);
  if (m != want) {
    fprintf (stderr, "%s: mode %04o, want %04o\n", p, m, want);
    CHECK (0);
  }
  zbt_path_lock (p, sizeof p, name);
  m = mode_of (p);
  if (m != want) {
    fprintf (stderr, "%s: mode %04o, want %04o\n", p, m, want);
    CHECK (0);
  }
}

/* Is byte `byte` of the shm held by an OFD lock of someone else? */
static int
ofd_locked (int fd, int byte)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  if (fcntl (fd, F_OFD_GETLK, &fl) < 0)
    return -1;
  return fl.l_type != F_UNLCK;
}

static void
test_layout (void)
{
  zb_reader_options opts = { 100, 1000, 0 };
  zb_reader *r = NULL;
  zb_writer *w = NULL;
  zbt_shm m;
  zb_info info;
  zb_reader_stats rs;
  char name[64], p[512];
  struct stat st;
  int i;

  zbt_name (name, sizeof name, "layout");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  REQUIRE (r != NULL);
  CHECK (zbt_all_exist (name));

  zbt_path_shm (p, sizeof p, name);
  REQUIRE (stat (p, &st) == 0);
  /* 128 OIEB + 100 -> 128 metadata + 1000 -> 1024 payload. */
  CHECK_EQ (st.st_size, 128 + 128 + 1024);

  REQUIRE (zbt_shm_map (name, &m) == 0);
  CHECK_EQ (zbt_le32 (m.base + OFF_OIEB_SIZE), 128);
  CHECK_EQ (m.base[4], 1);
  CHECK_EQ (m.base[5], 0);
  CHECK_EQ (m.base[6], 0);
  CHECK_EQ (m.base[7], 0);
  CHECK_EQ (zbt_get (&m, OFF_META_SIZE), 128);
  /* Upstream readers initialise metadata_free_bytes to M. */
  CHECK_EQ (zbt_get (&m, OFF_META_FREE), 128);
  CHECK_EQ (zbt_get (&m, OFF_META_WRITTEN), 0);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_SIZE), 1024);
  CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), 1024);
  CHECK_EQ (zbt_get (&m, OFF_WRITE_POS), 0);
  CHECK_EQ (zbt_get (&m, OFF_READ_POS), 0);
  CHECK_EQ (zbt_get (&m, OFF_WRITTEN_COUNT), 0);
  CHECK_EQ (zbt_get (&m, OFF_READ_COUNT), 0);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), 0);
  CHECK_EQ (zbt_get (&m, OFF_READER_PID), getpid ());
  for (i = OFF_RESERVED; i < 128; i++)
    CHECK_EQ (m.base[i], 0);

  /* Liveness locks: the reader holds OFD byte 0, nobody byte 1. */
  CHECK_EQ (ofd_locked (m.fd, 0), 1);
  CHECK_EQ (ofd_locked (m.fd, 1), 0);
  /* Upstream peers look at the lock file, held with flock by the reader. */
  {
    int fd;

    zbt_path_lock (p, sizeof p, name);
    fd = open (p, O_RDONLY);
    CHECK (fd >= 0);
    if (fd >= 0) {
      CHECK (flock (fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
      close (fd);
    }
  }

  /* zb_inspect agrees with the raw bytes and attaches to nothing. */
  CHECK_RC (zb_inspect (name, &info), 0);
  CHECK_EQ (info.oieb_size, 128);
  CHECK_EQ (info.version[0], 1);
  CHECK_EQ (info.metadata_size, 128);
  CHECK_EQ (info.payload_size, 1024);
  CHECK_EQ (info.payload_free_bytes, 1024);
  CHECK_EQ (info.reader_pid, getpid ());
  CHECK_EQ (info.writer_pid, 0);
  CHECK_EQ (info.reader_state, ZB_PEER_ALIVE);
  CHECK_EQ (info.writer_state, ZB_PEER_NONE);
  CHECK_EQ (info.mapping_size, 1280);

  zb_reader_get_stats (r, &rs);
  CHECK_EQ (rs.payload_size, 1024);
  CHECK_EQ (rs.metadata_size, 128);
  CHECK_EQ (rs.free_bytes, 1024);
  CHECK_EQ (rs.frames, 0);
  CHECK_EQ (rs.held, 0);
  CHECK (strcmp (zb_reader_name (r), name) == 0);

  /* A writer records its pid and takes OFD byte 1; it leaves both on close. */
  REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), getpid ());
  CHECK_EQ (ofd_locked (m.fd, 1), 1);
  CHECK_RC (zb_inspect (name, &info), 0);
  CHECK_EQ (info.writer_state, ZB_PEER_ALIVE);
  CHECK_EQ (info.writer_pid, getpid ());
  CHECK (strcmp (zb_writer_name (w), name) == 0);
  {
    zb_writer_stats ws;

    zb_writer_get_stats (w, &ws);
    CHECK_EQ (ws.payload_size, 1024);
    CHECK_EQ (ws.metadata_size, 128);
    CHECK_EQ (ws.frames, 0);
  }
  zb_writer_close (w);
  CHECK_EQ (zbt_get (&m, OFF_WRITER_PID), 0);
  CHECK_EQ (ofd_locked (m.fd, 1), 0);
  /* The writer creates and removes nothing. */
  CHECK (zbt_all_exist (name));

  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  /* The reader leaves reader_pid = 0 behind for a writer still mapped. */
  CHECK_EQ (zbt_get (&m, OFF_READER_PID), 0);
  zbt_shm_unmap (&m);
  CHECK_RC (zb_inspect (name, &info), ZB_ENOTFOUND);
}

static void
test_sizes (void)
{
  static const struct
  {
    uint64_t M, P, total;
  } cases[] = {
    {0, 1, 128 + 64},
    {0, 64, 128 + 64},
    {1, 65, 128 + 64 + 128},
    {64, 4096, 128 + 64 + 4096},
    {65, 4097, 128 + 128 + 4160},
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    zb_reader_options opts = { cases[i].M, cases[i].P, 0 };
    zb_reader *r = NULL;
    char name[64], p[512];
    struct stat st;
    zbt_shm m;

    zbt_name (name, sizeof name, "layout");
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    if (!r)
      continue;
    zbt_path_shm (p, sizeof p, name);
    CHECK (stat (p, &st) == 0);
    CHECK_EQ (st.st_size, cases[i].total);
    if (zbt_shm_map (name, &m) == 0) {
      CHECK_EQ (zbt_get (&m, OFF_META_SIZE), (cases[i].M + 63) / 64 * 64);
      CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_SIZE), (cases[i].P + 63) / 64 * 64);
      CHECK_EQ (zbt_get (&m, OFF_PAYLOAD_FREE), (cases[i].P + 63) / 64 * 64);
      zbt_shm_unmap (&m);
    } else
      CHECK (0);
    zb_reader_close (r);
    CHECK (zbt_all_gone (name));
  }
}

static void
test_modes (void)
{
  static const mode_t umasks[] = { 0, 077, 022 };
  size_t i;
  mode_t old = umask (0);

  for (i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
    zb_reader_options opts = { 64, 4096, 0 };
    zb_reader *r = NULL;
    char name[64];

    umask (umasks[i]);
    zbt_name (name, sizeof name, "layout");
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    if (r) {
      check_modes (name, 0600);
      zb_reader_close (r);
    }
    CHECK (zbt_all_gone (name));

    opts.mode = 0640;
    zbt_name (name, sizeof name, "layout");
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    if (r) {
      check_modes (name, 0640);
      zb_reader_close (r);
    }
    CHECK (zbt_all_gone (name));

    opts.mode = 0666;
    zbt_name (name, sizeof name, "layout");
    CHECK_RC (zb_reader_create (&r, name, &opts), 0);
    if (r) {
      check_modes (name, 0666);
      zb_reader_close (r);
    }
    CHECK (zbt_all_gone (name));
  }
  umask (old);
}

/* Another user is kept out by the default 0600 and let in by 0666.  The
 * status of zb_writer_open() as uid 65534, or 1000 if the child could not
 * become that user. */
static int
open_as_nobody (const char *name)
{
  pid_t pid;
  int status;

  pid = fork ();
  if (pid == 0) {
    zb_writer *w = NULL;
    int rc;

    if (setgid (65534) < 0 || setuid (65534) < 0)
      _exit (100);
    rc = zb_writer_open (&w, name, 0);
    if (rc == 0)
      zb_writer_close (w);
    _exit (rc == 0 ? 0 : -rc);
  }
  if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
    return 1000;
  return WEXITSTATUS (status) == 100 ? 1000 : -WEXITSTATUS (status);
}

/* Returns 77 when this machine cannot run it. */
static int
test_other_user (void)
{
  zb_reader_options opts = { 64, 4096, 0 };
  zb_reader *r = NULL;
  char name[64];
  int rc;

  if (geteuid () != 0) {
    printf ("SKIP: not root, cannot act as another user\n");
    return 77;
  }
  zbt_name (name, sizeof name, "layout");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  rc = open_as_nobody (name);
  if (rc == 1000) {
    zb_reader_close (r);
    printf ("SKIP: cannot switch to uid 65534\n");
    return 77;
  }
  CHECK_RC (rc, ZB_EPERM);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));

  opts.mode = 0666;
  zbt_name (name, sizeof name, "layout");
  REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
  CHECK_RC (open_as_nobody (name), 0);
  zb_reader_close (r);
  CHECK (zbt_all_gone (name));
  return 0;
}

/* zb_frame_footprint(), zb_ring_size_for_frame() and zb_mapping_size():
 * their values, their saturation, and agreement with what a reader creates
 * and with zb_writer_max_frame_size() for every ring size. */
static void
test_wire_arithmetic (void)
{
  const uint64_t MAX = UINT64_MAX;
  uint64_t P;
  static uint8_t buf[4096];
  zbt_fake f;
  char name[64];

  CHECK_EQ (zb_frame_footprint (0), 16);
  CHECK_EQ (zb_frame_footprint (1), 17);
  CHECK_EQ (zb_frame_footprint (4096), 4112);
  CHECK_EQ (zb_frame_footprint (MAX - 16), MAX);
  CHECK_EQ (zb_frame_footprint (MAX - 17), MAX - 1);
  CHECK_EQ (zb_frame_footprint (MAX), MAX);

  CHECK_EQ (zb_ring_size_for_frame (1), 49);
  CHECK_EQ (zb_ring_size_for_frame (100), 2 * 116 + 15);
  CHECK_EQ (zb_ring_size_for_frame ((1ull << 63) - 24), MAX);
  CHECK_EQ (zb_ring_size_for_frame ((1ull << 63) - 25), MAX - 2);
  CHECK_EQ (zb_ring_size_for_frame (1ull << 63), MAX);
  CHECK_EQ (zb_ring_size_for_frame (MAX), MAX);

  CHECK_EQ (zb_mapping_size (0, 1), 128 + 64);
  CHECK_EQ (zb_mapping_size (1, 65), 128 + 64 + 128);
  CHECK_EQ (zb_mapping_size (64, 4096), 128 + 64 + 4096);
  CHECK_EQ (zb_mapping_size (65, 4097), 128 + 128 + 4160);
  CHECK_EQ (zb_mapping_size (MAX, 0), MAX);
  CHECK_EQ (zb_mapping_size (0, MAX - 63), MAX);
  CHECK_EQ (zb_mapping_size (MAX / 2, MAX / 2), MAX);
  CHECK_EQ (zb_mapping_size (0, MAX - 64 - 127), MAX - 127 + 128 - 64);

  /* Our readers: every ring size up to 4 KiB and a few large ones.  The
   * largest frame accepted is the largest whose ring size fits, it can be
   * written into an empty ring, and one byte more is refused at once. */
  for (P = 64; P <= 4096 + 3 * 1048576; P += P < 4096 ? 64 : 1048576) {
    zb_reader_options opts = { 100, P, 0 };
    zb_reader *r = NULL;
    zb_writer *w = NULL;
    zb_info info;
    zb_frame fr;
    size_t max;

    zbt_name (name, sizeof name, "layout");
    REQUIRE_RC (zb_reader_create (&r, name, &opts), 0);
    CHECK_RC (zb_inspect (name, &info), 0);
    CHECK_EQ (info.mapping_size, zb_mapping_size (100, P));
    REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
    max = zb_writer_max_frame_size (w);
    CHECK (max > 0);
    CHECK (zb_ring_size_for_frame (max) <= P);
    CHECK (zb_ring_size_for_frame (max + 1) > P);
    if (max < sizeof buf) {
      CHECK_RC (zb_writer_write (w, buf, max + 1, 0), ZB_ETOOLARGE);
      CHECK_RC (zb_writer_write (w, buf, max, 0), 0);
      CHECK_RC (zb_reader_acquire (r, &fr, 1000), 0);
      CHECK_EQ (fr.size, max);
      CHECK_RC (zb_reader_release (r, &fr), 0);
    }
    zb_writer_close (w);
    zb_reader_close (r);
    CHECK (zbt_all_gone (name));
  }

  /* Rings of any size, as an upstream reader might make them: the same
   * relation, and no frame at all below 49 bytes. */
  zbt_name (name, sizeof name, "layout");
  REQUIRE (zbt_fake_shm (&f, name, 128 + 64 + 300) == 0);
  REQUIRE (zbt_fake_sems (&f) == 0);
  for (P = 32; P <= 300; P++) {
    zb_writer *w = NULL;
    size_t max;

    zbt_fake_oieb (&f, 128, 1, 0, 64, P, getpid ());
    REQUIRE_RC (zb_writer_open (&w, name, 1000), 0);
    max = zb_writer_max_frame_size (w);
    if (max > 0)
      CHECK (zb_ring_size_for_frame (max) <= P);
    CHECK (zb_ring_size_for_frame (max + 1) > P);
    CHECK_EQ (max > 0, P >= 49);
    zb_writer_close (w);
  }
  zbt_fake_destroy (&f);
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "other-user") == 0) {
    int rc = test_other_user ();

    return rc == 77 && atomic_load (&zbt_failures) == 0 ? 77 : zbt_result ();
  }
  if (argc != 1) {
    fprintf (stderr, "usage: %s [other-user]\n", argv[0]);
    return 1;
  }
  test_layout ();
  test_sizes ();
  test_wire_arithmetic ();
  test_modes ();
  return zbt_result ();
}
