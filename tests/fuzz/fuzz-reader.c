/* libFuzzer target: a real zb_reader against a hostile writer.
 *
 * Copyright (C) 2026 gst-zerobuffer authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each input creates a reader, maps the buffer a second time and then runs
 * as a program: the fuzzer plays the writer (anything from a well-behaved
 * upstream writer to one scribbling over the whole region) and calls the
 * reader API in between.  The shared memory is not ASan-instrumented, so
 * after every library call the target checks what the library did:
 *  - frames lie inside the reader's ring (bounds from the sizes we asked
 *    for, not from the header), follow each other in ring order, do not
 *    overlap a frame still held, and carry the next sequence number;
 *  - the reader changed no shared byte except payload_free_bytes,
 *    payload_read_pos, payload_read_count (and reader_pid at close), and
 *    returned exactly the bytes our model of its ring-order ledger says;
 *  - only documented status codes come back;
 *  - close removes every object.
 *
 * Input: one config byte (sizes), then ops; see the RD_* list.
 */
#include "fuzz-common.h"
#include "fuzz-ops.h"

#define MAX_HELD 256            /* past the ledger's first two growths */
#define MAX_LEDGER (2 * MAX_HELD + 4)
#define MAX_GONE 8

typedef struct
{
  zb_frame f;
  uint64_t off;                 /* of the header in the ring */
  uint64_t T;
} held_frame;

typedef struct
{
  uint64_t bytes;
  uint64_t ticket;              /* 0 for a wrap tail */
  int released;
} ledger_entry;

static struct
{
  zb_reader *r;
  char name[64];
  int fd;
  uint8_t *base;                /* our mapping */
  size_t size;
  uintptr_t rring;              /* the reader's ring, in its own mapping */
  uint64_t M, P;
  sem_t *sem_w;
  uint8_t *shadow;

  held_frame held[MAX_HELD];
  int nheld;
  zb_frame gone[MAX_GONE];      /* released frames, to release again */
  int ngone;
  ledger_entry ledger[MAX_LEDGER];
  int nledger;

  uint64_t next_off;            /* where the reader reads next */
  uint64_t read_count;
  uint64_t last_seq;
  uint64_t frames;
  int interrupted, closed, wlock;

  uint64_t hw_pos, hw_seq, hw_count;    /* the fake writer */
} S;

/* ------------------------------------------------------------ model */

/* Pop the oldest run of released entries; returns their bytes. */
static uint64_t
ledger_advance (void)
{
  uint64_t sum = 0;
  int n = 0;

  while (n < S.nledger && S.ledger[n].released)
    sum += S.ledger[n++].bytes;
  memmove (S.ledger, S.ledger + n, (size_t) (S.nledger - n) *
      sizeof S.ledger[0]);
  S.nledger -= n;
  return sum;
}

static uint64_t
ledger_outstanding (void)
{
  uint64_t sum = 0;
  int i;

  for (i = 0; i < S.nledger; i++)
    sum += S.ledger[i].bytes;
  return sum;
}

static void
ledger_push (uint64_t bytes, uint64_t ticket, int released)
{
  FZ_CHECK (S.nledger < MAX_LEDGER);
  S.ledger[S.nledger].bytes = bytes;
  S.ledger[S.nledger].ticket = ticket;
  S.ledger[S.nledger].released = released;
  S.nledger++;
}

/* ------------------------------------------------------ diff checks */

#define MAY_FREE 0x1
#define MAY_RPOS 0x2
#define MAY_RCOUNT 0x4
#define MAY_RPID 0x8

static void
snapshot (void)
{
  memcpy (S.shadow, S.base, S.size);
}

/* The reader may change only the listed OIEB words, never the metadata
 * block or the ring, and must have added exactly free_delta to the free
 * bytes. */
static void
check_changes (int may, uint64_t free_delta)
{
  size_t off;

  FZ_CHECK (memcmp (S.shadow + ZB_OIEB_SIZE, S.base + ZB_OIEB_SIZE,
          S.size - ZB_OIEB_SIZE) == 0);
  for (off = 0; off < ZB_OIEB_SIZE; off += 8) {
    if (memcmp (S.shadow + off, S.base + off, 8) == 0)
      continue;
    FZ_CHECK ((off == OFF_PAYLOAD_FREE && (may & MAY_FREE))
        || (off == OFF_READ_POS && (may & MAY_RPOS))
        || (off == OFF_READ_COUNT && (may & MAY_RCOUNT))
        || (off == OFF_READER_PID && (may & MAY_RPID)));
  }
  FZ_CHECK (fz_get64 (S.base, OFF_PAYLOAD_FREE)
      - fz_get64 (S.shadow, OFF_PAYLOAD_FREE) == free_delta);
}

/* ------------------------------------------------------- reader ops */

static void
release_at (int k)
{
  held_frame h = S.held[k];
  uint64_t delta;
  int i, rc;

  snapshot ();
  rc = zb_reader_release (S.r, &h.f);
  FZ_TRACE ("release seq %llu -> %s\n",
      (unsigned long long) h.f.sequence, zb_status_name (rc));
  FZ_CHECK (rc == ZB_OK);
  for (i = 0; i < S.nledger; i++)
    if (S.ledger[i].ticket == h.f.ticket && h.f.ticket != 0)
      break;
  FZ_CHECK (i < S.nledger);
  S.ledger[i].released = 1;
  delta = ledger_advance ();
  check_changes (MAY_FREE, S.closed ? 0 : delta);

  S.held[k] = S.held[--S.nheld];
  if (S.ngone == MAX_GONE)
    memmove (S.gone, S.gone + 1, (MAX_GONE - 1) * sizeof S.gone[0]);
  else
    S.ngone++;
  S.gone[S.ngone - 1] = h.f;
  /* the last release after close frees the reader */
  if (S.closed && S.nheld == 0)
    S.r = NULL;
}

static void
op_acquire (void)
{
  zb_frame f;
  uint64_t off, T, skip = 0, delta, rpos = S.next_off;
  uintptr_t data;
  int rc, marker = 0, i;

  if (S.closed) {
    if (S.r) {
      rc = zb_reader_acquire (S.r, &f, 0);
      FZ_CHECK (rc == ZB_EINVAL);
    }
    return;
  }
  if (S.nheld == MAX_HELD)
    release_at (0);

  memset (&f, 0, sizeof f);
  snapshot ();
  rc = zb_reader_acquire (S.r, &f, 0);
  FZ_CHECK_RC_IN (rc, ZB_OK, ZB_ETIMEDOUT, ZB_EOS, ZB_EWRITERGONE,
      ZB_ECORRUPT, ZB_ECANCELED);
  FZ_TRACE ("acquire -> %s seq %llu size %zu (%s)\n", zb_status_name (rc),
      (unsigned long long) f.sequence, f.size, zb_last_error ());
  if (S.interrupted)
    FZ_CHECK (rc == ZB_ECANCELED);
  else
    FZ_CHECK (rc != ZB_ECANCELED);
  if (rc != ZB_OK) {
    check_changes (0, 0);
    return;
  }

  /* Bounds from the sizes we asked for, in the reader's own mapping. */
  data = (uintptr_t) f.data;
  FZ_CHECK (f.size > 0 && f.size <= S.P - ZB_FRAME_HEADER_SIZE);
  FZ_CHECK (data >= S.rring + ZB_FRAME_HEADER_SIZE);
  FZ_CHECK (data + f.size <= S.rring + S.P);
  off = data - ZB_FRAME_HEADER_SIZE - S.rring;
  T = ZB_FRAME_HEADER_SIZE + f.size;

  /* Ring order: right after the previous frame, or at 0 after a tail. */
  if (off != rpos) {
    FZ_CHECK (off == 0);
    skip = S.P - rpos;
    marker = skip >= ZB_FRAME_HEADER_SIZE;
  }
  for (i = 0; i < S.nheld; i++)
    FZ_CHECK (off + T <= S.held[i].off || S.held[i].off + S.held[i].T <= off);
  FZ_CHECK (f.sequence == S.last_seq + 1 || (f.sequence == 1 && S.frames > 0));

  if (skip)
    ledger_push (skip, 0, 1);
  ledger_push (T, f.ticket, 0);
  delta = ledger_advance ();
  S.next_off = (off + T) % S.P;
  S.read_count += 1 + marker;
  S.last_seq = f.sequence;
  S.frames++;
  check_changes (MAY_FREE | MAY_RPOS | MAY_RCOUNT, delta);
  FZ_CHECK (fz_get64 (S.base, OFF_READ_POS) == S.next_off);
  FZ_CHECK (fz_get64 (S.base, OFF_READ_COUNT) == S.read_count);

  S.held[S.nheld].f = f;
  S.held[S.nheld].off = off;
  S.held[S.nheld].T = T;
  S.nheld++;
}

static void
op_release (fz_in * in)
{
  uint8_t k = fz_u8 (in);

  if (S.nheld == 0)
    return;
  release_at (k % S.nheld);
}

/* A frame that is not held must be refused with ZB_EINVAL, changing
 * nothing: released before, or a held one with a forged ticket or pointer. */
static void
op_release_bogus (fz_in * in)
{
  uint8_t k = fz_u8 (in), kind = fz_u8 (in), d = fz_u8 (in);
  zb_frame f;
  int rc;

  if (S.r == NULL)
    return;
  memset (&f, 0, sizeof f);
  switch (kind % 4) {
    case 0:
      if (S.ngone == 0)
        return;
      f = S.gone[k % S.ngone];
      break;
    case 1:
      if (S.nheld == 0)
        return;
      f = S.held[k % S.nheld].f;
      f.ticket += (uint64_t) d + 1;
      break;
    case 2:
      if (S.nheld == 0)
        return;
      f = S.held[k % S.nheld].f;
      f.ticket -= (uint64_t) d + 1;
      break;
    case 3:
      if (S.nheld == 0)
        return;
      f = S.held[k % S.nheld].f;
      f.data = (const uint8_t *) f.data + (int8_t) d + (d == 0);
      break;
  }
  snapshot ();
  rc = zb_reader_release (S.r, &f);
  FZ_TRACE ("release bogus -> %s\n", zb_status_name (rc));
  FZ_CHECK (rc == ZB_EINVAL);
  check_changes (0, 0);
}

/* The expected answer, computed from the header as it was. */
static void
op_get_meta (void)
{
  const void *data = NULL;
  size_t size = 0;
  uint64_t written, len;
  int rc, want;

  if (S.r == NULL)
    return;
  snapshot ();
  rc = zb_reader_get_metadata (S.r, &data, &size);
  FZ_TRACE ("get_metadata -> %s (%zu bytes)\n", zb_status_name (rc), size);
  check_changes (0, 0);
  if (S.closed) {
    FZ_CHECK (rc == ZB_EINVAL);
    return;
  }
  written = fz_get64 (S.shadow, OFF_META_WRITTEN);
  memcpy (&len, S.shadow + ZB_OIEB_SIZE, sizeof len);
  if (written == 0)
    want = ZB_ENOMETA;
  else if (written < 8 || written > S.M || len > written - 8)
    want = ZB_ECORRUPT;
  else
    want = ZB_OK;
  FZ_CHECK (rc == want);
  if (rc == ZB_OK) {
    FZ_CHECK (size == len && size <= S.M - 8);
    FZ_CHECK (data != NULL);
    FZ_CHECK (memcmp (data, S.shadow + ZB_OIEB_SIZE + 8, size) == 0);
  }
}

static void
op_wait_writer (void)
{
  int rc;

  if (S.r == NULL)
    return;
  snapshot ();
  rc = zb_reader_wait_writer (S.r, 0);
  FZ_TRACE ("wait_writer -> %s\n", zb_status_name (rc));
  check_changes (0, 0);
  if (S.closed)
    FZ_CHECK (rc == ZB_EINVAL);
  else
    FZ_CHECK_RC_IN (rc, ZB_OK, ZB_ETIMEDOUT, ZB_ECANCELED);
}

static void
op_stats (void)
{
  zb_reader_stats st;

  if (S.r == NULL)
    return;
  snapshot ();
  zb_reader_get_stats (S.r, &st);
  check_changes (0, 0);
  FZ_CHECK (st.held == (uint64_t) S.nheld);
  FZ_CHECK (st.frames == S.frames);
  FZ_CHECK (st.held_bytes == ledger_outstanding ());
  FZ_CHECK (st.held_bytes <= S.P);
  FZ_CHECK (st.payload_size == S.P && st.metadata_size == S.M);
  if (!S.closed)
    FZ_CHECK (st.free_bytes == fz_get64 (S.base, OFF_PAYLOAD_FREE));
}

static void
op_inspect (void)
{
  struct stat st;
  zb_info info;
  int rc;

  snapshot ();
  rc = zb_inspect (S.name, &info);
  check_changes (0, 0);
  if (S.closed) {
    FZ_CHECK (rc == ZB_ENOTFOUND);
    return;
  }
  if (rc == ZB_ENOTFOUND && fstat (S.fd, &st) == 0 && st.st_nlink == 0) {
    /* the reader does not unlink before close: someone else did */
    fprintf (stderr, "zbfuzz-reader: /dev/shm/%s vanished\n", S.name);
    return;
  }
  FZ_CHECK (rc == ZB_OK);
  FZ_CHECK (info.mapping_size == S.size);
  FZ_CHECK (info.payload_size == fz_get64 (S.base, OFF_PAYLOAD_SIZE));
  FZ_CHECK (info.payload_free_bytes == fz_get64 (S.base, OFF_PAYLOAD_FREE));
  FZ_CHECK (info.writer_pid == fz_get64 (S.base, OFF_WRITER_PID));
}

static void
op_interrupt (fz_in * in)
{
  int on = fz_u8 (in) & 1;

  if (S.r == NULL)
    return;
  snapshot ();
  zb_reader_interrupt (S.r, on);
  check_changes (0, 0);
  S.interrupted = on;
}

static void
op_close (void)
{
  if (S.closed)
    return;
  snapshot ();
  zb_reader_close (S.r);
  check_changes (MAY_RPID, 0);
  FZ_CHECK (fz_get64 (S.base, OFF_READER_PID) == 0);
  FZ_CHECK (!fz_objects_left (S.name));
  S.closed = 1;
  if (S.nheld == 0)
    S.r = NULL;
}

/* ----------------------------------------------------- writer ops */

static uint64_t
field_value (fz_in * in, uint64_t cur)
{
  uint8_t sel = fz_u8 (in);
  uint64_t v = fz_u64 (in);

  switch (sel % 8) {
    case 0:
      return v;
    case 1:
      return v & 0xff;
    case 2:
      return S.P + (uint64_t) (int64_t) (int8_t) v;
    case 3:
      return S.M + (uint64_t) (int64_t) (int8_t) v;
    case 4:
      return 0;
    case 5:
      return UINT64_MAX - (v & 0xff);
    case 6:
      return cur + (uint64_t) (int64_t) (int8_t) v;
    default:
      return 1ull << (v % 64);
  }
}

static void
op_write_bytes (fz_in * in)
{
  uint16_t off = fz_u16 (in);
  uint8_t len = fz_u8 (in) % 33, buf[32];
  size_t n = fz_bytes (in, buf, len);

  off %= S.size;
  if (n > S.size - off)
    n = S.size - off;
  memcpy (S.base + off, buf, n);
}

static void
op_set_field (fz_in * in)
{
  size_t off = (size_t) (fz_u8 (in) % 16) * 8;

  fz_put64 (S.base, off, field_value (in, fz_get64 (S.base, off)));
}

/* What a writer does, with flags to misbehave. */
static void
op_write_frame (fz_in * in)
{
  uint16_t size16 = fz_u16 (in);
  uint8_t flags = fz_u8 (in), fill = fz_u8 (in);
  uint8_t *ring = S.base + ZB_OIEB_SIZE + S.M;
  uint64_t size = (flags & WF_HUGE) ? size16 : size16 % S.P;
  uint64_t T, tail, need, free_bytes;
  int wrap;

  if (S.hw_pos > S.P)
    S.hw_pos = 0;
  if (size == 0)
    size = 1;
  T = ZB_FRAME_HEADER_SIZE + size;
  tail = S.P - S.hw_pos;
  wrap = tail < T || ((flags & WF_EARLY_WRAP) && tail < 2 * T);
  need = wrap ? tail + T : T;
  free_bytes = fz_get64 (S.base, OFF_PAYLOAD_FREE);
  if (free_bytes < need && !(flags & WF_OVERWRITE))
    return;                     /* a real writer would wait */

  if (wrap) {
    if (tail >= ZB_FRAME_HEADER_SIZE && !(flags & WF_NO_MARKER)) {
      memset (ring + S.hw_pos, 0, ZB_FRAME_HEADER_SIZE);
      S.hw_count++;
    }
    if (!(flags & WF_NO_ACCOUNT))
      __atomic_fetch_sub ((uint64_t *) (void *) (S.base + OFF_PAYLOAD_FREE),
          tail, __ATOMIC_RELEASE);
    S.hw_pos = 0;
  }
  if (S.hw_pos + ZB_FRAME_HEADER_SIZE <= S.P) {
    uint64_t h[2] = { size, (flags & WF_BAD_SEQ) ? fill : S.hw_seq };
    uint64_t room = S.P - S.hw_pos - ZB_FRAME_HEADER_SIZE;

    memcpy (ring + S.hw_pos, h, sizeof h);
    memset (ring + S.hw_pos + ZB_FRAME_HEADER_SIZE, fill,
        size < room ? size : room);
  }
  S.hw_pos += T;
  if (S.hw_pos > S.P)
    S.hw_pos %= S.P;
  S.hw_seq++;
  if (!(flags & WF_NO_ACCOUNT))
    __atomic_fetch_sub ((uint64_t *) (void *) (S.base + OFF_PAYLOAD_FREE), T,
        __ATOMIC_RELEASE);
  fz_put64 (S.base, OFF_WRITE_POS, S.hw_pos);
  fz_put64 (S.base, OFF_WRITTEN_COUNT, ++S.hw_count);
  if (!(flags & WF_NO_POST))
    sem_post (S.sem_w);
}

static void
op_set_wpid (fz_in * in)
{
  static const uint64_t pids[] = { 0, FZ_DEAD_PID, 1, 1ull << 40 };
  uint8_t sel = fz_u8 (in);

  fz_put64 (S.base, OFF_WRITER_PID, sel % 5 == 4 ? (uint64_t) getpid () :
      pids[sel % 5]);
}

/* Hold or drop the writer's OFD lock byte, as a writer of ours would. */
static void
op_wlock (fz_in * in)
{
  struct flock fl;
  int on = fz_u8 (in) & 1;

  memset (&fl, 0, sizeof fl);
  fl.l_type = on ? F_WRLCK : F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 1;
  fl.l_len = 1;
  if (fcntl (S.fd, F_OFD_SETLK, &fl) == 0)
    S.wlock = on;
}

static void
op_write_meta (fz_in * in)
{
  uint8_t len = fz_u8 (in), flags = fz_u8 (in), fill = fz_u8 (in);
  uint64_t prefix = len, written = 8 + (uint64_t) len, room;

  if (flags & 1)
    prefix += (uint64_t) (flags >> 1);
  if (written > S.M && !(flags & 0x80))
    return;
  room = S.M;
  if (room >= 8) {
    memcpy (S.base + ZB_OIEB_SIZE, &prefix, 8);
    memset (S.base + ZB_OIEB_SIZE + 8, fill, len < room - 8 ? len : room - 8);
  }
  fz_put64 (S.base, OFF_META_FREE, S.M - written);
  fz_put64 (S.base, OFF_META_WRITTEN, written);
}

static void
op_writer_close (void)
{
  fz_put64 (S.base, OFF_WRITER_PID, 0);
  sem_post (S.sem_w);
}

static void
op_new_writer (void)
{
  S.hw_seq = 1;
  S.hw_pos = fz_get64 (S.base, OFF_WRITE_POS);
  S.hw_count = fz_get64 (S.base, OFF_WRITTEN_COUNT);
  fz_put64 (S.base, OFF_WRITER_PID, (uint64_t) getpid ());
}

/* ------------------------------------------------------------ setup */

static int
setup (uint8_t cfg)
{
  static const uint64_t msz[] = { 0, 64, 200, 256 };
  static const uint64_t psz[] = { 64, 100, 1024, 4096 };
  zb_reader_options opt;
  struct stat st;
  uintptr_t start, end;
  char sem[96];
  int rc;

  memset (&S, 0, sizeof S);
  S.fd = -1;
  snprintf (S.name, sizeof S.name, "%s", fz_new_name (0, "r"));
  memset (&opt, 0, sizeof opt);
  opt.metadata_size = msz[cfg & 3];
  opt.payload_size = psz[(cfg >> 2) & 3];
  S.M = fz_round64 (opt.metadata_size);
  S.P = fz_round64 (opt.payload_size);
  S.size = ZB_OIEB_SIZE + S.M + S.P;

  rc = zb_reader_create (&S.r, S.name, &opt);
  if (rc == ZB_ENOSPC)
    return -1;                  /* /dev/shm full: not our business */
  FZ_CHECK (rc == ZB_OK);

  S.fd = shm_open (S.name, O_RDWR | O_CLOEXEC, 0);
  FZ_CHECK (S.fd >= 0);
  FZ_CHECK (fstat (S.fd, &st) == 0 && (uint64_t) st.st_size == S.size);
  S.base = mmap (NULL, S.size, PROT_READ | PROT_WRITE, MAP_SHARED, S.fd, 0);
  FZ_CHECK (S.base != MAP_FAILED);
  snprintf (sem, sizeof sem, "/sem-w-%s", S.name);
  S.sem_w = sem_open (sem, 0);
  FZ_CHECK (S.sem_w != SEM_FAILED);
  FZ_CHECK (fz_find_mapping (S.name, (uintptr_t) S.base, &start, &end) == 0);
  FZ_CHECK (end - start >= S.size);
  S.rring = start + ZB_OIEB_SIZE + S.M;
  S.shadow = malloc (S.size);
  FZ_CHECK (S.shadow != NULL);

  /* The header the reader made. */
  FZ_CHECK (*(uint32_t *) (void *) S.base == ZB_OIEB_SIZE);
  FZ_CHECK (S.base[4] == 1 && S.base[5] == 0 && S.base[6] == 0);
  FZ_CHECK (fz_get64 (S.base, OFF_META_SIZE) == S.M);
  FZ_CHECK (fz_get64 (S.base, OFF_PAYLOAD_SIZE) == S.P);
  FZ_CHECK (fz_get64 (S.base, OFF_PAYLOAD_FREE) == S.P);
  FZ_CHECK (fz_get64 (S.base, OFF_READER_PID) == (uint64_t) getpid ());
  S.hw_seq = 1;
  return 0;
}

static void
teardown (int close_first)
{
  if (!S.closed && close_first)
    op_close ();
  while (S.nheld > 0)
    release_at (S.nheld - 1);
  if (!S.closed)
    op_close ();
  FZ_CHECK (S.r == NULL);
  FZ_CHECK (!fz_objects_left (S.name));
  munmap (S.base, S.size);
  close (S.fd);
  sem_close (S.sem_w);
  free (S.shadow);
  fz_forget_name (0);
  fz_check_leaks ();
}

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fz_in in = { data, size };
  int close_first;

  if (size < 1 || size > 4096)
    return -1;
  if (setup (fz_u8 (&in)) != 0)
    return 0;
  close_first = size & 1;

  while (in.n > 0) {
    int op = fz_u8 (&in) % RD_COUNT;

    FZ_TRACE ("op %d\n", op);
    switch (op) {
      case RD_WRITE_BYTES:
        op_write_bytes (&in);
        break;
      case RD_SET_FIELD:
        op_set_field (&in);
        break;
      case RD_WRITE_FRAME:
        op_write_frame (&in);
        break;
      case RD_POST_W:
        sem_post (S.sem_w);
        break;
      case RD_ACQUIRE:
        op_acquire ();
        break;
      case RD_RELEASE:
        op_release (&in);
        break;
      case RD_RELEASE_BOGUS:
        op_release_bogus (&in);
        break;
      case RD_GET_META:
        op_get_meta ();
        break;
      case RD_SET_WPID:
        op_set_wpid (&in);
        break;
      case RD_WLOCK:
        op_wlock (&in);
        break;
      case RD_WAIT_WRITER:
        op_wait_writer ();
        break;
      case RD_STATS:
        op_stats ();
        break;
      case RD_WRITE_META:
        op_write_meta (&in);
        break;
      case RD_INTERRUPT:
        op_interrupt (&in);
        break;
      case RD_CLOCK:
        fz_clock_advance (fz_u8 (&in));
        break;
      case RD_CLOSE:
        op_close ();
        break;
      case RD_INSPECT:
        op_inspect ();
        break;
      case RD_WRITER_CLOSE:
        op_writer_close ();
        break;
      case RD_NEW_WRITER:
        op_new_writer ();
        break;
    }
  }
  teardown (close_first);
  return 0;
}
